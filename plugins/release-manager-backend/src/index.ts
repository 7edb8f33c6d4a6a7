/**
 * Release manager backend: artifacts, policies, GitOps promotion, release log, notifications.
 *
 * @packageDocumentation
 */
export { releaseManagerPlugin as default } from './plugin';
export { ReleaseManagerStore } from './database/ReleaseManagerStore';
export type { NewArtifact, NewRelease, RolloutUpdate } from './database/ReleaseManagerStore';
export { LocalDirectoryBlobStore } from './blobs/BlobStore';
export { DatabaseBlobStore } from './blobs/DatabaseBlobStore';
export type { BlobStore } from './blobs/BlobStore';
export { GitOpsWriter } from './git/GitOpsWriter';
export type {
  GitOpsWriterOptions,
  GitPerson,
  WorkTree,
  WriteJob,
  JobOutcome,
  WriteResult,
  CommitRecord,
} from './git/GitOpsWriter';
export {
  releaseCommitMessage,
  releaseCommitTitle,
  parseTrailers,
  releaseInfoFromMessage,
} from './git/commitMessage';
export type { ReleaseCommitInfo } from './git/commitMessage';
export { ReleaseManager, validateUpload, releaseDir, LIMITS } from './service/ReleaseManager';
export type { Actor, ReleaseManagerOptions } from './service/ReleaseManager';
export { Notifier } from './service/Notifier';
export type { SlackWebhooks, ReleaseEvent } from './service/Notifier';
export * from './service/policies';
export { unifiedDiff } from './service/unifiedDiff';
export { createRouter } from './service/router';
export type { RouterOptions } from './service/router';
export { openApiDocument } from './service/openapi';
export { readReleaseManagerConfig, DEFAULT_ENVIRONMENTS } from './config';
export type { ReleaseManagerConfig } from './config';
export { seedDemo, renderDemoManifests } from './seed/demoSeed';
