import {
  AuditorService,
  AuthService,
  BackstageCredentials,
  LoggerService,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import {
  AuthorizeResult,
  BasicPermission,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  ApprovalRequest,
  ApprovalStatus,
  Page,
  ReleaseResult,
  invalidArtifactIdReason,
  releaseManagerBreakGlassPermission,
  invalidNameReason,
  releaseManagerPromoteProductionPermission,
  releaseManagerReleasePermission,
} from '@devplane/plugin-release-manager-common';
import type { Request } from 'express';
import { actorFromIdentity } from './actors';
import { Actor, ReleaseManager } from './ReleaseManager';
import type { Decider } from './ApprovalService';
import {
  approveBodySchema,
  parseBody,
  rejectBodySchema,
  promoteRequestSchema,
  releaseRequestSchema,
  rollbackRequestSchema,
} from './schemas';

/** Dependencies of {@link ReleaseOperations}. */
export interface ReleaseOperationsOptions {
  manager: ReleaseManager;
  userInfo: UserInfoService;
  auth: AuthService;
  permissions: PermissionsService;
  catalog: CatalogService;
  auditor: AuditorService;
  logger: LoggerService;
}

/** Where a call came from: an HTTP request (REST) or an action invocation (actions registry / MCP). */
export interface CallOrigin {
  /** The HTTP request, when the call came through the REST API (the auditor reads the actor from it). */
  request?: Request;
  /** Recorded in the audit event's meta, e.g. `action:release-manager:release`. */
  via?: string;
}

function checkName(kind: string, value: unknown): string {
  const reason = invalidNameReason(kind, value);
  if (reason) throw new InputError(reason);
  return value as string;
}

function checkArtifactId(value: unknown): string {
  const reason = invalidArtifactIdReason(value);
  if (reason) throw new InputError(reason);
  return value as string;
}

/**
 * The caller-facing operations of the release manager: who the caller is, what they may do,
 * and release / promote / rollback with the permission check and audit event around the
 * engine call. The REST router and the actions registry (AI agents over MCP) both call these,
 * so an agent meets exactly the checks a person meets in the portal or the CLI.
 */
export class ReleaseOperations {
  constructor(private readonly options: ReleaseOperationsOptions) {}

  get manager(): ReleaseManager {
    return this.options.manager;
  }

  /** The actor from credentials (never from a request body): a user's catalog profile or a service subject. */
  async actorOf(credentials: BackstageCredentials): Promise<Actor> {
    const { auth, userInfo, catalog, logger } = this.options;
    if (auth.isPrincipal(credentials, 'user')) {
      const { userEntityRef } = await userInfo.getUserInfo(credentials);
      return actorFromIdentity(userEntityRef, { catalog, auth, logger });
    }
    if (auth.isPrincipal(credentials, 'service')) {
      const subject = credentials.principal.subject;
      return { ref: subject, email: subject };
    }
    throw new NotAllowedError('Unauthenticated callers cannot do this');
  }

  async isAllowed(
    credentials: BackstageCredentials,
    permission: BasicPermission | ResourcePermission,
    service?: string,
  ): Promise<boolean> {
    const request =
      permission.type === 'resource'
        ? { permission: permission as ResourcePermission, resourceRef: `component:default/${service}` }
        : { permission: permission as BasicPermission };
    const [decision] = await this.options.permissions.authorize([request], { credentials });
    return decision.result === AuthorizeResult.ALLOW;
  }

  async requirePermission(
    credentials: BackstageCredentials,
    permission: BasicPermission | ResourcePermission,
    what: string,
    service?: string,
  ): Promise<void> {
    if (!(await this.isAllowed(credentials, permission, service))) {
      throw new NotAllowedError(`You are not allowed to ${what} (permission ${permission.name})`);
    }
  }

  /** Production environments need the owner-only promote permission; others the release permission. */
  releasePermissionFor(environment: string) {
    return this.options.manager.environment(environment).production
      ? releaseManagerPromoteProductionPermission
      : releaseManagerReleasePermission;
  }

  /** Runs a sensitive operation inside an audit event. */
  async audited<T>(
    origin: CallOrigin,
    eventId: string,
    meta: Record<string, any>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const event = await this.options.auditor.createEvent({
      eventId,
      request: origin.request,
      meta: origin.via ? { ...meta, via: origin.via } : meta,
      severityLevel: 'medium',
    });
    try {
      const result = await fn();
      await event.success({ meta: { result: summarise(result) } });
      return result;
    } catch (error: any) {
      await event.fail({ error });
      throw error;
    }
  }

  /**
   * Freeze override / break-glass from a body: whether the caller holds the break-glass permission
   * (platform: written at once) or not (a second person must approve), and the freeze override
   * recorded as its own (high severity) audit event when it applies.
   */
  async freezeOptions(
    origin: CallOrigin,
    overrideFreeze: { reason: string } | undefined,
    actor: Actor,
    credentials?: BackstageCredentials,
    breakGlassBody?: { reason: string },
  ) {
    const asked = breakGlassBody ?? overrideFreeze;
    if (!asked) return {};
    const permitted = credentials
      ? await this.isAllowed(credentials, releaseManagerBreakGlassPermission)
      : false;
    const breakGlass = { reason: asked.reason, permitted };
    if (!overrideFreeze) return { breakGlass };
    const auditor = this.options.auditor;
    return {
      breakGlass,
      overrideFreeze,
      onFreezeOverridden: async (details: {
        service: string;
        environment: string;
        artifactId: string;
        reason: string;
        incidents: Array<{ id: string }>;
      }) => {
        const event = await auditor.createEvent({
          eventId: 'freeze-override',
          request: origin.request,
          severityLevel: 'high',
          meta: {
            service: details.service,
            environment: details.environment,
            artifactId: details.artifactId,
            reason: details.reason,
            incidents: details.incidents.map(i => i.id),
            actor: actor.ref,
            ...(origin.via ? { via: origin.via } : {}),
          },
        });
        await event.success();
      },
    };
  }

  private requireUser(credentials: BackstageCredentials) {
    if (!this.options.auth.isPrincipal(credentials, 'user')) {
      throw new NotAllowedError('Releases, promotions and rollbacks are made by people, not services');
    }
  }

  /** Who decides on an approval request: the caller, and whether they may release there. */
  async deciderFor(credentials: BackstageCredentials, r: { service: string; environment: string }): Promise<Decider> {
    const permission = this.releasePermissionFor(r.environment);
    return {
      actor: await this.actorOf(credentials),
      mayRelease: await this.isAllowed(credentials, permission, r.service),
      permissionName: permission.name,
    };
  }

  /**
   * `GET /approvals`: newest first, each with whether the caller may approve it (and why not).
   * `mine`: only pending requests the caller may approve ("approvals waiting for me").
   */
  async listApprovals(
    credentials: BackstageCredentials,
    query: { service?: string; status?: string; mine?: boolean; limit?: number; cursor?: string },
  ): Promise<Page<ApprovalRequest>> {
    if (query.service !== undefined) checkName('service', query.service);
    const status = query.mine ? ['pending' as const] : approvalStatuses(query.status);
    const page = await this.manager.approvals.list({ service: query.service, status, limit: query.limit, cursor: query.cursor });
    const isUser = this.options.auth.isPrincipal(credentials, 'user');
    const items = await Promise.all(
      page.items.map(async r => {
        if (!isUser || r.status !== 'pending') return r;
        return { ...r, canApprove: this.manager.approvals.canApprove(r, await this.deciderFor(credentials, r)) };
      }),
    );
    return { ...page, items: query.mine ? items.filter(r => r.canApprove?.allowed) : items };
  }

  async getApproval(credentials: BackstageCredentials, id: string): Promise<ApprovalRequest> {
    const r = await this.manager.approvals.get(id);
    if (r.status !== 'pending' || !this.options.auth.isPrincipal(credentials, 'user')) return r;
    return { ...r, canApprove: this.manager.approvals.canApprove(r, await this.deciderFor(credentials, r)) };
  }

  /** `POST /approvals/:id/approve` and the `approve` action: the approver is the caller, never the body. */
  async approve(credentials: BackstageCredentials, id: string, rawBody: unknown, origin: CallOrigin = {}): Promise<ReleaseResult> {
    this.requireUser(credentials);
    const body = parseBody(approveBodySchema, rawBody ?? {});
    const r = await this.manager.approvals.get(id);
    const decider = await this.deciderFor(credentials, r);
    return this.audited(
      origin,
      'approval-approve',
      { id, service: r.service, environment: r.environment, artifactId: r.artifactId, requestedBy: r.requestedByRef, actor: decider.actor.ref },
      () => this.manager.approve(id, decider, body.comment),
    );
  }

  /** `POST /approvals/:id/reject`: someone who could approve, or the requester withdrawing it. */
  async reject(credentials: BackstageCredentials, id: string, rawBody: unknown, origin: CallOrigin = {}): Promise<ApprovalRequest> {
    this.requireUser(credentials);
    const body = parseBody(rejectBodySchema, rawBody ?? {});
    const r = await this.manager.approvals.get(id);
    const decider = await this.deciderFor(credentials, r);
    return this.audited(
      origin,
      'approval-reject',
      { id, service: r.service, environment: r.environment, artifactId: r.artifactId, actor: decider.actor.ref },
      () => this.manager.reject(id, decider, body.comment),
    );
  }

  /** `POST /releases` and the `release` action. */
  async release(
    credentials: BackstageCredentials,
    rawBody: unknown,
    origin: CallOrigin = {},
  ): Promise<ReleaseResult> {
    this.requireUser(credentials);
    const body = parseBody(releaseRequestSchema, rawBody);
    checkName('service', body.service);
    checkArtifactId(body.artifactId);
    await this.requirePermission(
      credentials,
      this.releasePermissionFor(body.environment),
      `release ${body.service} to ${body.environment}`,
      body.service,
    );
    const actor = await this.actorOf(credentials);
    return this.audited(origin, 'release', { ...body, actor: actor.ref }, async () => {
      const { overrideFreeze, breakGlass, ...release } = body;
      return this.manager.release(release, actor, await this.freezeOptions(origin, overrideFreeze, actor, credentials, breakGlass));
    });
  }

  /** `POST /promotions` and the `promote` action. */
  async promote(
    credentials: BackstageCredentials,
    rawBody: unknown,
    origin: CallOrigin = {},
  ): Promise<ReleaseResult> {
    this.requireUser(credentials);
    const body = parseBody(promoteRequestSchema, rawBody);
    checkName('service', body.service);
    this.manager.environment(body.fromEnvironment);
    await this.requirePermission(
      credentials,
      this.releasePermissionFor(body.toEnvironment),
      `promote ${body.service} to ${body.toEnvironment}`,
      body.service,
    );
    const actor = await this.actorOf(credentials);
    return this.audited(origin, 'promote', { ...body, actor: actor.ref }, async () => {
      const { overrideFreeze, breakGlass, ...promotion } = body;
      return this.manager.promote(promotion, actor, await this.freezeOptions(origin, overrideFreeze, actor, credentials, breakGlass));
    });
  }

  /** `POST /rollbacks` and the `rollback` action. */
  async rollback(
    credentials: BackstageCredentials,
    rawBody: unknown,
    origin: CallOrigin = {},
  ): Promise<ReleaseResult> {
    this.requireUser(credentials);
    const body = parseBody(rollbackRequestSchema, rawBody);
    checkName('service', body.service);
    if (body.artifactId !== undefined) checkArtifactId(body.artifactId);
    await this.requirePermission(
      credentials,
      this.releasePermissionFor(body.environment),
      `roll back ${body.service} in ${body.environment}`,
      body.service,
    );
    const actor = await this.actorOf(credentials);
    return this.audited(origin, 'rollback', { ...body, actor: actor.ref }, async () => {
      const { overrideFreeze, breakGlass, ...rollback } = body;
      return this.manager.rollback(rollback, actor, await this.freezeOptions(origin, overrideFreeze, actor, credentials, breakGlass));
    });
  }
}

/** Request statuses a query may name. */
const STATUSES: ApprovalStatus[] = ['pending', 'applying', 'approved', 'rejected', 'stale', 'expired'];

/** Parses `status=pending,approved`; InputError naming the field. */
export function approvalStatuses(value: string | undefined): ApprovalStatus[] | undefined {
  if (value === undefined || value === '') return undefined;
  const list = value.split(',');
  for (const s of list) {
    if (!(STATUSES as string[]).includes(s)) {
      throw new InputError(`status '${s.slice(0, 40)}' is invalid; one of ${STATUSES.join(', ')}`);
    }
  }
  return list as ApprovalStatus[];
}

/** What an audit event records of a result. */
export function summarise(result: unknown): any {
  if (!result || typeof result !== 'object') return null;
  const r = result as any;
  if ('changed' in r) return { changed: r.changed, releaseId: r.release?.id ?? null, approvalRequest: r.approval?.id ?? null };
  if ('artifact' in r) return { artifactId: r.artifact?.id, autoReleases: r.autoReleases?.length ?? 0 };
  return null;
}
