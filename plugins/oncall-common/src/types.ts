/** Which provider answers for an entity. */
export type OnCallProviderId = 'pagerduty' | 'embedded';

/** Incident severity, the four levels of PagerDuty's Events API v2. */
export type IncidentSeverity = 'critical' | 'error' | 'warning' | 'info';

/** All severities, most severe first. */
export const INCIDENT_SEVERITIES: IncidentSeverity[] = [
  'critical',
  'error',
  'warning',
  'info',
];

/** Incident lifecycle. */
export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

/** A person who can be on call, with contact details when known. */
export type OnCallPerson = {
  /** Catalog user ref (embedded) or PagerDuty user id. */
  id: string;
  name: string;
  email?: string;
  /** Link to the person's profile (PagerDuty) or catalog page. */
  url?: string;
  /** Phone numbers, SMS numbers, etc. (PagerDuty contact methods when available). */
  contacts?: { type: string; address: string; label?: string }[];
};

/** One level of an escalation path. */
export type EscalationLevel = {
  level: number;
  people: OnCallPerson[];
};

/** An incident as the card shows it. */
export type Incident = {
  /** Our id (embedded) or the PagerDuty incident id / dedup key. */
  id: string;
  provider: OnCallProviderId;
  /** `component:default/payment-gateway` */
  entityRef: string;
  title: string;
  severity: IncidentSeverity;
  status: IncidentStatus;
  createdAt: string;
  /** When it was resolved (embedded incidents). */
  resolvedAt?: string;
  /** User ref of whoever triggered it (from their credentials). */
  triggeredBy?: string;
  assignedTo?: string;
  acknowledgedBy?: string;
  resolvedBy?: string;
  dedupKey?: string;
  url?: string;
  /** Whether acknowledge/resolve can be done from the portal. */
  actionable: boolean;
  /** Escalation level paged last (embedded): 1 = whoever was on call, 2 = the next level, ... */
  escalationLevel?: number;
  /** How many levels the incident's escalation path has (embedded). */
  escalationLevels?: number;
  /** Everybody who reported it (the first reporter, then whoever joined), user refs. */
  reporters?: string[];
  /** What happened to the incident, oldest first (embedded). */
  timeline?: IncidentEvent[];
};

/** One step in an incident's life, as the card shows it. */
export type IncidentEvent = {
  at: string;
  type:
    | 'triggered'
    | 'joined'
    | 'paged'
    | 'escalated'
    | 'notification-failed'
    | 'acknowledged'
    | 'resolved';
  /** Who did it (user ref), when a person did. */
  actor?: string;
  /** The escalation level paged (paged / escalated / notification-failed). */
  level?: number;
  /** Who was paged (user refs). */
  people?: string[];
  detail?: string;
};

/** Answer of `GET /entities/:kind/:namespace/:name/oncall`. */
export type OnCallResponse =
  | {
      configured: false;
      /** Human readable how-to for adding on-call configuration. */
      help: string;
    }
  | {
      configured: true;
      provider: OnCallProviderId;
      /** Rotation name (embedded) or escalation policy id (PagerDuty). */
      schedule: string;
      now: OnCallPerson[];
      next: OnCallPerson[];
      /** When the current shift ends, when known. */
      handoffAt?: string;
      escalation: EscalationLevel[];
      openIncidents: Incident[];
      canTrigger: boolean;
    };

/** Answer of `GET /services/:name/incidents?since=` (read by the release manager's DORA metrics). */
export type ServiceIncidents = {
  service: string;
  since: string;
  /** Incidents opened or resolved since `since`, and all still open; oldest first. */
  incidents: Incident[];
  /** More matched than the answer carries (the newest were left off). */
  truncated: boolean;
};

/** Body of `POST /entities/:kind/:namespace/:name/incidents`. */
export type TriggerIncidentRequest = {
  description: string;
  severity?: IncidentSeverity;
};

/** Answer of `POST /entities/.../incidents`. */
export type TriggerIncidentResponse = {
  incident: Incident;
  /** True when the dedup key matched an already open incident. */
  deduplicated: boolean;
  /**
   * True when somebody else had already reported the same outage (same service, same summary)
   * and the caller was added to that open incident instead of opening a second one.
   */
  joined?: boolean;
};

/** Answer of `GET /services/:name/freeze`. */
export type ServiceFreeze = {
  service: string;
  frozen: boolean;
  reason?: string;
  incidents: Incident[];
};

/**
 * Signals channel on which the on-call backend announces that an incident of the entity changed
 * (triggered, joined, paged, escalated, acknowledged, resolved). Payload `{ entityRef }`.
 */
export function oncallSignalChannel(entityRef: string): string {
  return `oncall:${entityRef}`;
}
