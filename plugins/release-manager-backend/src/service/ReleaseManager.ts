import type {
  FreezeWindowView,
  Artifact,
  ArtifactUpload,
  EnvironmentStatus,
  ManifestDiff,
  Page,
  PolicyVerdict,
  PromoteRequest,
  Release,
  ReleaseRequest,
  ReleaseResult,
  RollbackRequest,
  RolloutStatusReport,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';
import { AuditExport } from '../audit/AuditExport';
import type { ReleaseFilter } from '../database/ReleaseManagerStore';
import type { CommitSigner } from '../git/Signer';
import { gatedPath, HistoryReader } from '../history/HistoryReader';
import { OutsideDecisions } from '../history/OutsideDecisions';
import { GitSync } from '../sync/GitSync';
import { ArtifactService } from './ArtifactService';
import { Actor, ReleaseManagerOptions, ReleaseManagerPart, ReleaseOptions } from './context';
import { PolicyService } from './PolicyService';
import { ApprovalService, Decider } from './ApprovalService';
import { FreezeWindows } from './freezeWindows';
import { ReleaseService } from './ReleaseService';
import { StateService } from './StateService';

export { LIMITS, validateUpload } from './uploadValidation';
export { releaseDir } from '../git/paths';
export type { Actor, FreezeOverride, ReleaseManagerOptions, ReleaseOptions } from './context';

/**
 * The release manager's domain, as one facade over its parts (each in its own file):
 * - upload validation: `uploadValidation.ts`; artifacts: `ArtifactService.ts`
 * - policies: `PolicyService.ts`
 * - release service (release, promote, rollback): `ReleaseService.ts`
 * - history/state reader (status, log, diff, rollout status): `StateService.ts`
 * - sync of the database index from git: `../sync/GitSync.ts`
 */
export class ReleaseManager extends ReleaseManagerPart {
  readonly artifacts: ArtifactService;
  readonly policies: PolicyService;
  readonly releases: ReleaseService;
  readonly state: StateService;
  readonly sync: GitSync;
  /** The verified history reader (one path for status, log, promote source, rollback target). */
  readonly reader: HistoryReader;
  readonly signer: CommitSigner;
  readonly outsideDecisions: OutsideDecisions;
  /** Four-eyes approval requests and freeze windows. */
  readonly approvals: ApprovalService;
  readonly freezeWindows: FreezeWindows;
  /** The auditor's export, from the verified history. */
  readonly audit: AuditExport;

  constructor(options: ReleaseManagerOptions) {
    super(options);
    this.signer = options.signer;
    this.reader = new HistoryReader({
      cwd: options.writer.workDir,
      ref: options.writer.originRef,
      signer: options.signer,
      // refs read through the writer's object reader: no rev-parse process per status or pin
      resolveRef: typeof options.writer.resolveRef === 'function' ? ref => options.writer.resolveRef(ref) : undefined,
    });
    options.writer.configureTrust({
      signer: options.signer,
      gate: tip => this.reader.assertWritable(tip),
      // commits that change none of these cannot make the gate refuse (see GitOpsWriter)
      gatedPath,
      // another replica's pushes, handed over through the push lock: built on only when signed by us
      handedOver: (from, commits) => this.reader.absorbWritten(from, commits),
    });
    this.artifacts = new ArtifactService(options);
    this.policies = new PolicyService(options);
    this.releases = new ReleaseService(options);
    this.state = new StateService(options);
    this.sync = new GitSync(options);
    this.outsideDecisions = new OutsideDecisions(options);
    this.freezeWindows = new FreezeWindows(options.freezeWindows ?? []);
    this.approvals = new ApprovalService(options);
    this.audit = new AuditExport(options);
    this.audit.reader = this.reader;
    this.approvals.approvalStore = options.approvals?.store;
    if (options.approvals?.settings) this.approvals.settings = options.approvals.settings;
    this.approvals.windows = this.freezeWindows;
    if (options.systemOf) this.approvals.systemOf = options.systemOf;
    this.approvals.releases = this.releases;
    this.approvals.state = this.state;
    this.releases.approvals = this.approvals;
    if (!options.approvals?.store && options.environments.some(e => e.requireApproval)) {
      throw new Error('an environment requires approval but the release manager has no approval store');
    }
    this.outsideDecisions.reader = this.reader;
    this.outsideDecisions.sync = this.sync;
    this.artifacts.policies = this.policies;
    this.artifacts.releases = this.releases;
    this.policies.artifacts = this.artifacts;
    this.releases.artifacts = this.artifacts;
    this.releases.state = this.state;
    this.state.artifacts = this.artifacts;
    this.state.sync = this.sync;
    this.sync.artifacts = this.artifacts;
    this.releases.sync = this.sync;
    this.state.reader = this.reader;
    this.sync.reader = this.reader;
  }

  // --- artifacts -------------------------------------------------------------
  manifestsOf(artifact: Artifact) {
    return this.artifacts.manifestsOf(artifact);
  }
  uploadArtifact(upload: ArtifactUpload, actor: Actor) {
    return this.artifacts.uploadArtifact(upload, actor);
  }
  getArtifact(service: string, artifactId: string): Promise<Artifact> {
    return this.artifacts.getArtifact(service, artifactId);
  }
  listArtifacts(service: string, options: { branch?: string; limit?: number; cursor?: string }) {
    return this.artifacts.listArtifacts(service, options);
  }

  // --- policies --------------------------------------------------------------
  getPolicies(service: string): Promise<ServicePolicies> {
    return this.policies.getPolicies(service);
  }
  putAutoRelease(service: string, branch: string, environment: string, actor: Actor) {
    return this.policies.putAutoRelease(service, branch, environment, actor);
  }
  putBranchRestriction(service: string, branchRegex: string, environment: string, actor: Actor) {
    return this.policies.putBranchRestriction(service, branchRegex, environment, actor);
  }
  applyPolicies(service: string, changes: Parameters<PolicyService['applyPolicies']>[1], actor: Actor) {
    return this.policies.applyPolicies(service, changes, actor);
  }
  deletePolicy(service: string, policyId: string, actor: Actor) {
    return this.policies.deletePolicy(service, policyId, actor);
  }
  branchVerdict(service: string, environment: string, artifactId: string): Promise<PolicyVerdict> {
    return this.policies.branchVerdict(service, environment, artifactId);
  }

  // --- releases ----------------------------------------------------------------
  release(req: ReleaseRequest, actor: Actor, opts: ReleaseOptions = {}): Promise<ReleaseResult> {
    return this.releases.release(req, actor, opts);
  }
  promote(
    req: PromoteRequest,
    actor: Actor,
    opts: Pick<ReleaseOptions, 'overrideFreeze' | 'onFreezeOverridden' | 'breakGlass'> = {},
  ): Promise<ReleaseResult> {
    return this.releases.promote(req, actor, opts);
  }
  rollbackTarget(req: RollbackRequest): Promise<{ target: string; current?: string }> {
    return this.releases.rollbackTarget(req);
  }
  rollback(
    req: RollbackRequest,
    actor: Actor,
    opts: Pick<ReleaseOptions, 'overrideFreeze' | 'onFreezeOverridden' | 'breakGlass'> = {},
  ): Promise<ReleaseResult> {
    return this.releases.rollback(req, actor, opts);
  }

  // --- approvals and freeze windows ----------------------------------------------
  approve(id: string, decider: Decider, comment?: string): Promise<ReleaseResult> {
    return this.approvals.approve(id, decider, comment);
  }
  reject(id: string, decider: Decider, comment: string) {
    return this.approvals.reject(id, decider, comment);
  }
  /**
   * Freeze windows in force and coming up; with a service, only those of its system, plus its
   * incident freeze (one kind of freeze, same override rules) when one is in force.
   */
  async freezeWindowsFor(options: { service?: string; environment?: string; days?: number }): Promise<FreezeWindowView[]> {
    const system = options.service ? await this.approvals.systemOf(options.service) : undefined;
    const views = this.freezeWindows.list({ environment: options.environment, system, days: options.days });
    if (options.service && this.freeze) {
      const prod = this.envs.filter(e => e.production && (!options.environment || e.name === options.environment));
      if (prod.length) {
        const state = await this.freeze.check(options.service);
        if (state.checked && state.frozen) {
          views.unshift({
            id: 'incident',
            title: `Incident freeze: ${state.incidents.map(i => `${i.id}${i.title ? ` (${i.title})` : ''}`).join(', ') || state.reason || 'an incident is open'}`,
            environments: prod.map(e => e.name),
            schedule: 'until the incident is resolved; rollbacks stay possible',
            kind: 'incident',
            current: { start: new Date().toISOString(), end: '' },
            upcoming: [],
          });
        }
      }
    }
    return views;
  }

  // --- state, log, diff ----------------------------------------------------------
  status(service: string): Promise<EnvironmentStatus[]> {
    return this.state.status(service);
  }
  listReleases(
    service: string,
    options: ReleaseFilter & { limit?: number; cursor?: string },
  ): Promise<Page<Release>> {
    return this.state.listReleases(service, options);
  }
  teamReleases(extraServices: string[], team: string, since: string): Promise<Release[]> {
    return this.state.teamReleases(extraServices, team, since);
  }
  squadOf(service: string): Promise<string | undefined> {
    return this.state.squadOf(service);
  }
  diff(service: string, environment: string, artifactId: string): Promise<ManifestDiff> {
    return this.state.diff(service, environment, artifactId);
  }
  reportStatus(report: RolloutStatusReport): Promise<Release> {
    return this.state.reportStatus(report);
  }

  // --- guardrails ------------------------------------------------------------------
  /**
   * Whether a claimed branch would pass verification where a branch guardrail applies (the demo
   * seed waits with a service until the catalog knows its source repository).
   */
  async verifyClaimedBranch(service: string, branch: string, sha: string): Promise<PolicyVerdict> {
    if (!this.envs.some(e => this.guardrails.needsBranchVerification(e.name))) return { allowed: true };
    if (!this.branchVerifier) return { allowed: false, reason: 'no branch verifier is configured' };
    return this.branchVerifier.verify(service, branch, sha);
  }

  // --- sync ------------------------------------------------------------------------
  ensureSynced(): Promise<void> {
    return this.sync.ensureSynced();
  }
  syncFromGit(): Promise<number> {
    return this.sync.syncFromGit();
  }

  // --- trust -------------------------------------------------------------------------
  /** Armored public key of the signing key (served at `GET /signing-key`). */
  publicKeyArmored(): string {
    return this.signer.publicKeyArmored();
  }
  async outsideChanges() {
    await this.writer.refresh();
    return this.reader.outside();
  }
  decideOutsideChanges(
    decision: 'revert' | 'adopt',
    commits: string[],
    actor: Actor,
  ) {
    return this.outsideDecisions.decide(decision, commits, actor);
  }
}
