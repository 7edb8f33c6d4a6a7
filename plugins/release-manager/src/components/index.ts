export { ReleasesContent } from './ReleasesContent';
export {
  EntitySinceYesterdayCard,
  HomeSinceYesterdayCard,
  HomeSinceYesterdayContent,
} from './SinceYesterday';
export { EntityReleaseHealthCard, GroupServicesHealthCard } from './ReleaseHealth';
export { EntityDoraCard, GroupDoraCard, HomeDoraContent } from './Dora/DoraCard';
