import { Config } from '@backstage/config';
import { stringifyEntityRef, parseEntityRef } from '@backstage/catalog-model';
import { Rotation } from './providers/types';
import { parseHandoffTime } from './providers/rotation';

/** The backend's reading of `oncall.*` config. */
export type OnCallConfig = {
  rotations: Rotation[];
  pagerduty?: {
    apiToken?: string;
    apiBaseUrl?: string;
    eventsBaseUrl?: string;
    services: Record<
      string,
      { routingKey?: string; escalationPolicyId?: string }
    >;
  };
  rateLimit: { maxTriggers: number; windowMs: number };
  cacheTtlMs: number;
  /** Default for rotations without their own `escalateAfterMinutes`. */
  escalateAfterMs: number;
};

/** `anna.jensen` and `user:default/anna.jensen` both become `user:default/anna.jensen`. */
export function normalizeUserRef(ref: string): string {
  return stringifyEntityRef(
    parseEntityRef(ref.trim(), {
      defaultKind: 'user',
      defaultNamespace: 'default',
    }),
  );
}

/** Splits a comma/whitespace separated annotation value into user refs. */
export function parseUserList(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,\s]+/)
    .map(s => s.trim())
    .filter(Boolean)
    .map(normalizeUserRef);
}

/** Validates a rotation; throws with a message naming where it came from. */
export function validateRotation(rotation: Rotation): Rotation {
  const where = `on-call rotation '${rotation.name}' (${rotation.source})`;
  try {
    parseHandoffTime(rotation.handoffTime);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(rotation.start) ||
    Number.isNaN(Date.parse(rotation.start))
  ) {
    throw new Error(
      `${where}: start '${rotation.start}' must be a date, YYYY-MM-DD`,
    );
  }
  if (!(rotation.lengthDays > 0) || rotation.lengthDays > 366) {
    throw new Error(`${where}: lengthDays must be between 1 and 366`);
  }
  if (
    rotation.escalateAfterMinutes !== undefined &&
    !(rotation.escalateAfterMinutes > 0 && rotation.escalateAfterMinutes <= 1440)
  ) {
    throw new Error(`${where}: escalateAfterMinutes must be between 1 and 1440`);
  }
  if (rotation.members.length === 0) {
    throw new Error(`${where}: needs at least one member`);
  }
  return rotation;
}

export function readOnCallConfig(config: Config): OnCallConfig {
  const root = config.getOptionalConfig('oncall');
  const rotations = (root?.getOptionalConfigArray('rotations') ?? []).map(r =>
    validateRotation({
      name: r.getString('name'),
      members: r.getStringArray('members').map(normalizeUserRef),
      handoffTime: r.getOptionalString('handoffTime') ?? '09:00',
      lengthDays: r.getOptionalNumber('lengthDays') ?? 7,
      start: r.getOptionalString('start') ?? '2024-01-01',
      escalation: (r.getOptionalStringArray('escalation') ?? []).map(
        normalizeUserRef,
      ),
      escalationLevels: r
        .getOptionalConfigArray('escalationLevels')
        ?.map(level => level.getStringArray('users').map(normalizeUserRef)),
      escalateAfterMinutes: r.getOptionalNumber('escalateAfterMinutes'),
      source: 'config',
    }),
  );
  const pd = root?.getOptionalConfig('pagerduty');
  const servicesConfig = pd?.getOptionalConfig('services');
  const services: Record<
    string,
    { routingKey?: string; escalationPolicyId?: string }
  > = {};
  for (const id of servicesConfig?.keys() ?? []) {
    const s = servicesConfig!.getConfig(id);
    services[id] = {
      routingKey: s.getOptionalString('routingKey'),
      escalationPolicyId: s.getOptionalString('escalationPolicyId'),
    };
  }
  return {
    rotations,
    pagerduty: pd
      ? {
          apiToken: pd.getOptionalString('apiToken'),
          apiBaseUrl: pd.getOptionalString('apiBaseUrl'),
          eventsBaseUrl: pd.getOptionalString('eventsBaseUrl'),
          services,
        }
      : undefined,
    rateLimit: {
      maxTriggers: root?.getOptionalNumber('rateLimit.maxTriggers') ?? 3,
      windowMs:
        (root?.getOptionalNumber('rateLimit.windowSeconds') ?? 60) * 1000,
    },
    escalateAfterMs:
      (root?.getOptionalNumber('escalateAfterMinutes') ?? 15) * 60_000,
    cacheTtlMs: (root?.getOptionalNumber('cacheTtlSeconds') ?? 60) * 1000,
  };
}
