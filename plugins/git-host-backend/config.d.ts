export interface Config {
  devplane?: {
    /** Local data directory (SQLite files, git repositories, blobs). Default: `.data` at the repo root. */
    dataDir?: string;
  };
  gitHost?: {
    /** Directory of the bare repositories. Default: `<dataDir>/git`. */
    rootDir?: string;
    /** Public base URL of the repositories. Default: `<backend.baseUrl>/api/git-host/repos`. */
    baseUrl?: string;
    /** Default branch of new repositories. Default `main`. */
    defaultBranch?: string;
    /**
     * Allow `git push` over HTTP with a Backstage token (user token, or an external-access static
     * token with a subject for CI); anonymous pushes get 401. Never to the release manager's config
     * repo (`releaseManager.configRepo.name`). Default false; the local app-config enables it.
     */
    allowPush?: boolean;
    /** Directory whose sub-directories are imported as repositories when missing (the demo services). */
    seedFrom?: string;
  };
}
