export interface Config {
  /** Release manager backend (`@devplane/plugin-release-manager-backend`). */
  releaseManager?: {
    /**
     * Environments in display order (dev → prod). Default: dev, staging, prod (prod production).
     * @visibility frontend
     */
    environments?: Array<{
      /**
       * Environment name, a DNS label; also the top folder in the config repo.
       * @visibility frontend
       */
      name: string;
      /**
       * Whether releasing here needs `release-manager.promote.production`.
       * @visibility frontend
       */
      production?: boolean;
      /**
       * Four-eyes: a person's release, promotion or rollback here becomes a pending approval
       * request that someone else who may release here approves. Default false.
       * @visibility frontend
       */
      requireApproval?: boolean;
      /**
       * Organisation guardrails of this environment: service policies may narrow them, never widen
       * or remove them. Shown as locked in the portal's policies panel.
       * @visibility frontend
       */
      guardrails?: {
        /**
         * Regex (RE2 syntax, linear time) every released artifact's branch must match.
         * Default for production environments `^(master|main)$`; none elsewhere.
         * @visibility frontend
         */
        allowedBranches?: string;
        /**
         * Verify that the artifact's commit is reachable from its claimed branch in the service's
         * source repository (from the catalog) before it enters this environment. Default true
         * wherever `allowedBranches` applies. Turning it off lets an upload's claim stand unchecked.
         * @visibility frontend
         */
        verifyBranch?: boolean;
        /**
         * Kinds manifests may hold (`Deployment` or `apps/Deployment`); absent → every namespaced kind.
         * @visibility frontend
         */
        allowedKinds?: string[];
        /**
         * Namespaces manifests may name besides the service's own. Default none.
         * @visibility frontend
         */
        allowedNamespaces?: string[];
        /**
         * Allow cluster-scoped kinds (Namespace, ClusterRole, CRDs, …). Default false.
         * @visibility frontend
         */
        allowClusterScoped?: boolean;
        /**
         * Who may upload artifacts with manifests for this environment besides the service's owners:
         * user/group entity refs or service principal subjects (e.g. `external:ci`). Absent → anyone
         * with the upload permission (non-production) or the owners only (production).
         * @visibility frontend
         */
        uploaders?: string[];
      };
    }>;
    /** The GitOps config repository. Default: repo `config` on the local git host, created on first start. */
    configRepo?: {
      /** Remote URL (https) of the config repo, e.g. on GitHub. Absent → local git host. */
      url?: string;
      /**
       * Token for the remote URL, sent as an HTTP header; never written to disk.
       * @visibility secret
       */
      token?: string;
      /** Branch Flux watches. Default `main`. */
      branch?: string;
      /** Repository name on the local git host when `url` is absent. Default `config`. */
      name?: string;
      /**
       * On PostgreSQL, replicas take turns writing the branch (an advisory lock around each
       * fetch → sign → push); the longest a write waits for its turn before a 503, in
       * milliseconds (100 to 600000). Default 30000.
       */
      lockWaitMs?: number;
    };
    /** Directory of the working clone. Default `<dataDir>/release-manager/work/...`. */
    workDir?: string;
    /** Slack incoming webhooks. */
    slack?: {
      webhooks?: {
        /**
         * Webhook URL per environment name.
         * @visibility secret
         */
        environments?: { [environment: string]: string };
        /**
         * Webhook URL per squad (owning group name).
         * @visibility secret
         */
        squads?: { [squad: string]: string };
      };
    };
    /** The rollout status webhook (`POST /status`) for cluster agents. */
    statusWebhook?: {
      /**
       * Subjects of the service principals (external access with a subject) allowed to report
       * rollout status. Default none: every other caller gets 403.
       */
      principals?: string[];
    };
    /**
     * OpenPGP signing of every commit the release manager writes (Flux GitRepository
     * `spec.verify`, mode HEAD, accepts them; the public key is at `GET /api/release-manager/signing-key`).
     * Default: an Ed25519 key generated on first start into `<dataDir>/release-manager/gnupg`.
     */
    signing?: {
      /**
       * Armored, unprotected Ed25519 secret key (`gpg --armor --export-secret-keys <fpr>`), for production.
       * @visibility secret
       */
      privateKey?: string;
      /** Isolated GNUPGHOME for the generated key. Default `<dataDir>/release-manager/gnupg`. */
      gnupgHome?: string;
      /** User id name of a generated key. Default `Release Manager`. */
      name?: string;
      /** User id email of a generated key. Default `release-manager@devplane.local`. */
      email?: string;
      /** Group (name) notified when the config repo is changed outside the release manager. Default `platform`. */
      platformGroup?: string;
    };
    /**
     * Flux objects the release manager writes into the config repo with each release:
     * `flux/<env>/gitrepository.yaml` (GitRepository with `spec.verify` mode HEAD against the
     * release manager's public key), `flux/<env>/services.yaml` (root Kustomization) and
     * `flux/<env>/services/<service>.yaml` (one Kustomization per service). Default on.
     */
    flux?: {
      enabled?: boolean;
      /** URL the clusters clone. Default: configRepo.url, else the local git host's clone URL. */
      repoUrl?: string;
      branch?: string;
      /** Namespace of Flux objects. Default flux-system. */
      namespace?: string;
      /** Secret with the release manager's public key. Default release-manager-signing-key. */
      verifySecret?: string;
      /** Secret with git credentials for a private repo. */
      authSecret?: string;
      /** Reconcile interval. Default 1m. */
      interval?: string;
    };
    /**
     * The embedded default's simulated cluster: rolls out what the config repo says, reporting
     * through the status path with `simulated: true` (shown as "simulated"). Turn off in production,
     * where the cluster agent (`@devplane/release-manager-agent`) reports. Default off.
     */
    simulatedCluster?: {
      enabled?: boolean;
      /** Milliseconds per rollout step (one replica). Default 1500. */
      stepMs?: number;
      /** Share of rollouts that crash with a simulated CrashLoopBackOff (0..1). Default 0.1. */
      failureRate?: number;
    };
    /** Pushes to service repositories become artifacts (through the same intake as CI uploads). */
    push?: {
      /** Pushes to the local git host become artifacts. Default true. No container image is built. */
      localGitHost?: boolean;
      github?: {
        /**
         * Secret of the GitHub push webhook (`POST /api/release-manager/webhooks/github`,
         * verified by `X-Hub-Signature-256`). Absent → the webhook answers 404.
         * @visibility secret
         */
        webhookSecret?: string;
      };
    };
    /** Seed the demo services' artifacts and releases on first start. Default false. */
    seedDemo?: boolean;
    /**
     * Refuse releases, promotions and rollbacks into production environments while the service
     * has an open incident (asked from the on-call backend, `GET /api/oncall/services/:name/freeze`).
     * A request body may carry `overrideFreeze: { reason }` to release anyway.
     */
    /** DORA metrics (README "DORA metrics"). */
    dora?: {
      /**
       * A production deployment followed within this many hours by a rollback or an incident of
       * its service counts as a failed change. Default 24, at most 720.
       */
      failureWindowHours?: number;
    };
    incidentFreeze?: {
      /** Default false. */
      enabled?: boolean;
      /** Milliseconds to wait for the on-call backend before releasing unchecked. Default 3000. */
      timeoutMs?: number;
    };
    /** Four-eyes approvals (environments with `requireApproval`). */
    approvals?: {
      /** Hours until a pending request expires (410 on approval afterwards). Default 24. */
      ttlHours?: number;
      /** Whether the author of the artifact's source commit may approve its release. Default false. */
      authorMayApprove?: boolean;
      /** Whether auto-releases (a guarded branch's PR review was the second pair of eyes) skip approval. Default true. */
      exemptAutoReleases?: boolean;
    };
    /** The auditor's export (`GET /audit/export`). */
    audit?: {
      /** Longest from..to range one export may span, in days (larger: 400). Default 366. */
      maxRangeDays?: number;
    };
    /**
     * Scheduled freeze windows: weekly (`from`/`to` like "Fri 16:00"/"Mon 08:00") or dated
     * (`start`/`end` "YYYY-MM-DD[THH:mm]"), wall-clock times in `timeZone` (IANA, default UTC).
     * During a window a release needs break-glass (a reason, and the platform role or a second
     * person's approval).
     * @visibility frontend
     */
    freezeWindows?: Array<{
      /** A DNS label, recorded as the `Freeze-window:` trailer. */
      id: string;
      title?: string;
      /** Default: the production environments. */
      environments?: string[];
      /** Catalog systems (`spec.system`) it freezes; default every service (org-wide). */
      systems?: string[];
      timeZone?: string;
      from?: string;
      to?: string;
      start?: string;
      end?: string;
    }>;
  };
}
