/**
 * Golden path scaffolder actions: five form fields to a service running in production.
 *
 * @packageDocumentation
 */
export { scaffolderModuleGoldenPath as default } from './module';
export * from './actions';
export type { GoldenPathDeps, CatalogAccess } from './lib/deps';
export { catalogAccess, catalogServiceAccess } from './lib/deps';
export { ReleaseManagerClient } from './lib/releaseManager';
export { RepoHosts } from './lib/repoHosts';
export { LocalRepoHost, GithubRepoHost } from './lib/repoHost';
export type { RepoHost, HeadCommit } from './lib/repoHost';
export {
  serviceNameProblem,
  SERVICE_KINDS,
  SERVICE_NAME_PATTERN,
} from './lib/names';
export { platformFiles, pipelineFiles } from './lib/files';
