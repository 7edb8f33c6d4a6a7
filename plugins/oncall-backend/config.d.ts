export interface Config {
  /** On-call: who is on call and incident triggering (plugin `oncall`). */
  oncall?: {
    /**
     * Built-in rotations. A rotation whose name equals a Group's name is used
     * for every entity that group owns; components can also name one with the
     * `devplane.io/oncall-rotation` annotation.
     */
    rotations?: Array<{
      name: string;
      /** User entity refs or plain user names, in rotation order. */
      members: string[];
      /** `HH:MM`, UTC. Default `09:00`. */
      handoffTime?: string;
      /** Shift length in days. Default 7. */
      lengthDays?: number;
      /** `YYYY-MM-DD`, the day the first member's first shift starts. Default `2024-01-01`. */
      start?: string;
      /** Users paged at level 2. Default: whoever is next in the rotation. */
      escalation?: string[];
      /** Levels paged after level 1, in order (level 2, 3, ...); replaces `escalation` when given. */
      escalationLevels?: Array<{ users: string[] }>;
      /** An unacknowledged incident pages the next level after this many minutes. */
      escalateAfterMinutes?: number;
    }>;
    /** Default minutes before an unacknowledged embedded incident pages the next level. Default 15. */
    escalateAfterMinutes?: number;
    /** Triggers per person and service within the window. Default 3 per 60 s. */
    rateLimit?: {
      maxTriggers?: number;
      windowSeconds?: number;
    };
    /** Who-is-on-call cache TTL per escalation policy. Default 60. */
    cacheTtlSeconds?: number;
    pagerduty?: {
      /**
       * REST API token, sent as `Authorization: Token token=...`.
       * @visibility secret
       */
      apiToken?: string;
      /** Default `https://api.pagerduty.com`. */
      apiBaseUrl?: string;
      /** Default `https://events.pagerduty.com`. */
      eventsBaseUrl?: string;
      /** Per PagerDuty service id (the `pagerduty.com/service-id` annotation). */
      services?: {
        [serviceId: string]: {
          /**
           * Events API v2 routing (integration) key.
           * @visibility secret
           */
          routingKey?: string;
          /** Used when the entity has no `pagerduty.com/escalation-policy-id` annotation. */
          escalationPolicyId?: string;
        };
      };
    };
  };
}
