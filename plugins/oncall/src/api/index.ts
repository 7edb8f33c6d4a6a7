export { OnCallClient, onCallApiRef, PRODUCTION_ENVIRONMENT } from './OnCallClient';
export type {
  OnCallApi,
  ProductionRelease,
  RollbackIncident,
  RollbackOutcome,
  RollbackPreview,
} from './OnCallClient';
