export { ReleasesContent } from './ReleasesContent';
export { EntitySinceYesterdayCard } from './SinceYesterday';
export { HomeSinceYesterdayCard, HomeSinceYesterdayContent } from './Home/MySinceYesterday';
export {
  ApprovalsWaitingForMe,
  FreezeWindowsBanner,
  PendingApprovalsPanel,
} from './Approvals';
export { EntityReleaseHealthCard, GroupServicesHealthCard } from './ReleaseHealth';
export { EntityDoraCard, GroupDoraCard, HomeDoraContent } from './Dora/DoraCard';
export { AuditExportPage, AuditExportContent } from './Audit/AuditExportPage';
