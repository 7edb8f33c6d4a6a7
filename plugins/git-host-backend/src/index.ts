/**
 * The embedded local git host backend plugin.
 *
 * @packageDocumentation
 */
export { gitHostPlugin as default } from './plugin';
export { createRouter } from './router';
export { seedRepositories } from './seed';
export { parseSmartPath, serveSmartHttp } from './smartHttp';
