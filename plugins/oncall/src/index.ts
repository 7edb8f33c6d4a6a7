/**
 * On-call card: who is on call for a service, and a button that pages them.
 *
 * @packageDocumentation
 */
export { oncallPlugin, EntityOnCallCard } from './plugin';
export { OnCallClient, onCallApiRef } from './api';
export type { OnCallApi } from './api';
