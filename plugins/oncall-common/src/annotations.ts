/**
 * Entity annotations read by the on-call plugin.
 *
 * PagerDuty (the same names as Backstage's community PagerDuty plugin, so
 * existing catalogs keep working):
 *
 * - `pagerduty.com/escalation-policy-id` — whose people are on call for the service.
 * - `pagerduty.com/service-id` — the PagerDuty service; its Events API v2 routing
 *   key is looked up in backend config `oncall.pagerduty.services.<service-id>.routingKey`
 *   (preferred: the key never appears in the catalog).
 * - `pagerduty.com/integration-key` — an Events API v2 routing key written into the
 *   entity itself. Accepted for compatibility; the on-call API never returns it, but the
 *   catalog does, so prefer the config route above.
 *
 * Embedded rotations:
 *
 * - `devplane.io/oncall-rotation` on a Component — the name of the rotation to use
 *   (from `oncall.rotations` in config or a Group). Without it, the owning Group's
 *   rotation is used.
 * - On a Group: `devplane.io/oncall-members` (comma separated user refs or names, in
 *   rotation order), `devplane.io/oncall-handoff` (`HH:MM`, UTC, default `09:00`),
 *   `devplane.io/oncall-length-days` (default `7`), `devplane.io/oncall-start`
 *   (ISO date the first member starts, default `2024-01-01`) and
 *   `devplane.io/oncall-escalation` (comma separated user refs paged at level 2).
 */
export const ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID =
  'pagerduty.com/escalation-policy-id';
/** @see ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID */
export const ANNOTATION_PAGERDUTY_SERVICE_ID = 'pagerduty.com/service-id';
/** @see ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID */
export const ANNOTATION_PAGERDUTY_INTEGRATION_KEY =
  'pagerduty.com/integration-key';
/** @see ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID */
export const ANNOTATION_ONCALL_ROTATION = 'devplane.io/oncall-rotation';
/** @see ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID */
export const ANNOTATION_ONCALL_MEMBERS = 'devplane.io/oncall-members';
/** @see ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID */
export const ANNOTATION_ONCALL_HANDOFF = 'devplane.io/oncall-handoff';
/** @see ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID */
export const ANNOTATION_ONCALL_LENGTH_DAYS = 'devplane.io/oncall-length-days';
/** @see ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID */
export const ANNOTATION_ONCALL_START = 'devplane.io/oncall-start';
/** @see ANNOTATION_PAGERDUTY_ESCALATION_POLICY_ID */
export const ANNOTATION_ONCALL_ESCALATION = 'devplane.io/oncall-escalation';
