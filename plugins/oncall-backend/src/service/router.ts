import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  CustomErrorBase,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  AuthorizeResult,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  INCIDENT_SEVERITIES,
  Incident,
  OnCallResponse,
  ServiceFreeze,
  TriggerIncidentResponse,
  oncallIncidentTriggerPermission,
  oncallIncidentUpdatePermission,
} from '@devplane/plugin-oncall-common';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { OnCallConfig } from '../config';
import { OnCallStore } from '../database/OnCallStore';
import { deriveDedupKey } from '../dedup';
import { EmbeddedProvider } from '../providers/EmbeddedProvider';
import { PagerDutyProvider } from '../providers/PagerDutyProvider';
import { OnCallProvider, OnCallTarget } from '../providers/types';
import { ONCALL_HELP, resolveTarget } from '../resolve';

/** 429: the caller triggered too often for this service. */
export class TooManyRequestsError extends CustomErrorBase {
  name = 'TooManyRequestsError' as const;
  statusCode = 429;
}

const nameSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a valid entity name');

const triggerSchema = z
  .object({
    description: z
      .string({ required_error: 'description is required' })
      .trim()
      .min(1, 'description is required')
      .max(1024, 'description must be at most 1024 characters'),
    severity: z
      .enum(INCIDENT_SEVERITIES as [string, ...string[]])
      .optional()
      .default('critical'),
  })
  // Unknown fields (e.g. a spoofed `triggeredBy`) are rejected, not ignored: who triggered an
  // incident always comes from the caller's credentials.
  .strict();

function describeIssue(i: z.ZodIssue): string {
  if (i.code === 'unrecognized_keys') {
    const keys = i.keys.map(k => `'${k.slice(0, 40)}'`).join(', ');
    return `unknown field(s) ${keys} not allowed (who triggered an incident comes from your credentials)`;
  }
  return i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message;
}

function parseOrThrow<T>(schema: z.ZodType<T, any, any>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InputError(result.error.issues.map(describeIssue).join('; '));
  }
  return result.data;
}

export type RouterOptions = {
  logger: LoggerService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  catalog: CatalogService;
  store: OnCallStore;
  config: OnCallConfig;
  embedded: EmbeddedProvider;
  pagerduty: PagerDutyProvider;
  /** Service credentials used to read Group entities while resolving rotations. */
  getServiceCredentials: () => Promise<BackstageCredentials>;
  now?: () => number;
};

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { httpAuth, permissions, catalog, store, config, auditor } = options;
  const now = options.now ?? Date.now;
  const router = Router();
  router.use(express.json({ limit: '16kb' }));

  const providerFor = (target: OnCallTarget): OnCallProvider<any> =>
    target.provider === 'pagerduty' ? options.pagerduty : options.embedded;

  async function loadEntity(
    ref: { kind: string; namespace: string; name: string },
    credentials: BackstageCredentials,
  ): Promise<Entity> {
    const kind = parseOrThrow(nameSchema, ref.kind);
    const namespace = parseOrThrow(nameSchema, ref.namespace);
    const name = parseOrThrow(nameSchema, ref.name);
    const entity = await catalog.getEntityByRef(
      { kind, namespace, name },
      { credentials },
    );
    if (!entity) {
      throw new NotFoundError(
        `No entity ${kind.toLocaleLowerCase(
          'en-US',
        )}:${namespace}/${name} in the catalog`,
      );
    }
    return entity;
  }

  async function targetFor(entity: Entity) {
    return resolveTarget(entity, {
      config,
      loadGroup: async ref =>
        catalog.getEntityByRef(ref, {
          credentials: await options.getServiceCredentials(),
        }),
    });
  }

  async function isAllowed(
    permission: ResourcePermission<'catalog-entity'>,
    resourceRef: string,
    credentials: BackstageCredentials,
  ) {
    const [decision] = await permissions.authorize(
      [{ permission, resourceRef }],
      { credentials },
    );
    return decision.result === AuthorizeResult.ALLOW;
  }

  router.get('/entities/:kind/:namespace/:name/oncall', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const entity = await loadEntity(req.params, credentials);
    const target = await targetFor(entity);
    if (!target) {
      const body: OnCallResponse = { configured: false, help: ONCALL_HELP };
      res.json(body);
      return;
    }
    const provider = providerFor(target);
    const [schedule, openIncidents, canTrigger] = await Promise.all([
      provider.getOnCall(target),
      provider.listOpenIncidents(target),
      httpAuth.credentials(req, { allow: ['user'] }).then(
        userCredentials =>
          isAllowed(
            oncallIncidentTriggerPermission,
            target.entityRef,
            userCredentials,
          ),
        () => false,
      ),
    ]);
    const body: OnCallResponse = {
      configured: true,
      provider: provider.id,
      ...schedule,
      openIncidents,
      canTrigger,
    };
    res.json(body);
  });

  // Serialises triggers per user and service inside this process, so a burst
  // of parallel clicks cannot slip past the (database backed) rate limit.
  const triggerLocks = new Map<string, Promise<unknown>>();
  async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = triggerLocks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    triggerLocks.set(key, run);
    try {
      return await run;
    } finally {
      if (triggerLocks.get(key) === run) triggerLocks.delete(key);
    }
  }

  router.post(
    '/entities/:kind/:namespace/:name/incidents',
    async (req, res) => {
      const credentials = await httpAuth.credentials(req, { allow: ['user'] });
      const userRef = credentials.principal.userEntityRef;
      const body = parseOrThrow(triggerSchema, req.body ?? {});
      const entity = await loadEntity(req.params, credentials);
      const entityRef = stringifyEntityRef(entity);
      if (
        !(await isAllowed(
          oncallIncidentTriggerPermission,
          entityRef,
          credentials,
        ))
      ) {
        throw new NotAllowedError(
          `You are not allowed to trigger incidents for ${entityRef} (permission oncall.incident.trigger)`,
        );
      }
      const target = await targetFor(entity);
      if (!target) {
        throw new InputError(
          `${entityRef} has no on-call configuration, nobody can be paged.\n${ONCALL_HELP}`,
        );
      }
      const auditorEvent = await auditor.createEvent({
        eventId: 'incident-trigger',
        severityLevel: 'high',
        request: req,
        meta: { entityRef, provider: target.provider, severity: body.severity },
      });
      try {
        const result = await withLock(`${userRef}|${entityRef}`, async () => {
          const { maxTriggers, windowMs } = config.rateLimit;
          const recent = await store.countTriggersSince(
            userRef,
            entityRef,
            new Date(now() - windowMs),
          );
          if (recent >= maxTriggers) {
            res.setHeader('Retry-After', String(Math.ceil(windowMs / 1000)));
            throw new TooManyRequestsError(
              `Too many incidents triggered for ${entityRef}: at most ${maxTriggers} per ${Math.round(
                windowMs / 1000,
              )} seconds per person. The on-call person has already been paged; try again in a minute.`,
            );
          }
          const dedupKey = deriveDedupKey({
            entityRef,
            userRef,
            description: body.description,
            now: now(),
            bucketMs: config.dedupWindowMs,
          });
          const triggered = await providerFor(target).trigger(target, {
            description: body.description,
            severity: body.severity as Incident['severity'],
            triggeredBy: userRef,
            dedupKey,
          });
          await store.recordTrigger({
            entityRef,
            userRef,
            provider: target.provider,
            incidentId: triggered.incident.id,
            dedupKey,
            now: new Date(now()),
          });
          return triggered;
        });
        await auditorEvent.success({
          meta: {
            incidentId: result.incident.id,
            deduplicated: result.deduplicated,
          },
        });
        const response: TriggerIncidentResponse = result;
        res.status(result.deduplicated ? 200 : 201).json(response);
      } catch (error) {
        await auditorEvent.fail({ error: error as Error });
        throw error;
      }
    },
  );

  /** User refs on call for an entity right now (embedded rotations; PagerDuty ids never match). */
  async function onCallNow(entityRef: string): Promise<string[]> {
    const entity = await catalog.getEntityByRef(entityRef, {
      credentials: await options.getServiceCredentials(),
    });
    const target = entity ? await targetFor(entity) : undefined;
    if (!target) return [];
    const schedule = await providerFor(target).getOnCall(target);
    return schedule.now.map(p => p.id);
  }

  for (const action of ['acknowledge', 'resolve'] as const) {
    router.post(`/incidents/:id/${action}`, async (req, res) => {
      const credentials = await httpAuth.credentials(req, { allow: ['user'] });
      const userRef = credentials.principal.userEntityRef;
      const id = parseOrThrow(
        z.string().uuid('unknown incident id'),
        req.params.id,
      );
      const incident = await store.getIncident(id);
      // Who may acknowledge/resolve (and so lift a release freeze): the service's owners and
      // platform (permission oncall.incident.update: owner-only in the permission policy), and
      // the people on call for it right now.
      if (
        !(await isAllowed(
          oncallIncidentUpdatePermission,
          incident.entityRef,
          credentials,
        )) &&
        !(await onCallNow(incident.entityRef)).includes(userRef)
      ) {
        const entity = await catalog.getEntityByRef(incident.entityRef, {
          credentials: await options.getServiceCredentials(),
        });
        const owner = entity?.relations?.find(r => r.type === 'ownedBy')?.targetRef;
        throw new NotAllowedError(
          `You may not ${action} incidents of ${incident.entityRef}: only its owners${
            owner ? ` (${owner})` : ''
          }, the people on call for it and platform may (permission oncall.incident.update)`,
        );
      }
      const auditorEvent = await auditor.createEvent({
        eventId: `incident-${action}`,
        request: req,
        meta: { incidentId: id, entityRef: incident.entityRef },
      });
      try {
        const updated =
          action === 'acknowledge'
            ? await options.embedded.acknowledge(id, userRef)
            : await options.embedded.resolve(id, userRef);
        await auditorEvent.success();
        res.json({ incident: updated });
      } catch (error) {
        await auditorEvent.fail({ error: error as Error });
        throw error;
      }
    });
  }

  router.get('/services/:name/freeze', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const name = parseOrThrow(nameSchema, req.params.name);
    const entity = await loadEntity(
      { kind: 'component', namespace: 'default', name },
      credentials,
    );
    const target = await targetFor(entity);
    const incidents = target
      ? await providerFor(target).listOpenIncidents(target)
      : await store.listOpenIncidents(stringifyEntityRef(entity));
    const body: ServiceFreeze = {
      service: name,
      frozen: incidents.length > 0,
      reason: incidents.length
        ? `${incidents.length} open incident(s): ${incidents
            .map(i => i.title)
            .join('; ')
            .slice(0, 300)}`
        : undefined,
      incidents,
    };
    res.json(body);
  });

  return router;
}
