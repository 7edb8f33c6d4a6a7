/**
 * Wire types of the release manager REST API (`/api/release-manager`).
 * Formats follow ARCHITECTURE.md (compatible with Lunar's release manager / hamctl).
 */

/** The application commit an artifact was built from. */
export interface ArtifactApplication {
  branch: string;
  sha: string;
  authorName: string;
  authorEmail: string;
  committerName?: string;
  committerEmail?: string;
  message: string;
  name: string;
  url?: string;
  provider?: string;
  /** ISO time of the source commit (its committer date): where DORA's lead time for changes starts. */
  committedAt?: string;
}

/** CI job that produced an artifact. */
export interface ArtifactCi {
  jobUrl?: string;
  start?: string;
  end?: string;
}

/** The artifact spec CI uploads (artifact.json). */
export interface ArtifactSpec {
  /** `<branch>-<app-sha10>-<plan-sha10>` by convention. */
  id: string;
  service: string;
  namespace: string;
  squad?: string;
  application: ArtifactApplication;
  ci?: ArtifactCi;
  shuttle?: { plan?: Record<string, unknown>; shuttleVersion?: string };
  stages?: Array<{ id: string; name: string; data?: Record<string, unknown> }>;
}

/** Upload body: the spec plus the rendered manifests per environment (file name → YAML text). */
export interface ArtifactUpload {
  spec: ArtifactSpec;
  manifests: Record<string, Record<string, string>>;
}

/** An artifact as listed by the API. */
export interface Artifact {
  id: string;
  service: string;
  namespace: string;
  branch: string;
  sha: string;
  message: string;
  authorName: string;
  authorEmail: string;
  ciJobUrl?: string;
  createdAt: string;
  createdBy: string;
  /** Environments this artifact carries manifests for. */
  environments: string[];
  spec: ArtifactSpec;
}

/** A configured environment. */
export interface Environment {
  name: string;
  production: boolean;
  /** Display order, lowest first (dev → staging → prod). */
  order: number;
  /** Four-eyes: a person's release, promotion or rollback here needs someone else's approval. */
  requireApproval?: boolean;
}

/** Why a release happened. */
export type ReleaseIntent = 'release' | 'promote' | 'rollback' | 'auto-release';

/** Every {@link ReleaseIntent}, for validation and filters. */
export const RELEASE_INTENTS: readonly ReleaseIntent[] = ['release', 'promote', 'rollback', 'auto-release'];

/** Rollout state reported by cluster agents through the status webhook. */
export type RolloutState = 'pending' | 'progressing' | 'succeeded' | 'failed';

/** One release: one commit in the config repo. */
export interface Release {
  /** Commit sha in the config repo. */
  id: string;
  service: string;
  environment: string;
  namespace: string;
  artifactId: string;
  intent: ReleaseIntent;
  releasedBy: string;
  releasedAt: string;
  branch?: string;
  promotedFrom?: string;
  rollbackOf?: string;
  reason?: string;
  /** Trailers of the commit (ARCHITECTURE.md; issue 14): who approved it (four-eyes), the request it applied. */
  approvedBy?: string;
  approvalRequest?: string;
  /** Break-glass reason: released without the required approval or inside a freeze (platform only). */
  breakGlass?: string;
  /** Production freeze overridden: the reason, and the scheduled window id if one was in force. */
  freezeOverride?: string;
  freezeWindow?: string;
  /** Auto-release: whose policy carried the authority, and who uploaded the artifact. */
  policyAuthor?: string;
  uploadedBy?: string;
  commitTitle: string;
  rollout: {
    state: RolloutState;
    ready?: number;
    desired?: number;
    message?: string;
    logLines?: string[];
    /** Why it failed, in Kubernetes' words: CrashLoopBackOff, OOMKilled, CreateContainerConfigError, JobFailed, ReconciliationFailed. */
    reason?: string;
    /** Reported by the embedded simulated cluster, not by a real cluster agent. */
    simulated?: boolean;
    updatedAt?: string;
  };
}

/**
 * A commit that changed `<env>/releases/` or `policies/` in the config repo without a good
 * signature by the release manager's key. Never recorded as a release; the release manager
 * writes nothing to the repo until platform reverts or adopts it.
 */
export interface OutsideChange {
  commit: string;
  committedAt: string;
  /** Who pushed it, as far as git can tell (the committer it claims; unverified). */
  pusher: string;
  /** The author it claims (unverified). */
  author: string;
  subject: string;
  /** Paths it changed (first 100). */
  paths: string[];
  /** Environments whose release folders it changed. */
  environments: string[];
  /** 'none': unsigned or signed by another key; 'bad': our key, but the content does not match. */
  signature: 'none' | 'bad';
}

/** What runs in one environment for one service. */
export interface EnvironmentStatus {
  environment: string;
  production: boolean;
  /** Last config repo commit that changed this service's folder in this environment (pin it). */
  commit?: string;
  release?: Release;
  artifact?: Artifact;
  /**
   * Undecided changes made outside the release manager to this environment's releases (or to
   * the repo's policies): shown as "changed outside the release manager".
   */
  outsideChanges?: OutsideChange[];
}

/** Auto-release policy: artifacts from `branch` go to `environment` by themselves. */
export interface AutoReleasePolicy {
  id: string;
  branch: string;
  environment: string;
  /**
   * Who set the policy (email or entity ref): auto-releases carry this person's authority and
   * name them in the commit (`Auto-release-policy-by:`). Auto-release into production needs it.
   */
  setBy?: string;
}

/** Branch restriction: only branches matching `branchRegex` may reach `environment`. */
export interface BranchRestrictionPolicy {
  id: string;
  branchRegex: string;
  environment: string;
}

/** policies/<service>.json in the config repo. */
export interface ServicePolicies {
  service: string;
  autoReleases: AutoReleasePolicy[];
  branchRestrictions: BranchRestrictionPolicy[];
  /**
   * The organisation's guardrails per environment (from config; read-only, never in the file).
   * Service policies only narrow them.
   */
  guardrails?: GuardrailView[];
}

/** An environment's organisation guardrails as configured (`releaseManager.environments[].guardrails`). */
export interface GuardrailView {
  environment: string;
  /** Regex every branch released here must match (RE2 syntax). */
  allowedBranches?: string;
  /** Where `allowedBranches` comes from: a config path or "default for production environments". */
  allowedBranchesSource?: string;
  /** Whether an artifact's claimed branch is verified in its source repository. */
  verifyBranch: boolean;
  allowedKinds?: string[];
  allowedNamespaces: string[];
  allowClusterScoped: boolean;
  uploaders?: string[];
  /** Config path of these guardrails. */
  source: string;
}

/**
 * What the user saw when they asked for a release, promotion or rollback. When either moved
 * before the write, the server answers 409 {@link STALE_PIN_ERROR} with what changed and writes
 * nothing.
 */
export interface ActionPin {
  /** The artifact the user saw ship (promote: what ran in the source environment; rollback: the target). */
  artifactId?: string;
  /**
   * The config repo commit the user saw for the target environment's folder of the service
   * (`EnvironmentStatus.commit`), or the repo HEAD; `''` when nothing ran there yet.
   */
  environmentCommit?: string;
}

/** Error name of a 409 for a pinned action whose artifact or environment moved. */
export const STALE_PIN_ERROR = 'ChangedSinceYouLookedError';

/**
 * Explicit override of the production incident freeze. The server refuses production
 * releases while the service has an open incident (409 {@link PRODUCTION_FROZEN_ERROR});
 * sent with a reason, the release goes ahead and the reason is recorded as the commit
 * trailer `Freeze-override:`. Ignored when nothing is frozen.
 */
export interface FreezeOverride {
  /** Why the release cannot wait: non-blank, at most {@link FREEZE_OVERRIDE_REASON_MAX_LENGTH} characters. */
  reason: string;
}

/** Error name (`error.name` of the error body) of a release refused by the incident freeze. */
export const PRODUCTION_FROZEN_ERROR = 'ProductionFrozenError';

/** Longest freeze override reason the server accepts. */
export const FREEZE_OVERRIDE_REASON_MAX_LENGTH = 500;

/**
 * Break-glass (issue 14): release without the required approval, or inside a freeze window or an
 * incident freeze. With the break-glass permission (platform) the change is written at once with a
 * `Break-glass:` trailer; without it, a reason turns the change into an approval request that a
 * second person must approve. The reason is required and recorded everywhere.
 */
export interface BreakGlass {
  /** Why this cannot wait: non-blank, one line, at most 500 characters. */
  reason: string;
}

/** Request bodies. Identity never travels in a body: it comes from credentials. */
export interface ReleaseRequest {
  service: string;
  environment: string;
  artifactId: string;
  reason?: string;
  /** Release into a frozen production anyway. */
  overrideFreeze?: FreezeOverride;
  /** Release without the required approval / inside a freeze (see {@link BreakGlass}). */
  breakGlass?: BreakGlass;
  /** What the user saw (409 when it moved). */
  pin?: ActionPin;
}

export interface PromoteRequest {
  service: string;
  fromEnvironment: string;
  toEnvironment: string;
  reason?: string;
  /** Promote into a frozen production anyway. */
  overrideFreeze?: FreezeOverride;
  breakGlass?: BreakGlass;
  /** What the user saw: the source environment's artifact and the target's commit (409 when either moved). */
  pin?: ActionPin;
}

export interface RollbackRequest {
  service: string;
  environment: string;
  /** Earlier artifact to return to; default: the one before the current. */
  artifactId?: string;
  reason?: string;
  /** Roll back a frozen production anyway. */
  overrideFreeze?: FreezeOverride;
  breakGlass?: BreakGlass;
  /** What the user saw: the rollback target and the environment's commit (409 when either moved). */
  pin?: ActionPin;
}

/** Result of release / promote / rollback. */
export interface ReleaseResult {
  /** false when the artifact already ran there: nothing was committed. */
  changed: boolean;
  message: string;
  release?: Release;
  /**
   * Four-eyes: the change needs someone else's approval. Nothing was written; this pending
   * request was stored instead (HTTP 202).
   */
  approval?: ApprovalRequest;
}

/** State of an approval request. `applying` is the short moment between approval and commit. */
export type ApprovalStatus =
  | 'pending'
  | 'applying'
  | 'approved'
  | 'rejected'
  | 'stale'
  | 'expired';

/**
 * A four-eyes approval request (issue 14): a change someone asked for and nobody has written yet.
 * It lives in the database (a request, not a change); once approved, the result is a release
 * commit in the config repo carrying `Approved-by:` and `Approval-request:` trailers.
 */
export interface ApprovalRequest {
  id: string;
  service: string;
  environment: string;
  /** The exact artifact that will be written when approved. */
  artifactId: string;
  intent: ReleaseIntent;
  promotedFrom?: string;
  rollbackOf?: string;
  reason?: string;
  /** Requester: email (as in commits) and entity ref. */
  requestedBy: string;
  requestedByRef: string;
  requestedAt: string;
  expiresAt: string;
  /** The environment commit the request was made against; approval writes only onto this commit. */
  environmentCommit: string;
  /** What ran in the environment when requested ('' when nothing). */
  runningArtifactId?: string;
  /** Author of the artifact's source commit (may not approve unless configured). */
  artifactAuthor: string;
  branch: string;
  squad?: string;
  /** The policy engine's verdict when requested. */
  verdict: PolicyVerdict;
  /** Manifest diff the approver reviews (against `environmentCommit`). */
  diff: ManifestDiff;
  /** Why the change needs approval: the environment requires it, and/or a freeze is in force. */
  why: string[];
  /** Break-glass / freeze override reason asked for by a person without the break-glass permission. */
  breakGlass?: string;
  /** The freeze window (id) in force when requested, if any. */
  freezeWindow?: string;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedByRef?: string;
  decidedAt?: string;
  /** Reject reason or why it became stale. */
  decisionComment?: string;
  /** The release commit written on approval. */
  releaseId?: string;
  /**
   * For the caller: whether they may approve it, and if not, why (the requester, the artifact's
   * author, not an owner). Only on answers to a signed-in user.
   */
  canApprove?: { allowed: boolean; reason?: string };
}

/** Body of `POST /approvals/:id/approve` and `/reject`. The approver comes from credentials. */
export interface ApprovalDecision {
  /** Optional comment; required for a rejection. */
  comment?: string;
}

/** A freeze window as configured (`releaseManager.freezeWindows`), and when it is in force. */
export interface FreezeWindowView {
  id: string;
  title: string;
  /** Environments it freezes. */
  environments: string[];
  /** Systems it freezes (catalog `spec.system` of the service); absent → org-wide. */
  systems?: string[];
  /** Human description, e.g. "every Fri 16:00 – Mon 08:00 Europe/Copenhagen". */
  schedule: string;
  kind: 'weekly' | 'dated' | 'incident';
  /** The occurrence in force now, if any. */
  current?: { start: string; end: string };
  /** The next occurrences (up to 3) within the horizon asked for. */
  upcoming: Array<{ start: string; end: string }>;
}

/** Error name of a 410: the approval request expired. */
export const APPROVAL_EXPIRED_ERROR = 'ApprovalExpiredError';
/** Error name of a 409: the environment moved since the request; nothing was written. */
export const APPROVAL_STALE_ERROR = 'ApprovalStaleError';
/** Error name of a 409: a freeze window or incident freeze is in force. */
export const FREEZE_WINDOW_ERROR = 'ProductionFrozenError';

/** Verdict of the policy engine for one artifact and environment. */
export interface PolicyVerdict {
  allowed: boolean;
  reason?: string;
}

/** Manifest-level diff between what runs in an environment and a candidate artifact. */
export interface ManifestDiff {
  environment: string;
  /**
   * The config repo commit of the environment's folder this diff was made against ('' when
   * nothing ran there): send it back as `pin.environmentCommit` so that what ships is this diff.
   */
  environmentCommit?: string;
  fromArtifactId?: string;
  toArtifactId: string;
  files: Array<{
    path: string;
    change: 'added' | 'removed' | 'modified' | 'unchanged';
    /** Unified diff text for modified/added/removed files. */
    patch?: string;
  }>;
}

/** Status webhook body from cluster agents. */
export interface RolloutStatusReport {
  service: string;
  environment: string;
  artifactId: string;
  state: RolloutState;
  ready?: number;
  desired?: number;
  message?: string;
  /** The crashing container's last log lines (at most 100; agents send the last 30). */
  logLines?: string[];
  /** Why it failed, in Kubernetes' words (CrashLoopBackOff, OOMKilled, CreateContainerConfigError, JobFailed, ReconciliationFailed). */
  reason?: string;
  /** True when the report comes from the embedded simulated cluster, not a real one. */
  simulated?: boolean;
}

/** Paged list response. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
  total?: number;
}

/** Event kinds of the release log, sent as notifications and signals. */
export type ReleaseEventKind =
  | 'released'
  | 'auto-released'
  | 'rolled-back'
  | 'release-failed'
  | 'rollout-status'
  | 'artifact-uploaded'
  | 'outside-change'
  | 'push-progress'
  | 'approval-requested'
  | 'approval-decided';

/** Payload of the signal on channel `release-manager:<service>` and `release-manager`. */
export interface ReleaseSignal {
  kind: ReleaseEventKind;
  service: string;
  environment?: string;
  artifactId?: string;
  releaseId?: string;
}

/** Formats of `GET /audit/export`. */
export type AuditExportFormat = 'csv' | 'ndjson';

/** What a row of the audit export records. */
export type AuditChangeKind =
  | ReleaseIntent
  | 'policy-change'
  | 'outside-change'
  | 'outside-decision';

/**
 * The columns of the auditor's export, in order (CSV header and NDJSON key order). Built from
 * the config repo's verified history; `rollout_outcome` is the one column from cluster agents'
 * status reports (`rollout_source` says so; empty when none was reported).
 */
export const AUDIT_EXPORT_COLUMNS = [
  'commit',
  'seq',
  'committed_at',
  'environment',
  'service',
  'namespace',
  'squad',
  'kind',
  'requested_by',
  'approved_by',
  'approval_request',
  'artifact',
  'source_repo',
  'source_branch',
  'source_commit',
  'source_author',
  'rollout_outcome',
  'rollout_source',
  'signature',
  'signature_verified',
  'freeze_override',
  'freeze_window',
  'break_glass',
  'break_glass_reason',
  'reason',
  'detail',
] as const;

/** One row of the auditor's export (one change to one service in one environment). */
export interface AuditExportRow {
  /** Config repo commit. */
  commit: string;
  /** Position in the config repo's first-parent history (1 = root): the export's order. */
  seq: number;
  /** Committer time, ISO. */
  committed_at: string;
  /** '' for policy changes and outside decisions that touch no release folder. */
  environment: string;
  service: string;
  namespace: string;
  /** The squad the artifact's spec names (as uploaded by CI), releases only. */
  squad: string;
  kind: AuditChangeKind;
  /** Who asked: the releaser, the policy author, the platform member deciding, or (outside changes) the committer git records. */
  requested_by: string;
  approved_by: string;
  approval_request: string;
  artifact: string;
  source_repo: string;
  source_branch: string;
  source_commit: string;
  source_author: string;
  rollout_outcome: '' | RolloutState;
  rollout_source: '' | 'status-report';
  /** The release manager's signature on the commit: good, bad or none. */
  signature: 'good' | 'bad' | 'none';
  signature_verified: boolean;
  /** The freeze override reason (incident freeze). */
  freeze_override: string;
  freeze_window: string;
  break_glass: boolean;
  break_glass_reason: string;
  /** The release's reason paragraph. */
  reason: string;
  /** The commit subject; for outside decisions, the decision and the commits it covers. */
  detail: string;
}
