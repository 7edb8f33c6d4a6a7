/**
 * Kubernetes annotations the release manager puts on every workload it writes to the config
 * repo (and on the workload's pod template, so pods carry them too). The cluster agent watches
 * objects carrying {@link ARTIFACT_ID_ANNOTATION} and reports their rollout with these values.
 */
export const ARTIFACT_ID_ANNOTATION = 'release-manager.devplane.io/artifact-id';
/** Service (release manager name) of the workload. */
export const SERVICE_ANNOTATION = 'release-manager.devplane.io/service';
/** Environment the manifests were rendered for. */
export const ENVIRONMENT_ANNOTATION = 'release-manager.devplane.io/environment';

/** Kinds the release manager annotates and the cluster agent watches. */
export const WATCHED_WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod'] as const;
