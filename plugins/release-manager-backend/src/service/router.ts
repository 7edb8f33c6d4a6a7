import {
  AuditorService,
  AuthService,
  BackstageCredentials,
  HttpAuthService,
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
  AuditExportRow,
  RELEASE_INTENTS,
  ReleaseIntent,
  ReleaseResult,
  invalidArtifactIdReason,
  releaseManagerAuditExportPermission,
  invalidNameReason,
  releaseManagerArtifactCreatePermission,
  releaseManagerOutsideChangeDecidePermission,
  releaseManagerPolicyWritePermission,
  releaseManagerRolloutStatusPermission,
} from '@devplane/plugin-release-manager-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { componentsOwnedBy, servicesOwnedBy as servicesOwnedByInCatalog } from './teamServices';
import { parseAuditExportQuery, writeAuditExport } from '../audit/AuditExport';
import { intakeArtifact } from './artifactIntake';
import { openApiDocument } from './openapi';
import { ReleaseOperations } from './operations';
import { Actor, ReleaseManager } from './ReleaseManager';
import { assertMayUpload } from './uploaders';
import {
  artifactUploadSchema,
  autoReleaseBodySchema,
  branchRestrictionBodySchema,
  outsideDecisionSchema,
  parseBody,
  policyChangesSchema,
  rolloutStatusSchema,
} from './schemas';

/** Narrow dependencies of the router. */
export interface RouterOptions {
  manager: ReleaseManager;
  httpAuth: HttpAuthService;
  userInfo: UserInfoService;
  auth: AuthService;
  permissions: PermissionsService;
  catalog: CatalogService;
  auditor: AuditorService;
  logger: LoggerService;
  /** Shared caller-facing operations (also used by the actions registry); created here when absent. */
  operations?: ReleaseOperations;
  /** JSON body limit; bigger bodies get 413 before any validation. */
  bodyLimit?: string;
  /** Service principal subjects allowed to post rollout status; everyone else gets 403. */
  statusPrincipals?: string[];
  /** `releaseManager.audit.maxRangeDays` (default 366). */
  auditMaxRangeDays?: number;
}

function name(kind: string, value: unknown): string {
  const reason = invalidNameReason(kind, value);
  if (reason) throw new InputError(reason);
  return value as string;
}

function artifactIdParam(value: unknown): string {
  const reason = invalidArtifactIdReason(value);
  if (reason) throw new InputError(reason);
  return value as string;
}

function optionalString(req: Request, key: string): string | undefined {
  const v = req.query[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InputError(`query parameter ${key} must be given once`);
  return v;
}

function limitParam(req: Request): number | undefined {
  const v = optionalString(req, 'limit');
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,4}$/.test(v) || Number(v) < 1) {
    throw new InputError('limit must be a positive integer');
  }
  return Number(v);
}

/** Builds the release manager's express router (REST contract in docs/helpers-brief.md). */
export async function createRouter(options: RouterOptions): Promise<express.Router> {
  const { manager, httpAuth, userInfo, auth, permissions, catalog, auditor } = options;
  const router = Router();
  router.use(express.json({ limit: options.bodyLimit ?? '8mb' }));

  // Who the caller is, what they may do, audit events: shared with the actions registry
  // (see ./operations.ts and ../actions.ts), so agents meet the same checks.
  const ops =
    options.operations ??
    new ReleaseOperations({ manager, userInfo, auth, permissions, catalog, auditor, logger: options.logger });
  const actorOf = (credentials: BackstageCredentials): Promise<Actor> => ops.actorOf(credentials);
  const isAllowed = (
    credentials: BackstageCredentials,
    permission: BasicPermission | ResourcePermission,
    service?: string,
  ) => ops.isAllowed(credentials, permission, service);
  const requirePermission = (
    credentials: BackstageCredentials,
    permission: BasicPermission | ResourcePermission,
    what: string,
    service?: string,
  ) => ops.requirePermission(credentials, permission, what, service);
  const releasePermissionFor = (environment: string) => ops.releasePermissionFor(environment);
  const audited = <T>(req: Request, eventId: string, meta: Record<string, any>, fn: () => Promise<T>) =>
    ops.audited({ request: req }, eventId, meta, fn);

  /** Services the catalog says a team (group) owns (a catalog failure is thrown). */
  const servicesOwnedBy = (team: string) => servicesOwnedByInCatalog({ catalog, auth }, team);

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });

  // --- trust: signing key, outside changes ----------------------------------

  /** The release manager's OpenPGP public key (for Flux's `spec.verify` and `git verify-commit`). */
  router.get('/signing-key', (_req, res) => {
    res.type('text/plain').send(manager.publicKeyArmored());
  });

  router.get('/outside-changes', async (req, res) => {
    await httpAuth.credentials(req);
    res.json(await manager.outsideChanges());
  });

  /** Platform's decision on changes made outside the release manager: revert or adopt. */
  router.post('/outside-changes/decision', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    await requirePermission(
      credentials,
      releaseManagerOutsideChangeDecidePermission,
      'decide on changes made outside the release manager',
    );
    const body = parseBody(outsideDecisionSchema, req.body);
    const actor = await actorOf(credentials);
    const result = await audited(req, 'outside-change-decision', { ...body, actor: actor.ref }, () =>
      manager.decideOutsideChanges(body.decision, body.commits, actor),
    );
    res.json(result);
  });

  router.get('/environments', async (req, res) => {
    await httpAuth.credentials(req);
    res.json(manager.environments());
  });

  // --- artifacts -----------------------------------------------------------

  router.post('/artifacts', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const upload = parseBody(artifactUploadSchema, req.body);
    await requirePermission(credentials, releaseManagerArtifactCreatePermission, 'upload artifacts');
    await assertMayUpload({
      auth,
      userInfo,
      catalog,
      guardrails: manager.guardrails,
      credentials,
      service: name('service', upload.spec.service),
      environments: Object.keys(upload.manifests).filter(e => manager.environments().some(x => x.name === e)),
    });
    const actor = await actorOf(credentials);
    const result = await intakeArtifact({ manager, auditor, request: req, upload, actor, via: 'api' });
    res.status(201).json(result);
  });

  router.get('/services/:service/artifacts', async (req, res) => {
    await httpAuth.credentials(req);
    const service = name('service', req.params.service);
    res.json(
      await manager.listArtifacts(service, {
        branch: optionalString(req, 'branch'),
        limit: limitParam(req),
        cursor: optionalString(req, 'cursor'),
      }),
    );
  });

  router.get('/services/:service/artifacts/:artifactId', async (req, res) => {
    await httpAuth.credentials(req);
    res.json(
      await manager.getArtifact(
        name('service', req.params.service),
        artifactIdParam(req.params.artifactId),
      ),
    );
  });

  // --- status and log ------------------------------------------------------

  router.get('/services/:service/status', async (req, res) => {
    await httpAuth.credentials(req);
    res.json(await manager.status(name('service', req.params.service)));
  });

  router.get('/services/:service/releases', async (req, res) => {
    await httpAuth.credentials(req);
    res.json(
      await manager.listReleases(name('service', req.params.service), {
        environment: optionalString(req, 'environment'),
        limit: limitParam(req),
        cursor: optionalString(req, 'cursor'),
      }),
    );
  });

  /**
   * The release history of a service (the Releases tab's table): newest first in commit order,
   * paged, filtered by environment, kind and person (released or approved). Read from the
   * database index, which is rebuilt from git when it is behind or dropped.
   */
  router.get('/services/:service/history', async (req, res) => {
    await httpAuth.credentials(req);
    const kind = optionalString(req, 'kind');
    if (kind !== undefined && !RELEASE_INTENTS.includes(kind as ReleaseIntent)) {
      throw new InputError(`kind must be one of ${RELEASE_INTENTS.join(', ')}`);
    }
    const actor = optionalString(req, 'actor');
    if (actor !== undefined && (actor.length === 0 || actor.length > 320 || /\p{Cc}/u.test(actor))) {
      throw new InputError('actor must be an email or user ref of at most 320 characters, without control characters');
    }
    res.json(
      await manager.listReleases(name('service', req.params.service), {
        environment: optionalString(req, 'environment'),
        intent: kind as ReleaseIntent | undefined,
        actor,
        limit: limitParam(req),
        cursor: optionalString(req, 'cursor'),
      }),
    );
  });

  router.get('/teams/:team/releases', async (req, res) => {
    await httpAuth.credentials(req);
    const team = name('team', req.params.team);
    const sinceRaw = optionalString(req, 'since');
    const since = sinceRaw ? new Date(sinceRaw) : new Date(Date.now() - 24 * 3600 * 1000);
    if (Number.isNaN(since.getTime())) throw new InputError('since must be an ISO timestamp');
    const owned = await componentsOwnedBy({ catalog, auth, logger: options.logger }, team);
    res.json(await manager.teamReleases(owned, team, since.toISOString()));
  });

  // --- the auditor's export ------------------------------------------------------

  /**
   * Every change to an environment, from the verified git history, streamed as it is read
   * (CSV or NDJSON). Who may: a service's owners (its squad) and platform for a service or a
   * squad's services (squad membership from the catalog, never from the artifact's claim);
   * an export across all services needs the permission unconditionally (platform).
   */
  const authorizeExport = async (req: Request, extraParams: string[] = []) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const q: Record<string, string | undefined> = {};
    for (const key of ['format', 'from', 'to', 'environment', 'service', 'squad']) q[key] = optionalString(req, key);
    for (const key of extraParams) q[key] = optionalString(req, key);
    const unknown = Object.keys(req.query).filter(k => !(k in q));
    if (unknown.length) throw new InputError(`unknown query parameter(s) ${unknown.map(k => `'${k.slice(0, 30)}'`).join(', ')}`);
    const query = parseAuditExportQuery(q, {
      maxRangeDays: options.auditMaxRangeDays ?? 366,
      environments: manager.environments().map(e => e.name),
    });
    const what = 'export the audit trail';
    let services: Set<string> | undefined;
    if (query.service) {
      await requirePermission(credentials, releaseManagerAuditExportPermission, `${what} of ${query.service}`, query.service);
      services = new Set([query.service]);
    } else if (query.squad) {
      const owned = await servicesOwnedBy(query.squad);
      const decisions = owned.length
        ? await permissions.authorize(
            owned.map(s => ({ permission: releaseManagerAuditExportPermission, resourceRef: `component:default/${s}` })),
            { credentials },
          )
        : [];
      const denied = owned.filter((_s, i) => decisions[i].result !== AuthorizeResult.ALLOW);
      if (denied.length) {
        throw new NotAllowedError(
          `You are not allowed to ${what} of squad ${query.squad} (permission ${releaseManagerAuditExportPermission.name} denied for ${denied.slice(0, 5).join(', ')})`,
        );
      }
      services = new Set(owned);
    } else {
      const [decision] = await permissions.authorizeConditional([{ permission: releaseManagerAuditExportPermission }], {
        credentials,
      });
      if (decision.result !== AuthorizeResult.ALLOW) {
        throw new NotAllowedError(
          `You are not allowed to ${what} of all services (permission ${releaseManagerAuditExportPermission.name} without conditions: platform); give service= or squad=`,
        );
      }
    }
    return { credentials, query, services };
  };

  router.get('/audit/export', async (req, res) => {
    const { credentials, query, services } = await authorizeExport(req);
    const actor = await actorOf(credentials);
    const event = await auditor.createEvent({
      eventId: 'audit-export',
      request: req,
      severityLevel: 'medium',
      meta: { ...query, from: query.from.toISOString(), to: query.to.toISOString(), actor: actor.ref },
    });
    const stamp = `${query.from.toISOString().slice(0, 10)}_${query.to.toISOString().slice(0, 10)}`;
    res.status(200);
    res.setHeader('Content-Type', query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="audit-${stamp}.${query.format === 'csv' ? 'csv' : 'ndjson'}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    try {
      const rows = await writeAuditExport(
        res,
        query.format,
        manager.audit.rows({ from: query.from, to: query.to, environment: query.environment, services }),
        () => closed,
      );
      res.end();
      await event.success({ meta: { rows } });
    } catch (error: any) {
      await event.fail({ error });
      // the status line is gone: cut the transfer so the client sees it incomplete
      if (res.headersSent) res.destroy(error);
      else throw error;
    }
  });

  /**
   * A page of an export as JSON (the portal's preview): same checks, at most 100 rows from row
   * `offset` (0-based, in the export's order, at most 10,000), and whether more rows follow.
   */
  router.get('/audit/preview', async (req, res) => {
    const { query, services } = await authorizeExport(req, ['limit', 'offset']);
    const limit = limitParam(req) ?? 20;
    if (limit > 100) throw new InputError('limit must be at most 100');
    const offsetRaw = optionalString(req, 'offset') ?? '0';
    if (!/^[0-9]{1,5}$/.test(offsetRaw) || Number(offsetRaw) > 10_000) {
      throw new InputError('offset must be an integer from 0 to 10000');
    }
    const offset = Number(offsetRaw);
    const rows: AuditExportRow[] = [];
    let more = false;
    const filter = { from: query.from, to: query.to, environment: query.environment, services };
    for await (const batch of manager.audit.rows(filter, Math.max(limit, 100))) {
      rows.push(...batch);
      // one row past the page tells whether there is a next one
      if (rows.length > offset + limit) {
        more = true;
        break;
      }
    }
    res.json({ items: rows.slice(offset, offset + limit), offset, more });
  });

  // --- release, promote, rollback --------------------------------------------

  // 202 when the change became a pending approval request (nothing written)
  const answer = (res: express.Response, result: ReleaseResult) =>
    res.status(result.approval ? 202 : 200).json(result);

  router.post('/releases', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    answer(res, await ops.release(credentials, req.body, { request: req }));
  });

  router.post('/promotions', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    answer(res, await ops.promote(credentials, req.body, { request: req }));
  });

  router.post('/rollbacks', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    answer(res, await ops.rollback(credentials, req.body, { request: req }));
  });

  // --- four-eyes approvals and freeze windows (issue 14) ---------------------------

  router.get('/approvals', async (req, res) => {
    const credentials = await httpAuth.credentials(req);
    const mine = optionalString(req, 'mine');
    if (mine !== undefined && mine !== 'true' && mine !== 'false') throw new InputError('mine must be true or false');
    res.json(
      await ops.listApprovals(credentials, {
        service: optionalString(req, 'service'),
        status: optionalString(req, 'status'),
        mine: mine === 'true',
        limit: limitParam(req),
        cursor: optionalString(req, 'cursor'),
      }),
    );
  });

  router.get('/approvals/:id', async (req, res) => {
    const credentials = await httpAuth.credentials(req);
    res.json(await ops.getApproval(credentials, String(req.params.id)));
  });

  router.post('/approvals/:id/approve', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    res.json(await ops.approve(credentials, String(req.params.id), req.body, { request: req }));
  });

  router.post('/approvals/:id/reject', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    res.json(await ops.reject(credentials, String(req.params.id), req.body, { request: req }));
  });

  /** Freeze windows in force and coming up; with `service`, its system's windows and incident freeze. */
  router.get('/freeze-windows', async (req, res) => {
    await httpAuth.credentials(req);
    const service = optionalString(req, 'service');
    if (service !== undefined) name('service', service);
    const environment = optionalString(req, 'environment');
    if (environment !== undefined) manager.environment(environment);
    const daysRaw = optionalString(req, 'days');
    if (daysRaw !== undefined && (!/^[0-9]{1,3}$/.test(daysRaw) || Number(daysRaw) < 1 || Number(daysRaw) > 366)) {
      throw new InputError('days must be a whole number from 1 to 366');
    }
    res.json(
      await manager.freezeWindowsFor({ service, environment, days: daysRaw ? Number(daysRaw) : undefined }),
    );
  });

  // --- diff and verdict --------------------------------------------------------

  router.get('/services/:service/diff', async (req, res) => {
    await httpAuth.credentials(req);
    res.json(
      await manager.diff(
        name('service', req.params.service),
        name('environment', optionalString(req, 'environment')),
        artifactIdParam(optionalString(req, 'artifactId')),
      ),
    );
  });

  router.get('/services/:service/verdict', async (req, res) => {
    const credentials = await httpAuth.credentials(req);
    const service = name('service', req.params.service);
    const environment = name('environment', optionalString(req, 'environment'));
    const artifactId = artifactIdParam(optionalString(req, 'artifactId'));
    const verdict = await manager.branchVerdict(service, environment, artifactId);
    if (!verdict.allowed) {
      res.json(verdict);
      return;
    }
    const permission = releasePermissionFor(environment);
    if (!(await isAllowed(credentials, permission, service))) {
      res.json({
        allowed: false,
        reason: `you lack the permission ${permission.name} for ${service} in ${environment}`,
      });
      return;
    }
    res.json({ allowed: true });
  });

  // --- policies ------------------------------------------------------------

  router.get('/services/:service/policies', async (req, res) => {
    await httpAuth.credentials(req);
    res.json(await manager.getPolicies(name('service', req.params.service)));
  });

  router.put('/services/:service/policies/auto-releases', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const service = name('service', req.params.service);
    const body = parseBody(autoReleaseBodySchema, req.body);
    manager.environment(body.environment);
    await requirePermission(credentials, releasePermissionFor(body.environment), `auto-release ${service} to ${body.environment}`, service);
    await requirePermission(credentials, releaseManagerPolicyWritePermission, `change policies of ${service}`, service);
    const actor = await actorOf(credentials);
    res.json(
      await audited(req, 'policy-change', { service, ...body, actor: actor.ref }, () =>
        manager.putAutoRelease(service, body.branch, body.environment, actor),
      ),
    );
  });

  router.put('/services/:service/policies/branch-restrictions', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const service = name('service', req.params.service);
    const body = parseBody(branchRestrictionBodySchema, req.body);
    manager.environment(body.environment);
    await requirePermission(credentials, releaseManagerPolicyWritePermission, `change policies of ${service}`, service);
    const actor = await actorOf(credentials);
    res.json(
      await audited(req, 'policy-change', { service, ...body, actor: actor.ref }, () =>
        manager.putBranchRestriction(service, body.branchRegex, body.environment, actor),
      ),
    );
  });

  // Several policy changes as one commit; the same permissions as the single PUTs, all checked
  // before anything is written.
  router.patch('/services/:service/policies', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const service = name('service', req.params.service);
    const body = parseBody(policyChangesSchema, req.body);
    for (const p of [...(body.branchRestrictions ?? []), ...(body.autoReleases ?? [])]) manager.environment(p.environment);
    for (const a of body.autoReleases ?? []) {
      await requirePermission(credentials, releasePermissionFor(a.environment), `auto-release ${service} to ${a.environment}`, service);
    }
    await requirePermission(credentials, releaseManagerPolicyWritePermission, `change policies of ${service}`, service);
    const actor = await actorOf(credentials);
    res.json(
      await audited(req, 'policy-change', { service, ...body, actor: actor.ref }, () =>
        manager.applyPolicies(service, body, actor),
      ),
    );
  });

  router.delete('/services/:service/policies/:policyId', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const service = name('service', req.params.service);
    const policyId = String(req.params.policyId);
    await requirePermission(credentials, releaseManagerPolicyWritePermission, `change policies of ${service}`, service);
    const actor = await actorOf(credentials);
    res.json(
      await audited(req, 'policy-change', { service, policyId, actor: actor.ref }, () =>
        manager.deletePolicy(service, policyId, actor),
      ),
    );
  });

  // --- status webhook ------------------------------------------------------

  router.post('/status', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['service'] });
    const subject = credentials.principal.subject;
    if (!(options.statusPrincipals ?? []).includes(subject)) {
      throw new NotAllowedError(
        `${subject} may not report rollout status: only the agent principals in releaseManager.statusWebhook.principals may`,
      );
    }
    await requirePermission(credentials, releaseManagerRolloutStatusPermission, 'report rollout status');
    const report = parseBody(rolloutStatusSchema, req.body);
    await audited(req, 'rollout-status', { ...report, logLines: undefined }, () =>
      manager.reportStatus(report),
    );
    res.status(204).end();
  });

  return router;
}
