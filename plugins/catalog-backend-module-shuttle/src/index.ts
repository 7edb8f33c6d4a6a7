/**
 * Catalog backend module: ownership and facts from shuttle.yaml into catalog entities.
 *
 * @packageDocumentation
 */
export { catalogModuleShuttle as default } from './module';
export * from './shuttle/parseShuttleYaml';
export { ShuttleFileReader } from './shuttle/ShuttleFileReader';
export type { ShuttleFileReaderOptions, ShuttleReadResult } from './shuttle/ShuttleFileReader';
export { guardedGet, isInternalAddress, checkUrlAddress, UnsafeUrlError } from './shuttle/addressGuard';
export { ShuttleProcessor } from './processor/ShuttleProcessor';
export type { ShuttleProcessorOptions, GroupLookup } from './processor/ShuttleProcessor';
export { GroupDirectory } from './processor/GroupDirectory';
export { ShuttleDiscoveryProvider } from './provider/ShuttleDiscoveryProvider';
export type { ShuttleDiscoveryProviderOptions, ShuttleDiscoveryRunResult } from './provider/ShuttleDiscoveryProvider';
export { LocalGitHostRepoSource, GitHubOrgRepoSource } from './provider/sources';
export type { ShuttleRepoSource, ShuttleRepoCandidate } from './provider/sources';
export * from './settings';
