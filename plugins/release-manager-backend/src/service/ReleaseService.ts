import { ensureFluxObjects } from '../flux/fluxObjects';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  invalidArtifactIdReason,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import type {
  ApprovalRequest,
  Artifact,
  Environment,
  Page,
  PromoteRequest,
  Release,
  ReleaseEventKind,
  ReleaseIntent,
  ReleaseRequest,
  ReleaseResult,
  RollbackRequest,
} from '@devplane/plugin-release-manager-common';
import { NewRelease } from '../database/ReleaseManagerStore';
import { releaseCommitMessage } from '../git/commitMessage';
import { WorkTree } from '../git/GitOpsWriter';
import { releaseDir } from '../git/paths';
import type { ArtifactService } from './ArtifactService';
import { Actor, ReleaseManagerPart, ReleaseOptions } from './context';
import { frozenMessage, ProductionFrozenError } from './IncidentFreeze';
import { assertAllowed } from './guardrails';
import { checkPin, ChangedSinceYouLookedError, environmentCommit } from './pins';
import { branchVerdict, parsePolicies } from './policies';
import type { GitSync } from '../sync/GitSync';
import type { StateService } from './StateService';
import type { ApprovalService } from './ApprovalService';
import { check } from './uploadValidation';

const VERBS: Record<ReleaseIntent, { verb: string; kind: ReleaseEventKind }> = {
  release: { verb: 'Released', kind: 'released' },
  promote: { verb: 'Released', kind: 'released' },
  rollback: { verb: 'Rolled back', kind: 'rolled-back' },
  'auto-release': { verb: 'Auto-released', kind: 'auto-released' },
};

/** Writes releases, promotions and rollbacks: one signed commit each in the config repo. */
export class ReleaseService extends ReleaseManagerPart {
  artifacts!: ArtifactService;
  state!: StateService;
  sync!: GitSync;
  approvals!: ApprovalService;

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

  /**
   * Guardrails and pins before a write: the org branch guardrail, the claimed branch verified in
   * the source repo, and what the user saw (409 when it moved). Returns the artifact running in
   * the target folder when pinned (re-checked inside the write).
   */
  private async preflight(
    req: ReleaseRequest,
    opts: ReleaseOptions,
    artifact: { id: string; service: string; branch: string; spec: { application: { sha: string } } },
    env: string,
    dir: string,
  ): Promise<{ pin?: ReleaseRequest['pin']; pinnedRunning?: string; lookedAt?: number }> {
    assertAllowed(this.guardrails.branchVerdict(artifact.branch, env));
    if (this.guardrails.needsBranchVerification(env)) {
      if (!this.branchVerifier) {
        throw new NotAllowedError(`${env} needs the artifact's branch verified, and no verifier is configured`);
      }
      assertAllowed(await this.branchVerifier.verify(artifact.service, artifact.branch, artifact.spec.application.sha));
    }
    const pin = opts.pin ?? req.pin;
    if (!pin && !opts.sourceCheck) return {};
    await this.writer.refresh(0);
    // the write below needs no newer look at the remote: a change after this one is a conflict
    const lookedAt = this.writer.lookedAt;
    const pinnedRunning = (await this.readCurrent(dir)) ?? '';
    checkPin({
      pin,
      environment: env,
      service: artifact.service,
      shipping: artifact.id,
      currentCommit: await environmentCommit(this.state.reader, env, artifact.service),
      runningNow: pinnedRunning || undefined,
      from: opts.promotedFrom,
    });
    return { pin, pinnedRunning, lookedAt };
  }

  /** Inside the write: the pinned target and the promotion source still are what the user saw. */
  private async recheckInTree(tree: WorkTree, service: string, env: string, dir: string, opts: ReleaseOptions, pinned: { pin?: ReleaseRequest['pin']; pinnedRunning?: string }) {
    if (pinned.pin?.environmentCommit !== undefined && pinned.pinnedRunning !== undefined) {
      const now = (await this.currentInTree(tree, dir)) ?? '';
      if (now !== pinned.pinnedRunning) {
        throw new ChangedSinceYouLookedError(
          `${service} changed since you looked: ${env} now runs ${now || 'nothing'}, not ${pinned.pinnedRunning || 'nothing'}. Nothing was written; look again and retry.`,
        );
      }
    }
    if (opts.sourceCheck) {
      const src = (await this.currentInTree(tree, opts.sourceCheck.dir)) ?? '';
      if (src !== opts.sourceCheck.artifactId) {
        throw new ChangedSinceYouLookedError(
          `${service} changed since you looked: ${opts.sourceCheck.environment} now runs ${src || 'nothing'}, not ${opts.sourceCheck.artifactId}. Nothing was written; look again and retry.`,
        );
      }
    }
  }

  /**
   * Freezes and four-eyes approval, before anything is written. Rules (issue 14):
   * - a scheduled freeze window or an open incident freezes the environment; a rollback during an
   *   incident freeze is the fix and goes ahead, recorded as such;
   * - frozen without a break-glass (or freeze override) reason → 409, nothing written;
   * - with a reason and the break-glass permission (platform) → written, `Break-glass:` trailer;
   * - with a reason and without the permission, or into an environment that requires approval →
   *   a pending approval request instead of a commit;
   * - applying an approved request: the approval is the second person; a freeze that began since
   *   needs the request to have carried a break-glass reason.
   */
  private async gate(
    env: Environment,
    artifact: Artifact,
    intent: ReleaseIntent,
    opts: ReleaseOptions,
    actor: Actor,
    reason?: string,
  ): Promise<
    | { approval: ApprovalRequest }
    | { freezeOverride?: string; freezeIncidents?: string; freezeWarning?: string; breakGlass?: string; freezeWindow?: string }
  > {
    const why: string[] = [];
    let freezeIncidents: string | undefined;
    let freezeWarning: string | undefined;
    let freezeOverride: string | undefined;
    const window = await this.approvals.activeWindow(env.name, artifact.service);
    if (window) {
      why.push(`${env.name} is inside freeze window ${window.window.id} (${window.window.title}) until ${window.end.toISOString()}`);
    }
    let incidentFrozen = false;
    let incidentMessage = '';
    if (env.production && this.freeze) {
      const state = await this.freeze.check(artifact.service);
      if (!state.checked) {
        freezeWarning = state.warning;
      } else if (state.frozen) {
        freezeIncidents = state.incidents.map(i => i.id).join(', ') || undefined;
        if (intent === 'rollback') {
          // rollbacks stay possible during an incident freeze: they are the fix
          freezeOverride = opts.overrideFreeze?.reason?.trim() || opts.breakGlass?.reason?.trim() || `rollback during an incident freeze (${freezeIncidents ?? 'open incident'})`;
        } else {
          incidentFrozen = true;
          incidentMessage = frozenMessage(env.name, artifact.service, state.incidents, state.reason);
          why.push(incidentMessage.replace(/; pass overrideFreeze.*$/, ''));
        }
      }
    }
    const frozen = !!window || incidentFrozen;
    const askedReason = (opts.breakGlass?.reason ?? opts.overrideFreeze?.reason)?.trim() || undefined;
    if (opts.approval) {
      if (frozen && !opts.approval.breakGlass) {
        throw new ProductionFrozenError(
          `${why.join('; ')}; this approval request did not ask to break the freeze, so nothing was written. Ask again with a break-glass reason.`,
        );
      }
      return {
        freezeIncidents,
        freezeWarning,
        freezeOverride: incidentFrozen ? opts.approval.breakGlass : freezeOverride,
        breakGlass: frozen ? opts.approval.breakGlass : undefined,
        freezeWindow: window?.window.id,
      };
    }
    if (frozen && !askedReason) {
      if (!window) throw new ProductionFrozenError(incidentMessage);
      throw new ProductionFrozenError(
        `${why.join('; ')}; pass breakGlass (or overrideFreeze) with a reason to release anyway: written at once by platform, otherwise a second person must approve`,
      );
    }
    const needsApproval = this.approvals.needsApproval(env, intent);
    if (needsApproval) why.unshift(`${env.name} requires a second person's approval (four eyes)`);
    if ((needsApproval || frozen) && (await this.state.currentRelease(artifact.service, env.name))?.artifactId === artifact.id) {
      // already running there: the write below says "nothing to do"; no request, no override
      return { freezeWarning };
    }
    if (needsApproval || frozen) {
      if (askedReason && opts.breakGlass?.permitted) {
        if (frozen && opts.onFreezeOverridden && incidentFrozen) {
          await opts.onFreezeOverridden({
            service: artifact.service,
            environment: env.name,
            artifactId: artifact.id,
            reason: askedReason,
            incidents: (freezeIncidents ?? '').split(', ').filter(Boolean).map(id => ({ id, title: '' })),
          });
        }
        return {
          freezeIncidents,
          freezeWarning,
          freezeOverride: incidentFrozen ? askedReason : freezeOverride,
          breakGlass: askedReason,
          freezeWindow: window?.window.id,
        };
      }
      if (askedReason && !opts.breakGlass?.permitted) {
        why.push('break-glass without the platform role needs a second person');
      }
      // a request that could never be applied is refused now, not after someone reviewed it
      const policies = parsePolicies(artifact.service, await this.writer.readFile(`policies/${artifact.service}.json`), this.envs);
      const verdict = branchVerdict(policies, artifact.branch, env.name);
      if (!verdict.allowed) throw new NotAllowedError(verdict.reason);
      const approval = await this.approvals.create(
        {
          env,
          artifact,
          intent,
          promotedFrom: opts.promotedFrom,
          rollbackOf: opts.rollbackOf,
          reason,
          why,
          breakGlass: askedReason,
          freezeWindow: window?.window.id,
        },
        actor,
      );
      return { approval };
    }
    return { freezeOverride, freezeIncidents, freezeWarning };
  }

  /** Releases an artifact into an environment: one commit in the config repo. */
  async release(
    req: ReleaseRequest,
    actor: Actor,
    opts: ReleaseOptions = {},
  ): Promise<ReleaseResult> {
    const env = this.environment(req.environment);
    // An index rebuilt from git knows every artifact the history released (restored rows): when
    // the artifact is unknown, bring the index up to the head before saying so.
    const artifact = await this.artifacts.getArtifact(req.service, req.artifactId).catch(async e => {
      if (!(e instanceof NotFoundError)) throw e;
      await this.sync.ensureSynced();
      return this.artifacts.getArtifact(req.service, req.artifactId);
    });
    if (!artifact.environments.includes(env.name)) {
      throw new InputError(
        `artifact '${artifact.id}' carries no manifests for ${env.name} (it has: ${artifact.environments.join(', ')})`,
      );
    }
    const manifests = (await this.artifacts.manifestsOf(artifact))[env.name];
    const intent = opts.intent ?? 'release';
    const dir = releaseDir(env.name, artifact.namespace, artifact.service);
    // Organisation guardrail (no service policy widens it), the claimed branch verified, pins.
    const pinned = await this.preflight(req, opts, artifact, env.name, dir);
    // Freezes (incident, scheduled window) and four-eyes approval: written now, refused, or a
    // pending approval request (see ApprovalService.ts).
    const gate = await this.gate(env, artifact, intent, opts, actor, req.reason);
    if ('approval' in gate) {
      return {
        changed: false,
        message: `Nothing was written: ${gate.approval.why.join('; ')}. Approval request ${gate.approval.id} waits for someone else who may release ${artifact.service} to ${env.name} (expires ${gate.approval.expiresAt}).`,
        approval: gate.approval,
      };
    }
    const { freezeOverride, freezeIncidents, freezeWarning, breakGlass, freezeWindow } = gate;
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
      approvedBy: opts.approval?.approvedBy,
      approvalRequest: opts.approval?.requestId,
      breakGlass,
      freezeWindow,
    };
    const message = releaseCommitMessage(info);
    let written;
    try {
      await opts.beforeQueue?.();
      const queued = this.writer.write<ReleaseResult>({
        lookedAt: pinned.lookedAt,
        apply: async tree => {
          const policies = parsePolicies(
            artifact.service,
            await tree.readFile(`policies/${artifact.service}.json`),
            this.envs,
          );
          const verdict = branchVerdict(policies, artifact.branch, env.name);
          if (!verdict.allowed) throw new NotAllowedError(verdict.reason);
          assertAllowed(this.guardrails.branchVerdict(artifact.branch, env.name));
          await this.recheckInTree(tree, artifact.service, env.name, dir, opts, pinned);
          if ((await this.currentInTree(tree, dir)) === artifact.id) {
            return {
              noop: true,
              result: {
                changed: false,
                message: `${artifact.id} is already running in ${env.name}; nothing to do`,
              },
            };
          }
          // A namespace change moves the folder: the service's folders under other namespaces
          // of this environment go in the same commit (it never runs twice).
          const stale = (await otherNamespaceDirs(tree, env.name, artifact.namespace, artifact.service));
          for (const old of stale) await tree.remove(old);
          await tree.remove(dir);
          for (const [name, text] of Object.entries(manifests)) {
            await tree.writeFile(`${dir}/${name}`, text);
          }
          await tree.writeFile(`${dir}/artifact.json`, `${JSON.stringify(artifact.spec, null, 2)}\n`);
          const flux = this.flux
            ? await ensureFluxObjects(tree, env.name, artifact.namespace, artifact.service, this.flux)
            : [];
          return {
            result: { changed: true, message: '' },
            commit: {
              message,
              author: { name: actor.displayName ?? actor.email, email: actor.email },
              paths: [dir, ...stale, ...flux],
              // The Flux objects are the same whoever writes them: a concurrent release of another
              // service that added them first is not a conflict (re-applied on the new tip).
              conflictPaths: [dir, ...stale],
            },
          };
        },
      });
      opts.onQueued?.();
      written = await queued;
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
      opts.approval ? `approved by ${opts.approval.approvedBy}` : undefined,
      breakGlassNote(breakGlass, freezeOverride),
      freezeWindow ? `inside freeze window ${freezeWindow}` : undefined,
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
      approvedBy: info.approvedBy,
      approvalRequest: info.approvalRequest,
      breakGlass,
      freezeOverride,
      freezeWindow,
    };
    // The index learns the commit (and its position in history) through the one reader: from the
    // signed bytes the writer pushed when they continue what it last read, else through git.
    await this.sync.syncFromGit({ fetch: false, pushed: written.pushed });
    if (!this.sync.hasIngested(release.id) && !(await this.store.getRelease(this.configRepoKey, release.id))) {
      await this.store.insertReleases(this.configRepoKey, [release]);
    }
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
      description: `${release.commitTitle}${req.reason ? `\n${req.reason}` : ''}${opts.approval ? `\nApproved by ${opts.approval.approvedBy}` : ''}${breakGlass ? `\nBREAK-GLASS: ${breakGlass}` : ''}${freezeOverride ? `\nProduction freeze overridden (incidents ${freezeIncidents ?? 'open'}): ${freezeOverride}` : ''}`,
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
  
  async promote(
    req: PromoteRequest,
    actor: Actor,
    opts: Pick<ReleaseOptions, 'overrideFreeze' | 'onFreezeOverridden' | 'breakGlass'> = {},
  ): Promise<ReleaseResult> {
    check(invalidNameReason('service', req.service));
    this.environment(req.fromEnvironment);
    this.environment(req.toEnvironment);
    if (req.fromEnvironment === req.toEnvironment) {
      throw new InputError('fromEnvironment and toEnvironment must differ');
    }
    const from = await this.state.currentRelease(req.service, req.fromEnvironment);
    if (!from) {
      throw new NotFoundError(`Nothing of ${req.service} runs in ${req.fromEnvironment} to promote`);
    }
    // What the user saw comes first: a source that moved is "changed since you looked", whatever
    // the policies would say of the artifact that runs there now (checked again inside the write).
    if (req.pin?.artifactId && req.pin.artifactId !== from.artifactId) {
      throw new ChangedSinceYouLookedError(
        `${req.service} changed since you looked: ${req.fromEnvironment} now runs ${from.artifactId}, not ${req.pin.artifactId}. Nothing was written; look again and retry.`,
      );
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

  /**
   * Resolves the rollback target: the given artifact, or the artifact that ran before the
   * current one. The environment's verified release history (commit order) is replayed as a
   * stack: a release pushes its artifact, a rollback pops back to its target. So a second
   * rollback continues further back and never returns to the artifact rolled back from.
   */
  async rollbackTarget(req: RollbackRequest): Promise<{ target: string; current?: string }> {
    check(invalidNameReason('service', req.service));
    this.environment(req.environment);
    const current = await this.state.currentRelease(req.service, req.environment);
    if (req.artifactId) {
      check(invalidArtifactIdReason(req.artifactId));
      return { target: req.artifactId, current: current?.artifactId };
    }
    if (!current) throw new NotFoundError(`Nothing of ${req.service} runs in ${req.environment}`);
    await this.sync.ensureSynced();
    const history: Release[] = [];
    for (let cursor: string | undefined = undefined; ; ) {
      const page: Page<Release> = await this.store.listReleases(this.configRepoKey, req.service, {
        environment: req.environment,
        limit: 200,
        cursor,
      });
      history.push(...page.items);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    history.reverse();
    const stack: string[] = [];
    for (const r of history) {
      if (r.intent === 'rollback') {
        const at = stack.lastIndexOf(r.artifactId);
        if (at >= 0) {
          stack.length = at + 1;
          continue;
        }
      }
      if (stack[stack.length - 1] !== r.artifactId) stack.push(r.artifactId);
    }
    // The tree is the truth for what runs now (an adopted outside change may differ from the log).
    if (stack[stack.length - 1] !== current.artifactId) stack.push(current.artifactId);
    for (let i = stack.length - 2; i >= 0; i--) {
      if (stack[i] !== current.artifactId) return { target: stack[i], current: current.artifactId };
    }
    throw new NotFoundError(
      `No earlier artifact of ${req.service} ran in ${req.environment}; name one with artifactId`,
    );
  }

  async rollback(
    req: RollbackRequest,
    actor: Actor,
    opts: Pick<ReleaseOptions, 'overrideFreeze' | 'onFreezeOverridden' | 'breakGlass'> = {},
  ): Promise<ReleaseResult> {
    const { target, current } = await this.rollbackTarget(req);
    return this.release(
      { service: req.service, environment: req.environment, artifactId: target, reason: req.reason },
      actor,
      { ...opts, intent: 'rollback', rollbackOf: current, pin: req.pin },
    );
  }
}

/** "BREAK-GLASS: reason" for the answer (just "BREAK-GLASS" when the freeze override says the same). */
function breakGlassNote(breakGlass?: string, freezeOverride?: string): string | undefined {
  if (!breakGlass) return undefined;
  return breakGlass === freezeOverride ? 'BREAK-GLASS' : `BREAK-GLASS: ${breakGlass}`;
}

/** `<env>/releases/<ns>/<service>` folders of a service under namespaces other than `namespace`. */
async function otherNamespaceDirs(tree: WorkTree, env: string, namespace: string, service: string): Promise<string[]> {
  const namespaces = (await tree.listDirs(`${env}/releases`)).filter(ns => ns !== namespace);
  const out: string[] = [];
  for (const ns of namespaces) {
    if (invalidNameReason('namespace', ns)) continue;
    const dir = releaseDir(env, ns, service);
    if ((await tree.readFile(`${dir}/artifact.json`)) !== undefined || (await tree.list(dir)).length > 0) out.push(dir);
  }
  return out;
}
