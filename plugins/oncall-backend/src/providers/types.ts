import {
  EscalationLevel,
  Incident,
  IncidentSeverity,
  OnCallPerson,
  OnCallProviderId,
} from '@devplane/plugin-oncall-common';

/** A rotation of the embedded provider. */
export type Rotation = {
  name: string;
  /** User entity refs, in rotation order. */
  members: string[];
  /** `HH:MM` in UTC. */
  handoffTime: string;
  lengthDays: number;
  /** ISO date (`YYYY-MM-DD`) the first member's first shift starts. */
  start: string;
  /** Paged at level 2; defaults to whoever is next in the rotation. */
  escalation: string[];
  /**
   * Levels paged after level 1, in order (level 2, level 3, ...). When given it replaces
   * `escalation`; otherwise level 2 is `escalation` (or whoever is next in the rotation).
   */
  escalationLevels?: string[][];
  /** An unacknowledged incident pages the next level after this many minutes. */
  escalateAfterMinutes?: number;
  /** Where it was declared, for diagnostics. */
  source: 'config' | 'group';
};

/** What an entity resolves to: which provider, and the provider's own coordinates. */
export type OnCallTarget =
  | {
      provider: 'pagerduty';
      entityRef: string;
      escalationPolicyId?: string;
      serviceId?: string;
      /** Events API v2 routing key. Backend only; never serialised to a response. */
      routingKey?: string;
    }
  | {
      provider: 'embedded';
      entityRef: string;
      rotation: Rotation;
    };

/** Who is on call, as a provider answers it. */
export type OnCallSchedule = {
  schedule: string;
  now: OnCallPerson[];
  next: OnCallPerson[];
  handoffAt?: string;
  escalation: EscalationLevel[];
};

/** A trigger, after the router has authenticated, authorised and rate-limited it. */
export type TriggerInput = {
  description: string;
  severity: IncidentSeverity;
  /** From the caller's credentials. */
  triggeredBy: string;
  dedupKey: string;
};

/** One on-call backend (PagerDuty, embedded, ...). */
export interface OnCallProvider<TTarget extends OnCallTarget = OnCallTarget> {
  readonly id: OnCallProviderId;
  getOnCall(target: TTarget): Promise<OnCallSchedule>;
  listOpenIncidents(target: TTarget): Promise<Incident[]>;
  trigger(
    target: TTarget,
    input: TriggerInput,
  ): Promise<{ incident: Incident; deduplicated: boolean; joined?: boolean }>;
}
