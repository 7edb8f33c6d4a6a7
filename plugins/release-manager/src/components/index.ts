export { ReleasesContent } from './ReleasesContent';
export {
  EntitySinceYesterdayCard,
  HomeSinceYesterdayCard,
  HomeSinceYesterdayContent,
} from './SinceYesterday';
export { EntityReleaseHealthCard, GroupServicesHealthCard } from './ReleaseHealth';
