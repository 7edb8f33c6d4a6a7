import {
  AuditorService,
  BackstageCredentials,
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
  TriggerIncidentResponse,
  oncallIncidentTriggerPermission,
} from '@devplane/plugin-oncall-common';
import type { Request } from 'express';
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

export const nameSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a valid entity name');

export const triggerSchema = z
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

export function parseOrThrow<T>(schema: z.ZodType<T, any, any>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InputError(result.error.issues.map(describeIssue).join('; '));
  }
  return result.data;
}

/** Dependencies of {@link OnCallOperations}. */
export type OnCallOperationsOptions = {
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

/** An entity named by its parts (as in the REST path). */
export type EntityParts = { kind: string; namespace: string; name: string };

/**
 * Who is on call and incident triggering, with the permission checks, rate limit and audit
 * events. The REST router and the actions registry (AI agents over MCP) both call these.
 */
export class OnCallOperations {
  private readonly now: () => number;
  // Serialises triggers per user and service inside this process, so a burst
  // of parallel calls cannot slip past the (database backed) rate limit.
  private readonly triggerLocks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: OnCallOperationsOptions) {
    this.now = options.now ?? Date.now;
  }

  providerFor(target: OnCallTarget): OnCallProvider<any> {
    return target.provider === 'pagerduty' ? this.options.pagerduty : this.options.embedded;
  }

  async loadEntity(ref: EntityParts, credentials: BackstageCredentials): Promise<Entity> {
    const kind = parseOrThrow(nameSchema, ref.kind);
    const namespace = parseOrThrow(nameSchema, ref.namespace);
    const name = parseOrThrow(nameSchema, ref.name);
    const entity = await this.options.catalog.getEntityByRef(
      { kind, namespace, name },
      { credentials },
    );
    if (!entity) {
      throw new NotFoundError(
        `No entity ${kind.toLocaleLowerCase('en-US')}:${namespace}/${name} in the catalog`,
      );
    }
    return entity;
  }

  async targetFor(entity: Entity) {
    return resolveTarget(entity, {
      config: this.options.config,
      loadGroup: async ref =>
        this.options.catalog.getEntityByRef(ref, {
          credentials: await this.options.getServiceCredentials(),
        }),
    });
  }

  async isAllowed(
    permission: ResourcePermission<'catalog-entity'>,
    resourceRef: string,
    credentials: BackstageCredentials,
  ) {
    const [decision] = await this.options.permissions.authorize(
      [{ permission, resourceRef }],
      { credentials },
    );
    return decision.result === AuthorizeResult.ALLOW;
  }

  /**
   * Who is on call for an entity. `userCredentials` (when the caller is a person) decides
   * `canTrigger`; a service caller gets `canTrigger: false`.
   */
  async whoIsOnCall(
    ref: EntityParts,
    credentials: BackstageCredentials,
    userCredentials?: () => Promise<BackstageCredentials>,
  ): Promise<OnCallResponse> {
    const entity = await this.loadEntity(ref, credentials);
    const target = await this.targetFor(entity);
    if (!target) {
      return { configured: false, help: ONCALL_HELP };
    }
    const provider = this.providerFor(target);
    const [schedule, openIncidents, canTrigger] = await Promise.all([
      provider.getOnCall(target),
      provider.listOpenIncidents(target),
      userCredentials
        ? userCredentials().then(
            user => this.isAllowed(oncallIncidentTriggerPermission, target.entityRef, user),
            () => false,
          )
        : false,
    ]);
    return {
      configured: true,
      provider: provider.id,
      ...schedule,
      openIncidents,
      canTrigger,
    };
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.triggerLocks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    this.triggerLocks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.triggerLocks.get(key) === run) this.triggerLocks.delete(key);
    }
  }

  /**
   * Triggers (or deduplicates) an incident for an entity on behalf of a signed-in user.
   * `onRateLimited` is told the retry delay before a {@link TooManyRequestsError} is thrown.
   */
  async trigger(
    ref: EntityParts,
    rawBody: unknown,
    credentials: BackstageCredentials,
    origin: { request?: Request; via?: string; onRateLimited?: (retryAfterSeconds: number) => void } = {},
  ): Promise<TriggerIncidentResponse> {
    const { store, config, auditor } = this.options;
    const principal = credentials.principal as { type: string; userEntityRef?: string };
    if (principal.type !== 'user' || !principal.userEntityRef) {
      throw new NotAllowedError('Incidents are triggered by people, not services');
    }
    const userRef = principal.userEntityRef;
    const body = parseOrThrow(triggerSchema, rawBody ?? {});
    const entity = await this.loadEntity(ref, credentials);
    const entityRef = stringifyEntityRef(entity);
    if (!(await this.isAllowed(oncallIncidentTriggerPermission, entityRef, credentials))) {
      throw new NotAllowedError(
        `You are not allowed to trigger incidents for ${entityRef} (permission oncall.incident.trigger)`,
      );
    }
    const target = await this.targetFor(entity);
    if (!target) {
      throw new InputError(
        `${entityRef} has no on-call configuration, nobody can be paged.\n${ONCALL_HELP}`,
      );
    }
    const auditorEvent = await auditor.createEvent({
      eventId: 'incident-trigger',
      severityLevel: 'high',
      request: origin.request,
      meta: {
        entityRef,
        provider: target.provider,
        severity: body.severity,
        ...(origin.via ? { via: origin.via, actor: userRef } : {}),
      },
    });
    try {
      const result = await this.withLock(`${userRef}|${entityRef}`, async () => {
        const { maxTriggers, windowMs } = config.rateLimit;
        const recent = await store.countTriggersSince(
          userRef,
          entityRef,
          new Date(this.now() - windowMs),
        );
        if (recent >= maxTriggers) {
          origin.onRateLimited?.(Math.ceil(windowMs / 1000));
          throw new TooManyRequestsError(
            `Too many incidents triggered for ${entityRef}: at most ${maxTriggers} per ${Math.round(
              windowMs / 1000,
            )} seconds per person. The on-call person has already been paged; try again in a minute.`,
          );
        }
        const dedupKey = deriveDedupKey({
          entityRef,
          description: body.description,
        });
        const triggered = await this.providerFor(target).trigger(target, {
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
          now: new Date(this.now()),
        });
        return triggered;
      });
      await auditorEvent.success({
        meta: {
          incidentId: result.incident.id,
          deduplicated: result.deduplicated,
        },
      });
      return result;
    } catch (error) {
      await auditorEvent.fail({ error: error as Error });
      throw error;
    }
  }
}
