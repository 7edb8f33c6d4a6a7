export { ReleasesContent } from './ReleasesContent';
export {
  EntitySinceYesterdayCard,
  HomeSinceYesterdayCard,
  HomeSinceYesterdayContent,
} from './SinceYesterday';
