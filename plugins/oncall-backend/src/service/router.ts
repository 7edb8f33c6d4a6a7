import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  Incident,
  ServiceFreeze,
  ServiceIncidents,
  oncallIncidentUpdatePermission,
} from '@devplane/plugin-oncall-common';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { OnCallConfig } from '../config';
import { OnCallStore } from '../database/OnCallStore';
import { EmbeddedProvider } from '../providers/EmbeddedProvider';
import { PagerDutyProvider } from '../providers/PagerDutyProvider';
import { OnCallOperations, nameSchema, parseOrThrow } from './operations';
import { openApiDocument } from './openapi';

export { TooManyRequestsError } from './operations';

/** Most incidents one `GET /services/:name/incidents` answers with. */
const INCIDENT_HISTORY_LIMIT = 5000;

const sinceSchema = z
  .string({ required_error: 'since is required (an ISO 8601 time)' })
  .max(40)
  .refine(v => /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)), 'since must be an ISO 8601 time')
  .transform(v => new Date(v).toISOString());

/** Written by the shuttle catalog module: the component's shuttle `vars.service`. */
const SHUTTLE_SERVICE_ANNOTATION = 'devplane.io/shuttle-service';

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
  /** Shared operations (also used by the actions registry); created here when absent. */
  operations?: OnCallOperations;
};

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { httpAuth, store, auditor, catalog } = options;
  const ops = options.operations ?? new OnCallOperations(options);
  const router = Router();
  router.use(express.json({ limit: '16kb' }));

  // the catalog registers this document as the API entity `oncall-api` (catalog-info/platform-apis.yaml)
  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });

  const targetFor = ops.targetFor.bind(ops);
  const providerFor = ops.providerFor.bind(ops);
  const isAllowed = ops.isAllowed.bind(ops);

  router.get('/entities/:kind/:namespace/:name/oncall', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    res.json(
      await ops.whoIsOnCall(
        req.params,
        credentials,
        () => httpAuth.credentials(req, { allow: ['user'] }),
      ),
    );
  });

  router.post(
    '/entities/:kind/:namespace/:name/incidents',
    async (req, res) => {
      const credentials = await httpAuth.credentials(req, { allow: ['user'] });
      const result = await ops.trigger(req.params, req.body, credentials, {
        request: req,
        onRateLimited: seconds => res.setHeader('Retry-After', String(seconds)),
      });
      res.status(result.deduplicated ? 200 : 201).json(result);
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

  /**
   * The components a release manager service name stands for: the release manager names
   * services by shuttle's `vars.service`, which need not be the component's name, so look the
   * service up both ways (entity ref, and the shuttle-service annotation the shuttle module
   * writes).
   */
  async function componentsOfService(
    name: string,
    credentials: BackstageCredentials,
  ): Promise<Map<string, Entity>> {
    const [byName, { items: byShuttleService }] = await Promise.all([
      catalog.getEntityByRef(
        { kind: 'component', namespace: 'default', name },
        { credentials },
      ),
      catalog.getEntities(
        {
          filter: {
            kind: 'component',
            [`metadata.annotations.${SHUTTLE_SERVICE_ANNOTATION}`]: name,
          },
        },
        { credentials },
      ),
    ]);
    const entities = new Map<string, Entity>();
    for (const e of [byName, ...byShuttleService]) {
      if (e) entities.set(stringifyEntityRef(e), e);
    }
    if (entities.size === 0) {
      throw new NotFoundError(
        `No component named '${name}' and none with shuttle vars.service '${name}' in the catalog`,
      );
    }
    return entities;
  }

  router.get('/services/:name/freeze', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const name = parseOrThrow(nameSchema, req.params.name);
    // freeze on any open incident of any component the service name stands for
    const entities = await componentsOfService(name, credentials);
    const incidents = (
      await Promise.all(
        [...entities.entries()].map(async ([entityRef, entity]) => {
          const target = await targetFor(entity);
          return target
            ? providerFor(target).listOpenIncidents(target)
            : store.listOpenIncidents(entityRef);
        }),
      )
    ).flat();
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

  router.get('/services/:name/incidents', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const name = parseOrThrow(nameSchema, req.params.name);
    const since = parseOrThrow(sinceSchema, req.query.since);
    const entities = await componentsOfService(name, credentials);
    // Embedded incidents with their history; PagerDuty-backed components add their open
    // incidents only (their history stays in PagerDuty).
    const refs = [...entities.keys()];
    const [{ incidents: stored, truncated }, external] = await Promise.all([
      store.listIncidentsSince(refs, since, INCIDENT_HISTORY_LIMIT),
      Promise.all(
        [...entities.values()].map(async entity => {
          const target = await targetFor(entity);
          return target && target.provider !== 'embedded'
            ? providerFor(target).listOpenIncidents(target)
            : [];
        }),
      ),
    ]);
    const incidents: Incident[] = [
      ...stored.map(({ rotation: _r, escalationPath: _p, ...incident }) => incident),
      ...external.flat(),
    ];
    const body: ServiceIncidents = { service: name, since, incidents, truncated };
    res.json(body);
  });

  return router;
}
