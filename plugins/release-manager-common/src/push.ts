/** One step of turning a push into an artifact and its auto-releases. */
export interface PushStep {
  /** `received`, `artifact`, or `release:<environment>`. */
  step: string;
  status: 'done' | 'refused' | 'failed' | 'skipped';
  message: string;
  at: string;
}

/** Progress of one push on a service repository (`GET /services/:service/pushes`). */
export interface PushProgress {
  id: string;
  service: string;
  repo: string;
  /** Branch that was pushed (the ref actually updated). */
  branch: string;
  sha: string;
  /** Who pushed (credentials of the push), or `anonymous`. */
  pusher: string;
  /** Where the push came from: the local git host or a GitHub webhook. */
  source: 'local-git-host' | 'github';
  artifactId?: string;
  state: 'received' | 'artifact-created' | 'released' | 'refused' | 'failed' | 'skipped';
  steps: PushStep[];
  /** The embedded git host renders manifests only: no container image is built. */
  imageBuilt: false;
  createdAt: string;
  updatedAt: string;
}
