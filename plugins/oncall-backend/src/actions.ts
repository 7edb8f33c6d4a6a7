import type { BackstageCredentials } from '@backstage/backend-plugin-api';
import type { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import { parseEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { INCIDENT_SEVERITIES, OnCallPerson } from '@devplane/plugin-oncall-common';
import { EntityParts, OnCallOperations } from './service/operations';

/*
 * Actions for AI agents (Backstage actions registry, exposed to MCP clients by
 * @backstage/plugin-mcp-actions-backend). Each calls the same OnCallOperations as the REST
 * route, with the caller's own credentials: the same permission check, rate limit,
 * deduplication and audit event.
 */

function entityParts(ref: string): EntityParts {
  try {
    const { kind, namespace, name } = parseEntityRef(ref, {
      defaultKind: 'component',
      defaultNamespace: 'default',
    });
    return { kind, namespace, name };
  } catch (e: any) {
    throw new InputError(`entityRef: ${e?.message ?? 'not an entity reference'}`);
  }
}

const isUser = (credentials: BackstageCredentials) =>
  (credentials.principal as { type?: string }).type === 'user';

const personShape = (z: any) =>
  z.object({ id: z.string(), name: z.string(), email: z.string().optional() });

/** Registers who-is-on-call and trigger-incident. */
export function registerOnCallActions(
  registry: ActionsRegistryService,
  ops: OnCallOperations,
): void {
  registry.register({
    name: 'who-is-on-call',
    title: 'Who is on call',
    description:
      'Tells who is on call now and next for a service (or a team), the escalation chain, and the open incidents. Accepts "ledger", "component:default/ledger" or "group:default/payments".',
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z
          .object({
            entityRef: z.string().min(1).max(300).describe('Entity reference; a bare name means a Component'),
          })
          .strict(),
      output: z =>
        z.object({
          configured: z.boolean(),
          help: z.string().optional(),
          provider: z.string().optional(),
          schedule: z.string().optional(),
          now: z.array(personShape(z)).optional(),
          next: z.array(personShape(z)).optional(),
          handoffAt: z.string().optional(),
          openIncidents: z
            .array(
              z.object({
                id: z.string(),
                title: z.string(),
                status: z.string(),
                severity: z.string(),
                createdAt: z.string().optional(),
                url: z.string().optional(),
              }),
            )
            .optional(),
          canTrigger: z.boolean().optional(),
        }),
    },
    examples: [{ title: 'On call for ledger', input: { entityRef: 'component:default/ledger' } }],
    action: async ({ input, credentials }) => {
      const answer = await ops.whoIsOnCall(
        entityParts(input.entityRef),
        credentials,
        isUser(credentials) ? async () => credentials : undefined,
      );
      if (!answer.configured) return { output: answer };
      const person = (p: OnCallPerson) => ({ id: p.id, name: p.name, email: p.email });
      return {
        output: {
          configured: true,
          provider: answer.provider,
          schedule: answer.schedule,
          now: answer.now.map(person),
          next: answer.next.map(person),
          handoffAt: answer.handoffAt,
          openIncidents: answer.openIncidents.map(i => ({
            id: i.id,
            title: i.title,
            status: i.status,
            severity: i.severity,
            createdAt: i.createdAt,
            url: i.url,
          })),
          canTrigger: answer.canTrigger,
        },
      };
    },
  });

  registry.register({
    name: 'trigger-incident',
    title: 'Trigger an incident',
    description:
      'Pages the on-call person of a service by opening an incident (embedded rotation or PagerDuty). A report of the same service with the same description while an incident is open joins that incident (nobody is paged again); triggering is rate limited per person. Recorded with the caller as the one who triggered it.',
    // Pages a person: not read-only, but additive (nothing is destroyed); a repeat within the
    // dedup window joins the open incident, later repeats open new ones, so not idempotent.
    attributes: { readOnly: false, destructive: false, idempotent: false },
    schema: {
      input: z =>
        z
          .object({
            entityRef: z.string().min(1).max(300).describe('Entity reference; a bare name means a Component'),
            description: z.string().min(1).max(1024).describe('What is wrong, for the person being paged'),
            severity: z
              .enum(INCIDENT_SEVERITIES as [string, ...string[]])
              .optional()
              .describe('Default: critical'),
          })
          .strict(),
      output: z =>
        z.object({
          incidentId: z.string(),
          title: z.string(),
          status: z.string(),
          deduplicated: z.boolean(),
          joined: z
            .boolean()
            .describe('Somebody else had reported it: the caller joined their open incident'),
        }),
    },
    action: async ({ input, credentials }) => {
      const { entityRef, ...body } = input;
      const result = await ops.trigger(entityParts(entityRef), body, credentials, {
        via: 'action:oncall:trigger-incident',
      });
      return {
        output: {
          incidentId: result.incident.id,
          title: result.incident.title,
          status: result.incident.status,
          deduplicated: result.deduplicated,
          joined: result.joined ?? false,
        },
      };
    },
  });
}
