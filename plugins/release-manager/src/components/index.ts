export { ReleasesContent } from './ReleasesContent';
export {
  EntitySinceYesterdayCard,
  HomeSinceYesterdayCard,
  HomeSinceYesterdayContent,
} from './SinceYesterday';
export {
  ApprovalsWaitingForMe,
  ApprovalsWaitingForMeCard,
  FreezeWindowsBanner,
  PendingApprovalsPanel,
} from './Approvals';
export { EntityReleaseHealthCard, GroupServicesHealthCard } from './ReleaseHealth';
export { EntityDoraCard, GroupDoraCard, HomeDoraContent } from './Dora/DoraCard';
