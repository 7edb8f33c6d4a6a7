import {
  Entity,
  RELATION_OWNED_BY,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  ANNOTATION_ONCALL_ESCALATION,
  ANNOTATION_ONCALL_HANDOFF,
  ANNOTATION_ONCALL_LENGTH_DAYS,
  ANNOTATION_ONCALL_MEMBERS,
  ANNOTATION_ONCALL_ROTATION,
  ANNOTATION_ONCALL_START,
  ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID,
  ANNOTATION_PAGERDUTY_INTEGRATION_KEY,
  ANNOTATION_PAGERDUTY_SERVICE_ID,
} from '@devplane/plugin-oncall-common';
import { OnCallConfig, parseUserList, validateRotation } from './config';
import { OnCallTarget, Rotation } from './providers/types';

/** How to configure on-call, shown by the card when an entity has none. */
export const ONCALL_HELP = [
  'No on-call configuration found for this entity. Either:',
  `- PagerDuty: annotate the component with ${ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID}: <policy id> and ${ANNOTATION_PAGERDUTY_SERVICE_ID}: <service id>, and put the routing key in the backend config oncall.pagerduty.services.<service id>.routingKey;`,
  `- built-in rotation: add one to app-config under oncall.rotations (name = the owning group's name, members, handoffTime, lengthDays), or annotate the owning Group with ${ANNOTATION_ONCALL_MEMBERS}: "anna.jensen, erik.berg" (optional ${ANNOTATION_ONCALL_HANDOFF}: "09:00", ${ANNOTATION_ONCALL_LENGTH_DAYS}: "7"), or point the component at a rotation with ${ANNOTATION_ONCALL_ROTATION}: <name>.`,
].join('\n');

/** Reads a Group's rotation annotations, if it declares members. */
export function rotationFromGroup(group: Entity): Rotation | undefined {
  const a = group.metadata.annotations ?? {};
  const members = parseUserList(a[ANNOTATION_ONCALL_MEMBERS]);
  if (members.length === 0) return undefined;
  return validateRotation({
    name: group.metadata.name,
    members,
    handoffTime: a[ANNOTATION_ONCALL_HANDOFF] ?? '09:00',
    lengthDays: Number(a[ANNOTATION_ONCALL_LENGTH_DAYS] ?? '7'),
    start: a[ANNOTATION_ONCALL_START] ?? '2024-01-01',
    escalation: parseUserList(a[ANNOTATION_ONCALL_ESCALATION]),
    source: 'group',
  });
}

function ownerRef(entity: Entity): string | undefined {
  const relation = entity.relations?.find(r => r.type === RELATION_OWNED_BY);
  if (relation) return relation.targetRef;
  const owner = (entity.spec as { owner?: unknown } | undefined)?.owner;
  if (typeof owner === 'string' && owner) {
    return stringifyEntityRef(
      parseEntityRef(owner, {
        defaultKind: 'group',
        defaultNamespace: entity.metadata.namespace ?? 'default',
      }),
    );
  }
  return undefined;
}

/**
 * Decides which provider answers for an entity. PagerDuty annotations win;
 * otherwise an explicit rotation annotation; otherwise the owning Group's
 * rotation (from config by the group's name, or the Group's annotations).
 */
export async function resolveTarget(
  entity: Entity,
  options: {
    config: OnCallConfig;
    loadGroup: (ref: string) => Promise<Entity | undefined>;
  },
): Promise<OnCallTarget | undefined> {
  const entityRef = stringifyEntityRef(entity);
  const a = entity.metadata.annotations ?? {};
  const policyId = a[ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID];
  const serviceId = a[ANNOTATION_PAGERDUTY_SERVICE_ID];
  const integrationKey = a[ANNOTATION_PAGERDUTY_INTEGRATION_KEY];
  if (policyId || serviceId || integrationKey) {
    const fromConfig = serviceId
      ? options.config.pagerduty?.services[serviceId]
      : undefined;
    return {
      provider: 'pagerduty',
      entityRef,
      serviceId,
      escalationPolicyId: policyId ?? fromConfig?.escalationPolicyId,
      routingKey: fromConfig?.routingKey ?? integrationKey,
    };
  }

  const byName = (name: string) =>
    options.config.rotations.find(r => r.name === name);

  const explicit = a[ANNOTATION_ONCALL_ROTATION];
  if (explicit) {
    const rotation =
      byName(explicit) ??
      rotationFromGroup(
        (await options.loadGroup(
          stringifyEntityRef(
            parseEntityRef(explicit, {
              defaultKind: 'group',
              defaultNamespace: entity.metadata.namespace ?? 'default',
            }),
          ),
        )) ?? { apiVersion: '', kind: '', metadata: { name: explicit } },
      );
    return rotation ? { provider: 'embedded', entityRef, rotation } : undefined;
  }

  const groupRef =
    entity.kind.toLocaleLowerCase('en-US') === 'group'
      ? entityRef
      : ownerRef(entity);
  if (!groupRef || !groupRef.startsWith('group:')) return undefined;
  const groupName = parseEntityRef(groupRef).name;
  const fromConfig = byName(groupName);
  if (fromConfig)
    return { provider: 'embedded', entityRef, rotation: fromConfig };
  const group =
    groupRef === entityRef ? entity : await options.loadGroup(groupRef);
  const fromGroup = group ? rotationFromGroup(group) : undefined;
  return fromGroup
    ? { provider: 'embedded', entityRef, rotation: fromGroup }
    : undefined;
}
