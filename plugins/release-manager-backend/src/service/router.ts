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
  invalidArtifactIdReason,
  invalidNameReason,
  releaseManagerArtifactCreatePermission,
  releaseManagerPolicyWritePermission,
  releaseManagerPromoteProductionPermission,
  releaseManagerReleasePermission,
  releaseManagerRolloutStatusPermission,
} from '@devplane/plugin-release-manager-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { openApiDocument } from './openapi';
import { Actor, ReleaseManager } from './ReleaseManager';
import { assertMayUpload } from './uploaders';
import {
  artifactUploadSchema,
  autoReleaseBodySchema,
  branchRestrictionBodySchema,
  parseBody,
  promoteRequestSchema,
  releaseRequestSchema,
  rollbackRequestSchema,
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
  /** JSON body limit; bigger bodies get 413 before any validation. */
  bodyLimit?: string;
  /** Service principal subjects allowed to post rollout status; everyone else gets 403. */
  statusPrincipals?: string[];
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

  async function actorOf(credentials: BackstageCredentials): Promise<Actor> {
    if (auth.isPrincipal(credentials, 'user')) {
      const { userEntityRef } = await userInfo.getUserInfo(credentials);
      try {
        const entity = await catalog.getEntityByRef(userEntityRef, {
          credentials: await auth.getOwnServiceCredentials(),
        });
        const profile = (entity?.spec as any)?.profile ?? {};
        return {
          ref: userEntityRef,
          email: typeof profile.email === 'string' && profile.email ? profile.email : userEntityRef,
          displayName: typeof profile.displayName === 'string' ? profile.displayName : undefined,
        };
      } catch (e: any) {
        options.logger.warn(`Could not look up ${userEntityRef} in the catalog: ${e?.message ?? e}`);
        return { ref: userEntityRef, email: userEntityRef };
      }
    }
    if (auth.isPrincipal(credentials, 'service')) {
      const subject = credentials.principal.subject;
      return { ref: subject, email: subject };
    }
    throw new NotAllowedError('Unauthenticated callers cannot do this');
  }

  async function isAllowed(
    credentials: BackstageCredentials,
    permission: BasicPermission | ResourcePermission,
    service?: string,
  ): Promise<boolean> {
    const request =
      permission.type === 'resource'
        ? { permission: permission as ResourcePermission, resourceRef: `component:default/${service}` }
        : { permission: permission as BasicPermission };
    const [decision] = await permissions.authorize([request], { credentials });
    return decision.result === AuthorizeResult.ALLOW;
  }

  async function requirePermission(
    credentials: BackstageCredentials,
    permission: BasicPermission | ResourcePermission,
    what: string,
    service?: string,
  ) {
    if (!(await isAllowed(credentials, permission, service))) {
      throw new NotAllowedError(`You are not allowed to ${what} (permission ${permission.name})`);
    }
  }

  function releasePermissionFor(environment: string) {
    return manager.environment(environment).production
      ? releaseManagerPromoteProductionPermission
      : releaseManagerReleasePermission;
  }

  /** Runs a sensitive action inside an audit event. */
  async function audited<T>(
    req: Request,
    eventId: string,
    meta: Record<string, any>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const event = await auditor.createEvent({ eventId, request: req, meta, severityLevel: 'medium' });
    try {
      const result = await fn();
      await event.success({ meta: { result: summarise(result) } });
      return result;
    } catch (error: any) {
      await event.fail({ error });
      throw error;
    }
  }

  /** Freeze override from a body, recorded as its own (high severity) audit event when it applies. */
  function freezeOptions(req: Request, overrideFreeze: { reason: string } | undefined, actor: Actor) {
    if (!overrideFreeze) return {};
    return {
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
          request: req,
          severityLevel: 'high',
          meta: {
            service: details.service,
            environment: details.environment,
            artifactId: details.artifactId,
            reason: details.reason,
            incidents: details.incidents.map(i => i.id),
            actor: actor.ref,
          },
        });
        await event.success();
      },
    };
  }

  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
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
    const result = await audited(
      req,
      'artifact-upload',
      { service: upload.spec.service, artifactId: upload.spec.id, actor: actor.ref },
      () => manager.uploadArtifact(upload, actor),
    );
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

  router.get('/teams/:team/releases', async (req, res) => {
    await httpAuth.credentials(req);
    const team = name('team', req.params.team);
    const sinceRaw = optionalString(req, 'since');
    const since = sinceRaw ? new Date(sinceRaw) : new Date(Date.now() - 24 * 3600 * 1000);
    if (Number.isNaN(since.getTime())) throw new InputError('since must be an ISO timestamp');
    let owned: string[] = [];
    try {
      const { items } = await catalog.getEntities(
        {
          filter: { kind: 'Component', 'relations.ownedBy': `group:default/${team}` },
          fields: ['metadata.name'],
        },
        { credentials: await auth.getOwnServiceCredentials() },
      );
      owned = items.map(e => e.metadata.name).filter(n => !invalidNameReason('service', n));
    } catch (e: any) {
      options.logger.warn(`Catalog lookup of services owned by ${team} failed: ${e?.message ?? e}`);
    }
    res.json(await manager.teamReleases(owned, team, since.toISOString()));
  });

  // --- release, promote, rollback --------------------------------------------

  router.post('/releases', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const body = parseBody(releaseRequestSchema, req.body);
    name('service', body.service);
    artifactIdParam(body.artifactId);
    await requirePermission(
      credentials,
      releasePermissionFor(body.environment),
      `release ${body.service} to ${body.environment}`,
      body.service,
    );
    const actor = await actorOf(credentials);
    res.json(
      await audited(req, 'release', { ...body, actor: actor.ref }, () => {
        const { overrideFreeze, ...release } = body;
        return manager.release(release, actor, freezeOptions(req, overrideFreeze, actor));
      }),
    );
  });

  router.post('/promotions', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const body = parseBody(promoteRequestSchema, req.body);
    name('service', body.service);
    manager.environment(body.fromEnvironment);
    await requirePermission(
      credentials,
      releasePermissionFor(body.toEnvironment),
      `promote ${body.service} to ${body.toEnvironment}`,
      body.service,
    );
    const actor = await actorOf(credentials);
    res.json(
      await audited(req, 'promote', { ...body, actor: actor.ref }, () => {
        const { overrideFreeze, ...promotion } = body;
        return manager.promote(promotion, actor, freezeOptions(req, overrideFreeze, actor));
      }),
    );
  });

  router.post('/rollbacks', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const body = parseBody(rollbackRequestSchema, req.body);
    name('service', body.service);
    if (body.artifactId !== undefined) artifactIdParam(body.artifactId);
    await requirePermission(
      credentials,
      releasePermissionFor(body.environment),
      `roll back ${body.service} in ${body.environment}`,
      body.service,
    );
    const actor = await actorOf(credentials);
    res.json(
      await audited(req, 'rollback', { ...body, actor: actor.ref }, () => {
        const { overrideFreeze, ...rollback } = body;
        return manager.rollback(rollback, actor, freezeOptions(req, overrideFreeze, actor));
      }),
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

function summarise(result: unknown): any {
  if (!result || typeof result !== 'object') return null;
  const r = result as any;
  if ('changed' in r) return { changed: r.changed, releaseId: r.release?.id ?? null };
  if ('artifact' in r) return { artifactId: r.artifact?.id, autoReleases: r.autoReleases?.length ?? 0 };
  return null;
}
