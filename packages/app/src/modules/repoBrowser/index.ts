export { repoBrowserPlugin } from './plugin';
