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
import { releaseDir } from '../git/paths';
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

  /** What the config repo says runs in an environment (artifact id), via the release log. */
  async currentRelease(service: string, environment: string): Promise<Release | undefined> {
    await this.sync.ensureSynced();
    return (await this.store.latestReleases(this.configRepoKey, service)).get(environment);
  }

  async status(service: string): Promise<EnvironmentStatus[]> {
    check(invalidNameReason('service', service));
    await this.sync.ensureSynced();
    const latest = await this.store.latestReleases(this.configRepoKey, service);
    return Promise.all(
      this.envs.map(async env => {
        const release = latest.get(env.name);
        const artifact = release
          ? await this.store.getArtifact(service, release.artifactId)
          : undefined;
        // the environment's commit (pinned by the portal and the CLI, see pins.ts)
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
    await this.writer.refresh();
    const environmentCommitSeen = await environmentCommit(this.writer, env.name, service);
    const current = await this.currentRelease(service, env.name);
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
      title: `${report.service}: ${report.artifactId} in ${report.environment} is ${report.state}${progress}${report.reason ? ` (${report.reason})` : ''}${report.simulated ? ' [simulated cluster]' : ''}`,
      description: [report.message, ...(report.logLines ?? []).slice(-10)].filter(Boolean).join('\n'),
      squad: await this.store.squadOf(report.service),
      severity: report.state === 'failed' ? 'critical' : 'normal',
    });
    return updated;
  }
}
