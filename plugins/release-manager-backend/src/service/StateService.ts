import type { ReleaseFilter } from '../database/ReleaseManagerStore';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  invalidArtifactIdReason,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import type {
  EnvironmentStatus,
  ManifestDiff,
  Page,
  Release,
  RolloutStatusReport,
} from '@devplane/plugin-release-manager-common';
import type { Artifact } from '@devplane/plugin-release-manager-common';
import { releaseDir } from '../git/paths';
import { HistoryReader, TreeRelease, TreeState } from '../history/HistoryReader';
import type { GitSync } from '../sync/GitSync';
import type { ArtifactService } from './ArtifactService';
import { ReleaseManagerPart } from './context';
import { check } from './uploadValidation';
import { unifiedDiff } from './unifiedDiff';
import { environmentCommit } from './pins';

/** What runs where, the release log, diffs and rollout status: read from the config repo. */
export class StateService extends ReleaseManagerPart {
  artifacts!: ArtifactService;
  sync!: GitSync;
  reader!: HistoryReader;
  private cached?: TreeState;

  /** The tree state at the config repo's head (cached per head commit). */
  async treeState(): Promise<TreeState> {
    await this.writer.refresh();
    const head = (await this.reader.resolve()) ?? '';
    if (this.cached?.head === head) return this.cached;
    const state = await this.reader.stateAt(head || undefined);
    this.cached = state;
    return state;
  }

  /**
   * What the config repo's head says runs in an environment: `artifact.json` under
   * `<env>/releases/<ns>/<service>/` (the latest-written folder if several namespaces exist).
   */
  async currentRelease(service: string, environment: string): Promise<TreeRelease | undefined> {
    const state = await this.treeState();
    return pickCurrent(state.releases, service, environment);
  }

  async status(service: string): Promise<EnvironmentStatus[]> {
    check(invalidNameReason('service', service));
    const state = await this.treeState();
    await this.sync.ensureSynced();
    return Promise.all(
      this.envs.map(async env => {
        const current = pickCurrent(state.releases, service, env.name);
        const outsideChanges = state.outside.filter(
          o =>
            o.environments.includes(env.name) ||
            o.paths.some(p => p === `policies/${service}.json`),
        );
        // the environment's commit (pinned by the portal and the CLI, see pins.ts)
        const commit = await environmentCommit(this.reader, env.name, service);
        const base: EnvironmentStatus = { environment: env.name, production: env.production, commit };
        if (outsideChanges.length) base.outsideChanges = outsideChanges;
        if (!current) return base;
        const row = await this.store.getRelease(this.configRepoKey, current.commit);
        const release =
          row && row.service === service && row.environment === env.name && row.artifactId === current.artifactId
            ? row
            : undefined;
        const artifact =
          (await this.store.getArtifact(service, current.artifactId)) ?? artifactFromTree(current);
        return { ...base, release, artifact };
      }),
    );
  }

  async listReleases(
    service: string,
    options: ReleaseFilter & { limit?: number; cursor?: string },
  ): Promise<Page<Release>> {
    check(invalidNameReason('service', service));
    if (options.environment !== undefined) this.environment(options.environment);
    await this.sync.ensureSynced();
    return this.store.listReleases(this.configRepoKey, service, options);
  }

  async teamReleases(extraServices: string[], team: string, since: string): Promise<Release[]> {
    check(invalidNameReason('team', team));
    await this.sync.ensureSynced();
    const services = new Set([...extraServices, ...(await this.store.servicesOfSquad(team))]);
    return this.store.releasesSince(this.configRepoKey, [...services], since);
  }

  squadOf(service: string): Promise<string | undefined> {
    return this.store.squadOf(service);
  }

  async diff(service: string, environment: string, artifactId: string): Promise<ManifestDiff> {
    const env = this.environment(environment);
    const artifact = await this.artifacts.getArtifact(service, artifactId);
    const candidate = (await this.artifacts.manifestsOf(artifact))[env.name];
    if (!candidate) {
      throw new InputError(`artifact '${artifactId}' carries no manifests for ${env.name}`);
    }
    const current = await this.currentRelease(service, env.name);
    const environmentCommitSeen = await environmentCommit(this.reader, env.name, service);
    const dir = releaseDir(env.name, current?.namespace ?? artifact.namespace, service);
    const running = await this.writer.readDir(dir);
    delete running['artifact.json'];
    const names = [...new Set([...Object.keys(running), ...Object.keys(candidate)])].sort();
    return {
      environment: env.name,
      environmentCommit: environmentCommitSeen,
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
    await this.sync.ensureSynced();
    const release = await this.store.findRelease(
      this.configRepoKey,
      report.service,
      report.environment,
      report.artifactId,
    );
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
      title: `${report.service}: ${report.artifactId} in ${report.environment} is ${report.state}${progress}${report.reason ? ` (${report.reason})` : ''}${report.simulated ? ' [simulated cluster]' : ''}`,
      description: [report.message, ...(report.logLines ?? []).slice(-10)].filter(Boolean).join('\n'),
      squad: await this.store.squadOf(report.service),
      severity: report.state === 'failed' ? 'critical' : 'normal',
    });
    return updated;
  }
}

/** The release of a service in an environment at a tree state (newest folder if several). */
export function pickCurrent(releases: TreeRelease[], service: string, environment: string): TreeRelease | undefined {
  let best: TreeRelease | undefined;
  for (const r of releases) {
    if (r.service !== service || r.environment !== environment) continue;
    if (!best || r.seq > best.seq) best = r;
  }
  return best;
}

/** An artifact known only from the tree (its row is not in the index, e.g. adopted from outside). */
function artifactFromTree(r: TreeRelease): Artifact {
  const spec = r.artifact;
  return {
    id: spec.id,
    service: r.service,
    namespace: r.namespace,
    branch: spec.application?.branch ?? '',
    sha: spec.application?.sha ?? '',
    message: spec.application?.message ?? '',
    authorName: spec.application?.authorName ?? '',
    authorEmail: spec.application?.authorEmail ?? '',
    ciJobUrl: spec.ci?.jobUrl,
    createdAt: '',
    createdBy: 'config repo',
    environments: [r.environment],
    spec,
  };
}
