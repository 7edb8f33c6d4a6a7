/**
 * On-call backend plugin: PagerDuty and embedded rotations, incident triggering.
 *
 * @packageDocumentation
 */
export { oncallPlugin as default } from './plugin';
export { getServiceFreeze } from './freeze';
export { PagerDutyProvider } from './providers/PagerDutyProvider';
export type { PagerDutyProviderOptions } from './providers/PagerDutyProvider';
export { computeRotation } from './providers/rotation';
export type {
  OnCallProvider,
  OnCallSchedule,
  OnCallTarget,
  Rotation,
  TriggerInput,
} from './providers/types';
