import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  invalidArtifactIdReason,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import type {
  Artifact,
  ArtifactUpload,
  Environment,
  EnvironmentStatus,
  ManifestDiff,
  Page,
  PolicyVerdict,
  PromoteRequest,
  Release,
  ReleaseEventKind,
  ReleaseIntent,
  ReleaseRequest,
  ReleaseResult,
  RollbackRequest,
  RolloutStatusReport,
  ServicePolicies,
  ActionPin,
} from '@devplane/plugin-release-manager-common';
import { parseAllDocuments } from 'yaml';
import { artifactSpecSchema, parseBody } from './schemas';
import { BlobStore } from '../blobs/BlobStore';
import { ReleaseManagerStore, NewRelease } from '../database/ReleaseManagerStore';
import {
  parseTrailers,
  policyCommitMessage,
  releaseCommitMessage,
  releaseInfoFromMessage,
} from '../git/commitMessage';
import { CommitRecord, GitOpsWriter, WorkTree } from '../git/GitOpsWriter';
import { FreezeChecker, FreezeIncident, frozenMessage, ProductionFrozenError } from './IncidentFreeze';
import { Notifier } from './Notifier';
import { BranchVerifier } from './branchVerifier';
import { assertAllowed, Guardrails } from './guardrails';
import { checkPin, ChangedSinceYouLookedError, environmentCommit } from './pins';
import {
  autoReleasePolicies,
  branchVerdict,
  invalidBranchReason,
  parsePolicies,
  serializePolicies,
  withAutoRelease,
  withBranchRestriction,
  withoutPolicy,
} from './policies';
import { unifiedDiff } from './unifiedDiff';

/** The caller, as established from credentials (never from a request body). */
export interface Actor {
  /** Entity ref of the user or the service principal's subject. */
  ref: string;
  /** Email from the user's profile, else the ref. Goes into commit titles and trailers. */
  email: string;
  displayName?: string;
}

/** Size limits of an upload. */
export const LIMITS = {
  manifestFileBytes: 512 * 1024,
  manifestsTotalBytes: 4 * 1024 * 1024,
  filesPerEnvironment: 100,
};

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function check(reason: string | undefined) {
  if (reason) throw new InputError(reason);
}

/** Path of a service's release folder in the config repo. */
export function releaseDir(env: string, namespace: string, service: string): string {
  return `${env}/releases/${namespace}/${service}`;
}

/** Validates an upload beyond its shape: names, sizes, YAML. Throws InputError. */
export function validateUpload(upload: ArtifactUpload, environments: Environment[]): void {
  const { spec, manifests } = upload;
  check(invalidNameReason('service', spec.service));
  check(invalidNameReason('namespace', spec.namespace));
  if (spec.squad !== undefined) check(invalidNameReason('squad', spec.squad));
  check(invalidArtifactIdReason(spec.id));
  check(invalidBranchReason(spec.application.branch));
  const envs = Object.keys(manifests);
  if (envs.length === 0) throw new InputError('manifests must hold at least one environment');
  let total = 0;
  for (const env of envs) {
    check(invalidNameReason('environment', env));
    if (!environments.some(e => e.name === env)) {
      throw new InputError(
        `manifests name unknown environment '${env}'; known: ${environments.map(e => e.name).join(', ')}`,
      );
    }
    const files = Object.entries(manifests[env]);
    if (files.length === 0) throw new InputError(`manifests.${env} holds no files`);
    if (files.length > LIMITS.filesPerEnvironment) {
      throw new InputError(`manifests.${env} holds more than ${LIMITS.filesPerEnvironment} files`);
    }
    for (const [name, text] of files) {
      if (!FILE_NAME.test(name) || name.includes('..') || name === 'artifact.json') {
        throw new InputError(
          `manifest file name '${JSON.stringify(name).slice(1, -1).slice(0, 100)}' in ${env} is invalid: use letters, digits, '.', '_' and '-' (no folders, not artifact.json)`,
        );
      }
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > LIMITS.manifestFileBytes) {
        throw new InputError(
          `manifest ${env}/${name} is ${bytes} bytes, more than the limit of ${LIMITS.manifestFileBytes}`,
        );
      }
      total += bytes;
      if (text.includes('\0')) throw new InputError(`manifest ${env}/${name} contains NUL bytes`);
      if (/\.(ya?ml)$/i.test(name)) {
        for (const doc of parseAllDocuments(text, { uniqueKeys: false })) {
          if ('errors' in doc && doc.errors.length) {
            throw new InputError(`manifest ${env}/${name} is not valid YAML: ${doc.errors[0].message}`);
          }
          try {
            doc.toJS({ maxAliasCount: 100 });
          } catch (e: any) {
            throw new InputError(`manifest ${env}/${name} is rejected: ${e.message}`);
          }
        }
      }
    }
  }
  if (total > LIMITS.manifestsTotalBytes) {
    throw new InputError(
      `manifests total ${total} bytes, more than the limit of ${LIMITS.manifestsTotalBytes}`,
    );
  }
}

const VERBS: Record<ReleaseIntent, { verb: string; kind: ReleaseEventKind }> = {
  release: { verb: 'Released', kind: 'released' },
  promote: { verb: 'Released', kind: 'released' },
  rollback: { verb: 'Rolled back', kind: 'rolled-back' },
  'auto-release': { verb: 'Auto-released', kind: 'auto-released' },
};

/** Options of {@link ReleaseManager}. */
export interface ReleaseManagerOptions {
  store: ReleaseManagerStore;
  blobs: BlobStore;
  writer: GitOpsWriter;
  environments: Environment[];
  notifier: Notifier;
  logger: LoggerService;
  /** Key of the config repo in the release log (its URL or name). */
  configRepoKey: string;
  /** Production freeze while a service has an open incident; absent → no freeze. */
  freeze?: FreezeChecker;
  /** Organisation guardrails (config); absent → the defaults (production only from master/main). */
  guardrails?: Guardrails;
  /** Verifies claimed branches where a branch guardrail applies; absent → such releases are refused. */
  branchVerifier?: BranchVerifier;
}

/** Explicit override of a production freeze, from the request body. */
export interface FreezeOverride {
  reason: string;
}

/** Options of a release, promotion or rollback beyond the request. */
export interface ReleaseOptions {
  intent?: ReleaseIntent;
  promotedFrom?: string;
  rollbackOf?: string;
  overrideFreeze?: FreezeOverride;
  /** What the user saw (409 when it moved); see pins.ts. */
  pin?: ActionPin;
  /** promote: the source environment's folder must still hold this artifact when writing. */
  sourceCheck?: { dir: string; artifactId: string; environment: string };
  /** auto-release: who set the policy and who uploaded (commit trailers). */
  policyAuthor?: string;
  uploadedBy?: string;
  /** Called before the commit when an override lifts a freeze (for the audit trail). */
  onFreezeOverridden?: (details: {
    service: string;
    environment: string;
    artifactId: string;
    reason: string;
    incidents: FreezeIncident[];
  }) => Promise<void> | void;
}

/**
 * The release manager's domain: artifacts, policies, release/promote/rollback through the
 * GitOps writer, the release log (rebuildable from git), diff and rollout status.
 */
export class ReleaseManager {
  private readonly store: ReleaseManagerStore;
  private readonly blobs: BlobStore;
  readonly writer: GitOpsWriter;
  private readonly envs: Environment[];
  readonly notifier: Notifier;
  private readonly logger: LoggerService;
  readonly configRepoKey: string;
  private readonly freeze?: FreezeChecker;
  readonly guardrails: Guardrails;
  private readonly branchVerifier?: BranchVerifier;
  private syncing?: Promise<number>;

  constructor(options: ReleaseManagerOptions) {
    this.store = options.store;
    this.blobs = options.blobs;
    this.writer = options.writer;
    this.envs = options.environments;
    this.notifier = options.notifier;
    this.logger = options.logger;
    this.configRepoKey = options.configRepoKey;
    this.freeze = options.freeze;
    this.guardrails = options.guardrails ?? new Guardrails(options.environments);
    this.branchVerifier = options.branchVerifier;
  }

  environments(): Environment[] {
    return this.envs;
  }

  /** Looks up a configured environment; InputError for names that are invalid or unknown. */
  environment(name: unknown): Environment {
    check(invalidNameReason('environment', name));
    const env = this.envs.find(e => e.name === name);
    if (!env) {
      throw new InputError(
        `unknown environment '${name}'; known: ${this.envs.map(e => e.name).join(', ')}`,
      );
    }
    return env;
  }

  // --- artifacts -----------------------------------------------------------

  private manifestKey(service: string, artifactId: string) {
    return `manifests/${service}/${artifactId}.json`;
  }

  async manifestsOf(artifact: Artifact): Promise<Record<string, Record<string, string>>> {
    const buf = await this.blobs.get(this.manifestKey(artifact.service, artifact.id));
    if (!buf) throw new NotFoundError(`Manifests of artifact '${artifact.id}' are missing`);
    return JSON.parse(buf.toString('utf8'));
  }

  /** Stores an artifact and runs the auto-releases it triggers. */
  async uploadArtifact(
    upload: ArtifactUpload,
    actor: Actor,
  ): Promise<{ artifact: Artifact; autoReleases: ReleaseResult[] }> {
    validateUpload(upload, this.envs);
    this.guardrails.checkManifests(upload);
    const { spec } = upload;
    if (await this.store.getArtifact(spec.service, spec.id)) {
      // Checked before the blob write so a duplicate never overwrites stored manifests.
      throw new ConflictError(`Artifact '${spec.id}' of service '${spec.service}' already exists`);
    }
    await this.blobs.put(
      this.manifestKey(spec.service, spec.id),
      Buffer.from(JSON.stringify(upload.manifests)),
    );
    const artifact = await this.store.insertArtifact({
      spec,
      environments: Object.keys(upload.manifests).sort(
        (a, b) => this.environment(a).order - this.environment(b).order,
      ),
      createdBy: actor.email,
    });
    this.notifier.notify({
      signal: { kind: 'artifact-uploaded', service: spec.service, artifactId: spec.id },
      title: `${spec.service}: new artifact ${spec.id}`,
      description: `Built from ${spec.application.branch} (${spec.application.sha.slice(0, 10)}) by ${spec.application.authorEmail}`,
      squad: undefined,
    });
    const policies = await this.getPolicies(spec.service);
    const autoReleases: ReleaseResult[] = [];
    for (const policy of autoReleasePolicies(policies, artifact.branch)) {
      const env = policy.environment;
      if (!artifact.environments.includes(env)) continue;
      try {
        // An upload never carries authority into production by itself: the policy's author does.
        if (this.environment(env).production && !policy.setBy) {
          throw new NotAllowedError(
            `the auto-release policy into ${env} records no author with the production permission; set it again`,
          );
        }
        autoReleases.push(
          await this.release(
            { service: spec.service, environment: env, artifactId: spec.id },
            actor,
            { intent: 'auto-release', policyAuthor: policy.setBy, uploadedBy: actor.ref },
          ),
        );
      } catch (e: any) {
        autoReleases.push({ changed: false, message: `auto-release to ${env} failed: ${e.message}` });
      }
    }
    return { artifact, autoReleases };
  }

  async getArtifact(service: string, artifactId: string): Promise<Artifact> {
    check(invalidNameReason('service', service));
    check(invalidArtifactIdReason(artifactId));
    const a = await this.store.getArtifact(service, artifactId);
    if (!a) throw new NotFoundError(`Artifact '${artifactId}' of service '${service}' not found`);
    return a;
  }

  listArtifacts(service: string, options: { branch?: string; limit?: number; cursor?: string }) {
    check(invalidNameReason('service', service));
    if (options.branch !== undefined) check(invalidBranchReason(options.branch));
    return this.store.listArtifacts(service, options);
  }

  // --- policies ------------------------------------------------------------

  async getPolicies(service: string): Promise<ServicePolicies> {
    check(invalidNameReason('service', service));
    await this.writer.refresh();
    return {
      ...parsePolicies(service, await this.writer.readFile(`policies/${service}.json`), this.envs),
      guardrails: this.guardrails.views(),
    };
  }

  private async changePolicies(
    service: string,
    actor: Actor,
    what: string,
    change: (p: ServicePolicies) => ServicePolicies,
  ): Promise<ServicePolicies> {
    check(invalidNameReason('service', service));
    const rel = `policies/${service}.json`;
    const { result } = await this.writer.write<ServicePolicies>({
      apply: async (tree: WorkTree) => {
        const current = parsePolicies(service, await tree.readFile(rel), this.envs);
        const next = change(current);
        const text = serializePolicies(next);
        if ((await tree.readFile(rel)) === text) return { noop: true, result: next };
        await tree.writeFile(rel, text);
        return {
          result: next,
          commit: {
            message: policyCommitMessage(service, what, actor.email),
            author: { name: actor.displayName ?? actor.email, email: actor.email },
            paths: [rel],
          },
        };
      },
    });
    return result;
  }

  putAutoRelease(service: string, branch: string, environment: string, actor: Actor) {
    check(invalidBranchReason(branch));
    this.environment(environment);
    const verdict = this.guardrails.branchVerdict(branch, environment);
    if (!verdict.allowed) throw new ConflictError(`Conflicting policies: ${verdict.reason}`);
    return this.changePolicies(service, actor, `auto-release ${branch} to ${environment}`, p =>
      withAutoRelease(p, branch, environment, actor.email),
    );
  }

  putBranchRestriction(service: string, branchRegex: string, environment: string, actor: Actor) {
    this.environment(environment);
    return this.changePolicies(
      service,
      actor,
      `restrict ${environment} to branches ${branchRegex}`,
      p => withBranchRestriction(p, branchRegex, environment),
    );
  }

  deletePolicy(service: string, policyId: string, actor: Actor) {
    if (!/^[a-z-]+-[0-9a-f]{10}$/.test(policyId)) throw new InputError(`policy id '${policyId.slice(0, 80)}' is invalid`);
    return this.changePolicies(service, actor, `delete policy ${policyId}`, p => {
      const next = withoutPolicy(p, policyId);
      if (!next) throw new NotFoundError(`Policy '${policyId}' of service '${service}' not found`);
      return next;
    });
  }

  /** Branch restriction verdict for releasing an artifact into an environment. */
  async branchVerdict(service: string, environment: string, artifactId: string): Promise<PolicyVerdict> {
    this.environment(environment);
    const artifact = await this.getArtifact(service, artifactId);
    const guardrail = this.guardrails.branchVerdict(artifact.branch, environment);
    if (!guardrail.allowed) return guardrail;
    return branchVerdict(await this.getPolicies(service), artifact.branch, environment);
  }

  // --- releases ------------------------------------------------------------

  /** Current artifact id in an environment as the config repo says (re-read inside writes). */
  private async currentInTree(tree: WorkTree, dir: string): Promise<string | undefined> {
    const text = await tree.readFile(`${dir}/artifact.json`);
    if (!text) return undefined;
    try {
      return JSON.parse(text).id;
    } catch {
      return undefined;
    }
  }

  /** Current artifact id in a release folder of the remote branch as last fetched. */
  private async readCurrent(dir: string): Promise<string | undefined> {
    const text = await this.writer.readFile(`${dir}/artifact.json`);
    if (!text) return undefined;
    try {
      return JSON.parse(text).id;
    } catch {
      return undefined;
    }
  }

  /** Releases an artifact into an environment: one commit in the config repo. */
  async release(
    req: ReleaseRequest,
    actor: Actor,
    opts: ReleaseOptions = {},
  ): Promise<ReleaseResult> {
    const env = this.environment(req.environment);
    const artifact = await this.getArtifact(req.service, req.artifactId);
    if (!artifact.environments.includes(env.name)) {
      throw new InputError(
        `artifact '${artifact.id}' carries no manifests for ${env.name} (it has: ${artifact.environments.join(', ')})`,
      );
    }
    const manifests = (await this.manifestsOf(artifact))[env.name];
    const intent = opts.intent ?? 'release';
    const dir = releaseDir(env.name, artifact.namespace, artifact.service);
    // Organisation guardrail first (no service policy widens it), then the claimed branch verified.
    assertAllowed(this.guardrails.branchVerdict(artifact.branch, env.name));
    if (this.guardrails.needsBranchVerification(env.name)) {
      if (!this.branchVerifier) {
        throw new NotAllowedError(`${env.name} needs the artifact's branch verified, and no verifier is configured`);
      }
      assertAllowed(await this.branchVerifier.verify(artifact.service, artifact.branch, artifact.spec.application.sha));
    }
    const pin = opts.pin ?? req.pin;
    let pinnedRunning: string | undefined;
    if (pin || opts.sourceCheck) {
      await this.writer.refresh(0);
      pinnedRunning = (await this.readCurrent(dir)) ?? '';
      checkPin({
        pin,
        environment: env.name,
        service: artifact.service,
        shipping: artifact.id,
        currentCommit: await environmentCommit(this.writer, env.name, artifact.service),
        runningNow: pinnedRunning || undefined,
        from: opts.promotedFrom,
      });
    }
    let freezeOverride: string | undefined;
    let freezeIncidents: string | undefined;
    let freezeWarning: string | undefined;
    if (env.production && this.freeze) {
      const state = await this.freeze.check(artifact.service);
      if (!state.checked) {
        freezeWarning = state.warning;
      } else if (state.frozen) {
        const overrideReason = opts.overrideFreeze?.reason?.trim();
        if (!overrideReason) {
          throw new ProductionFrozenError(
            frozenMessage(env.name, artifact.service, state.incidents, state.reason),
          );
        }
        freezeOverride = overrideReason;
        freezeIncidents = state.incidents.map(i => i.id).join(', ') || undefined;
        await opts.onFreezeOverridden?.({
          service: artifact.service,
          environment: env.name,
          artifactId: artifact.id,
          reason: overrideReason,
          incidents: state.incidents,
        });
      }
    }
    const info = {
      service: artifact.service,
      environment: env.name,
      artifactId: artifact.id,
      releasedBy: actor.email,
      artifactCreatedBy: artifact.authorEmail,
      intent,
      branch: artifact.branch,
      promotedFrom: opts.promotedFrom,
      rollbackOf: opts.rollbackOf,
      reason: req.reason,
      freezeOverride,
      freezeIncidents,
      policyAuthor: opts.policyAuthor,
      uploadedBy: opts.uploadedBy,
    };
    const message = releaseCommitMessage(info);
    let written;
    try {
      written = await this.writer.write<ReleaseResult>({
        apply: async tree => {
          const policies = parsePolicies(
            artifact.service,
            await tree.readFile(`policies/${artifact.service}.json`),
            this.envs,
          );
          const verdict = branchVerdict(policies, artifact.branch, env.name);
          if (!verdict.allowed) throw new NotAllowedError(verdict.reason);
          assertAllowed(this.guardrails.branchVerdict(artifact.branch, env.name));
          if (pin?.environmentCommit !== undefined && pinnedRunning !== undefined) {
            const now = (await this.currentInTree(tree, dir)) ?? '';
            if (now !== pinnedRunning) {
              throw new ChangedSinceYouLookedError(
                `${artifact.service} changed since you looked: ${env.name} now runs ${now || 'nothing'}, not ${pinnedRunning || 'nothing'}. Nothing was written; look again and retry.`,
              );
            }
          }
          if (opts.sourceCheck) {
            const src = (await this.currentInTree(tree, opts.sourceCheck.dir)) ?? '';
            if (src !== opts.sourceCheck.artifactId) {
              throw new ChangedSinceYouLookedError(
                `${artifact.service} changed since you looked: ${opts.sourceCheck.environment} now runs ${src || 'nothing'}, not ${opts.sourceCheck.artifactId}. Nothing was written; look again and retry.`,
              );
            }
          }
          if ((await this.currentInTree(tree, dir)) === artifact.id) {
            return {
              noop: true,
              result: {
                changed: false,
                message: `${artifact.id} is already running in ${env.name}; nothing to do`,
              },
            };
          }
          await tree.remove(dir);
          for (const [name, text] of Object.entries(manifests)) {
            await tree.writeFile(`${dir}/${name}`, text);
          }
          await tree.writeFile(`${dir}/artifact.json`, `${JSON.stringify(artifact.spec, null, 2)}\n`);
          return {
            result: { changed: true, message: '' },
            commit: {
              message,
              author: { name: actor.displayName ?? actor.email, email: actor.email },
              paths: [dir],
            },
          };
        },
      });
    } catch (e: any) {
      if (!(e instanceof InputError) && !(e instanceof NotAllowedError) && !(e instanceof ChangedSinceYouLookedError)) {
        this.notifier.notify({
          signal: { kind: 'release-failed', service: artifact.service, environment: env.name, artifactId: artifact.id },
          title: `${artifact.service}: release of ${artifact.id} to ${env.name} failed`,
          description: e.message,
          squad: artifact.spec.squad,
          severity: 'high',
        });
      }
      throw e;
    }
    if (!written.commit) return written.result;
    const note = [
      freezeOverride ? `production freeze overridden: ${freezeOverride}` : undefined,
      freezeWarning,
    ].filter(Boolean);
    const release: NewRelease = {
      id: written.commit,
      service: artifact.service,
      environment: env.name,
      namespace: artifact.namespace,
      artifactId: artifact.id,
      intent,
      releasedBy: actor.email,
      releasedAt: written.committedAt ?? new Date().toISOString(),
      branch: artifact.branch,
      promotedFrom: opts.promotedFrom,
      rollbackOf: opts.rollbackOf,
      reason: req.reason,
      commitTitle: message.split('\n')[0],
    };
    await this.store.insertReleases(this.configRepoKey, [release]);
    const verb = VERBS[intent].verb;
    const text = `${verb} ${artifact.id} to ${env.name}${opts.promotedFrom ? ` (promoted from ${opts.promotedFrom})` : ''}`;
    this.notifier.notify({
      signal: {
        kind: VERBS[intent].kind,
        service: artifact.service,
        environment: env.name,
        artifactId: artifact.id,
        releaseId: release.id,
      },
      title: `${artifact.service}: ${text}`,
      description: `${release.commitTitle}${req.reason ? `\n${req.reason}` : ''}${freezeOverride ? `\nProduction freeze overridden (incidents ${freezeIncidents ?? 'open'}): ${freezeOverride}` : ''}`,
      squad: artifact.spec.squad,
      severity: env.production ? 'high' : 'normal',
    });
    return {
      changed: true,
      message: note.length ? `${text} (${note.join('; ')})` : text,
      release: { ...release, rollout: { state: 'pending' } },
    };
  }

  /** What the config repo says runs in an environment (artifact id), via the release log. */
  private async currentRelease(service: string, environment: string): Promise<Release | undefined> {
    await this.ensureSynced();
    return (await this.store.latestReleases(this.configRepoKey, service)).get(environment);
  }

  async promote(
    req: PromoteRequest,
    actor: Actor,
    opts: Pick<ReleaseOptions, 'overrideFreeze' | 'onFreezeOverridden'> = {},
  ): Promise<ReleaseResult> {
    check(invalidNameReason('service', req.service));
    this.environment(req.fromEnvironment);
    this.environment(req.toEnvironment);
    if (req.fromEnvironment === req.toEnvironment) {
      throw new InputError('fromEnvironment and toEnvironment must differ');
    }
    const from = await this.currentRelease(req.service, req.fromEnvironment);
    if (!from) {
      throw new NotFoundError(`Nothing of ${req.service} runs in ${req.fromEnvironment} to promote`);
    }
    return this.release(
      { service: req.service, environment: req.toEnvironment, artifactId: from.artifactId, reason: req.reason },
      actor,
      {
        ...opts,
        intent: 'promote',
        promotedFrom: req.fromEnvironment,
        pin: req.pin,
        // with a pin, the source must still run what the user saw when the commit is made
        sourceCheck: req.pin?.artifactId
          ? {
              dir: releaseDir(req.fromEnvironment, from.namespace, req.service),
              artifactId: req.pin.artifactId,
              environment: req.fromEnvironment,
            }
          : undefined,
      },
    );
  }

  /** Resolves the rollback target: the given artifact or the one before the current. */
  async rollbackTarget(req: RollbackRequest): Promise<{ target: string; current?: string }> {
    check(invalidNameReason('service', req.service));
    this.environment(req.environment);
    const current = await this.currentRelease(req.service, req.environment);
    if (req.artifactId) {
      check(invalidArtifactIdReason(req.artifactId));
      return { target: req.artifactId, current: current?.artifactId };
    }
    if (!current) throw new NotFoundError(`Nothing of ${req.service} runs in ${req.environment}`);
    for (let cursor: string | undefined = undefined; ; ) {
      const page: Page<Release> = await this.store.listReleases(this.configRepoKey, req.service, {
        environment: req.environment,
        limit: 200,
        cursor,
      });
      const prev = page.items.find(r => r.artifactId !== current.artifactId);
      if (prev) return { target: prev.artifactId, current: current.artifactId };
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    throw new NotFoundError(
      `No earlier artifact of ${req.service} ran in ${req.environment}; name one with artifactId`,
    );
  }

  async rollback(
    req: RollbackRequest,
    actor: Actor,
    opts: Pick<ReleaseOptions, 'overrideFreeze' | 'onFreezeOverridden'> = {},
  ): Promise<ReleaseResult> {
    const { target, current } = await this.rollbackTarget(req);
    return this.release(
      { service: req.service, environment: req.environment, artifactId: target, reason: req.reason },
      actor,
      { ...opts, intent: 'rollback', rollbackOf: current, pin: req.pin },
    );
  }

  // --- log, status, diff ---------------------------------------------------

  async status(service: string): Promise<EnvironmentStatus[]> {
    check(invalidNameReason('service', service));
    await this.ensureSynced();
    const latest = await this.store.latestReleases(this.configRepoKey, service);
    return Promise.all(
      this.envs.map(async env => {
        const release = latest.get(env.name);
        const artifact = release
          ? await this.store.getArtifact(service, release.artifactId)
          : undefined;
        const commit = await environmentCommit(this.writer, env.name, service);
        return { environment: env.name, production: env.production, commit, release, artifact };
      }),
    );
  }

  async listReleases(
    service: string,
    options: { environment?: string; limit?: number; cursor?: string },
  ): Promise<Page<Release>> {
    check(invalidNameReason('service', service));
    if (options.environment !== undefined) this.environment(options.environment);
    await this.ensureSynced();
    return this.store.listReleases(this.configRepoKey, service, options);
  }

  async teamReleases(extraServices: string[], team: string, since: string): Promise<Release[]> {
    check(invalidNameReason('team', team));
    await this.ensureSynced();
    const services = new Set([...extraServices, ...(await this.store.servicesOfSquad(team))]);
    return this.store.releasesSince(this.configRepoKey, [...services], since);
  }

  squadOf(service: string): Promise<string | undefined> {
    return this.store.squadOf(service);
  }

  async diff(service: string, environment: string, artifactId: string): Promise<ManifestDiff> {
    const env = this.environment(environment);
    const artifact = await this.getArtifact(service, artifactId);
    const candidate = (await this.manifestsOf(artifact))[env.name];
    if (!candidate) {
      throw new InputError(`artifact '${artifactId}' carries no manifests for ${env.name}`);
    }
    await this.writer.refresh();
    const current = await this.currentRelease(service, env.name);
    const dir = releaseDir(env.name, current?.namespace ?? artifact.namespace, service);
    const running = await this.writer.readDir(dir);
    delete running['artifact.json'];
    const names = [...new Set([...Object.keys(running), ...Object.keys(candidate)])].sort();
    return {
      environment: env.name,
      fromArtifactId: current?.artifactId,
      toArtifactId: artifact.id,
      files: names.map(name => {
        const a = running[name];
        const b = candidate[name];
        if (a === undefined) {
          return { path: name, change: 'added', patch: unifiedDiff('/dev/null', `b/${name}`, '', b) };
        }
        if (b === undefined) {
          return { path: name, change: 'removed', patch: unifiedDiff(`a/${name}`, '/dev/null', a, '') };
        }
        if (a === b) return { path: name, change: 'unchanged' };
        return { path: name, change: 'modified', patch: unifiedDiff(`a/${name}`, `b/${name}`, a, b) };
      }),
    };
  }

  /** Applies a cluster agent's rollout report to the matching release. */
  async reportStatus(report: RolloutStatusReport): Promise<Release> {
    check(invalidNameReason('service', report.service));
    this.environment(report.environment);
    check(invalidArtifactIdReason(report.artifactId));
    await this.ensureSynced();
    const page = await this.store.listReleases(this.configRepoKey, report.service, {
      environment: report.environment,
      limit: 200,
    });
    const release = page.items.find(r => r.artifactId === report.artifactId);
    if (!release) {
      throw new NotFoundError(
        `No release of ${report.artifactId} to ${report.environment} for ${report.service}`,
      );
    }
    await this.store.setRolloutStatus(release.id, report);
    const updated = (await this.store.getRelease(this.configRepoKey, release.id))!;
    const progress =
      report.ready !== undefined && report.desired !== undefined ? ` ${report.ready}/${report.desired}` : '';
    this.notifier.notify({
      signal: {
        kind: 'rollout-status',
        service: report.service,
        environment: report.environment,
        artifactId: report.artifactId,
        releaseId: release.id,
      },
      title: `${report.service}: ${report.artifactId} in ${report.environment} is ${report.state}${progress}`,
      description: [report.message, ...(report.logLines ?? []).slice(-10)].filter(Boolean).join('\n'),
      squad: await this.store.squadOf(report.service),
      severity: report.state === 'failed' ? 'critical' : 'normal',
    });
    return updated;
  }

  // --- git is the source of truth -------------------------------------------

  /** Rebuilds the release log when the database holds nothing for this config repo. */
  async ensureSynced(): Promise<void> {
    if ((await this.store.countReleases(this.configRepoKey)) === 0) await this.syncFromGit();
  }

  /** Ingests release commits the database does not know yet. Returns how many were read. */
  syncFromGit(): Promise<number> {
    if (!this.syncing) {
      this.syncing = this.doSync().finally(() => {
        this.syncing = undefined;
      });
    }
    return this.syncing;
  }

  private async doSync(): Promise<number> {
    await this.writer.refresh(0);
    const empty = (await this.store.countReleases(this.configRepoKey)) === 0;
    const since = empty ? undefined : await this.store.getSyncMarker(this.configRepoKey);
    const commits = await this.writer.log(since, { withFiles: true });
    const releases: NewRelease[] = [];
    for (const c of commits) {
      const info = releaseInfoFromMessage(c.message);
      if (!info) continue;
      const prefix = `${info.environment}/releases/`;
      const file = (c.files ?? []).find(
        f => f.startsWith(prefix) && f.split('/')[3] === info.service,
      );
      const namespace =
        file?.split('/')[2] ??
        (await this.store.getArtifact(info.service, info.artifactId))?.namespace ??
        'default';
      releases.push({
        id: c.sha,
        service: info.service,
        environment: info.environment,
        namespace,
        artifactId: info.artifactId,
        intent: info.intent,
        releasedBy: info.releasedBy,
        releasedAt: c.committedAt,
        branch: info.branch,
        promotedFrom: info.promotedFrom,
        rollbackOf: info.rollbackOf,
        reason: info.reason,
        commitTitle: info.title,
      });
    }
    // Artifacts first: once the releases are visible, what they name can be released again.
    await this.restoreArtifactsFromGit(commits);
    await this.store.insertReleases(this.configRepoKey, releases);
    const head = commits.length ? commits[commits.length - 1].sha : await this.writer.head();
    if (head) await this.store.setSyncMarker(this.configRepoKey, head);
    if (releases.length) this.logger.info(`Read ${releases.length} release(s) from the config repo history`);
    return releases.length;
  }
  /**
   * Restores, from the release commits' trees, the artifacts (rows and manifests) that the
   * database or the blob store lost: for each (artifact, environment) released in `commits` and
   * missing from the store, reads `artifact.json` and the manifests of the release folder at that
   * commit, validates them exactly as an upload, and merges them into the store. Content that
   * does not validate is skipped with a warning (the release log is still rebuilt).
   */
  private async restoreArtifactsFromGit(commits: CommitRecord[]): Promise<void> {
    type Restored = {
      spec: Artifact['spec'];
      createdBy: string;
      createdAt: string;
      manifests: Record<string, Record<string, string>>;
    };
    const restored = new Map<string, Restored>();
    /** What the store holds per artifact: its row (if any) and the environments of its blob. */
    const held = new Map<string, { artifact?: Artifact; blobEnvs: Set<string> }>();
    const heldOf = async (service: string, artifactId: string) => {
      const key = `${service}/${artifactId}`;
      let h = held.get(key);
      if (!h) {
        const artifact = await this.store.getArtifact(service, artifactId);
        let blobEnvs = new Set<string>();
        try {
          const buf = await this.blobs.get(this.manifestKey(service, artifactId));
          if (buf) blobEnvs = new Set(Object.keys(JSON.parse(buf.toString('utf8'))));
        } catch {
          blobEnvs = new Set();
        }
        h = { artifact, blobEnvs };
        held.set(key, h);
      }
      return h;
    };
    for (const c of commits) {
      const info = releaseInfoFromMessage(c.message);
      if (!info) continue;
      const where = `${info.artifactId} (${info.environment}/${info.service}, commit ${c.sha.slice(0, 10)})`;
      if (
        invalidNameReason('service', info.service) ||
        invalidNameReason('environment', info.environment) ||
        invalidArtifactIdReason(info.artifactId) ||
        !this.envs.some(e => e.name === info.environment)
      ) {
        continue;
      }
      const prefix = `${info.environment}/releases/`;
      const file = (c.files ?? []).find(f => f.startsWith(prefix) && f.split('/')[3] === info.service);
      const namespace = file?.split('/')[2];
      if (!namespace || invalidNameReason('namespace', namespace)) continue;
      const key = `${info.service}/${info.artifactId}`;
      const h = await heldOf(info.service, info.artifactId);
      const have =
        h.artifact?.environments.includes(info.environment) && h.blobEnvs.has(info.environment);
      if (have || restored.get(key)?.manifests[info.environment]) continue;
      try {
        const dir = releaseDir(info.environment, namespace, info.service);
        const files = await this.writer.readDir(dir, c.sha);
        const specText = files['artifact.json'];
        if (specText === undefined) continue;
        let specJson: unknown;
        try {
          specJson = JSON.parse(specText);
        } catch {
          throw new InputError('artifact.json is not valid JSON');
        }
        const spec = parseBody(artifactSpecSchema, specJson);
        if (spec.id !== info.artifactId || spec.service !== info.service || spec.namespace !== namespace) {
          throw new InputError('artifact.json does not match the commit and its folder');
        }
        const manifests: Record<string, string> = {};
        for (const [name, text] of Object.entries(files)) {
          if (name !== 'artifact.json') manifests[name] = text;
        }
        // Same checks as an upload: names (no folders), sizes, YAML.
        validateUpload({ spec, manifests: { [info.environment]: manifests } }, this.envs);
        const entry = restored.get(key) ?? {
          spec,
          createdBy: parseTrailers(c.message).trailers['Artifact-created-by'] || info.releasedBy,
          createdAt: c.committedAt,
          manifests: {},
        };
        entry.manifests[info.environment] = manifests;
        restored.set(key, entry);
      } catch (e: any) {
        this.logger.warn(`Cannot restore artifact ${where} from the config repo: ${e?.message ?? e}`);
      }
    }
    const order = (env: string) => this.envs.find(e => e.name === env)?.order ?? Number.MAX_SAFE_INTEGER;
    for (const [key, r] of restored) {
      const h = held.get(key)!;
      const blobKey = this.manifestKey(r.spec.service, r.spec.id);
      let stored: Record<string, Record<string, string>> = {};
      try {
        const buf = await this.blobs.get(blobKey);
        if (buf) stored = JSON.parse(buf.toString('utf8'));
      } catch {
        stored = {};
      }
      // What the store already holds wins over what git says.
      await this.blobs.put(blobKey, Buffer.from(JSON.stringify({ ...r.manifests, ...stored })));
      const environments = [...new Set([...(h.artifact?.environments ?? []), ...Object.keys(r.manifests)])].sort(
        (a, b) => order(a) - order(b),
      );
      if (!h.artifact) {
        try {
          await this.store.insertArtifact({
            spec: r.spec,
            environments,
            createdBy: r.createdBy,
            createdAt: r.createdAt,
          });
        } catch (e) {
          // Another replica restored it meanwhile.
          if (!(e instanceof ConflictError)) throw e;
          const now = await this.store.getArtifact(r.spec.service, r.spec.id);
          if (now) {
            await this.store.setArtifactEnvironments(
              r.spec.service,
              r.spec.id,
              [...new Set([...now.environments, ...environments])].sort((a, b) => order(a) - order(b)),
            );
          }
        }
      } else if (environments.length !== h.artifact.environments.length) {
        await this.store.setArtifactEnvironments(r.spec.service, r.spec.id, environments);
      }
      this.logger.info(
        `Restored artifact ${r.spec.id} of ${r.spec.service} (${Object.keys(r.manifests).join(', ')}) from the config repo`,
      );
    }
  }
}
