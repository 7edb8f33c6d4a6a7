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
  /** User ref of whoever triggered it (from their credentials). */
  triggeredBy?: string;
  assignedTo?: string;
  acknowledgedBy?: string;
  resolvedBy?: string;
  dedupKey?: string;
  url?: string;
  /** Whether acknowledge/resolve can be done from the portal. */
  actionable: boolean;
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
};

/** Answer of `GET /services/:name/freeze`. */
export type ServiceFreeze = {
  service: string;
  frozen: boolean;
  reason?: string;
  incidents: Incident[];
};
