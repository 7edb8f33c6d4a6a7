export { OnCallClient, onCallApiRef, PRODUCTION_ENVIRONMENT } from './OnCallClient';
export type { OnCallApi, ProductionRelease, RollbackOutcome } from './OnCallClient';
