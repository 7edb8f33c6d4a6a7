export { OnCallClient, onCallApiRef } from './OnCallClient';
export type { OnCallApi } from './OnCallClient';
