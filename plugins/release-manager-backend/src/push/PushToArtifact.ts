import type { AuditorService, AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotAllowedError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import type { PushEvent, LocalGitHost } from '@devplane/plugin-git-host-node';
import type { PushProgress, PushStep } from '@devplane/plugin-release-manager-common';
import { actorFromIdentity } from '../service/actors';
import { intakeArtifact } from '../service/artifactIntake';
import { identitiesOfRef, splitUploadEnvironments } from '../service/uploaders';
import { Notifier } from '../service/Notifier';
import { Actor, ReleaseManager } from '../service/ReleaseManager';
import { localSourceSnapshot } from './localSource';
import { PushProgressStore } from './PushProgressStore';
import { NotAServiceError, SourceSnapshot, artifactFromSource, shuttleFacts } from './sourceArtifact';

function releaseStepStatus(r: { release?: unknown; message: string }): PushStep['status'] {
  if (r.release) return 'done';
  return r.message.includes('failed') ? 'refused' : 'skipped';
}

/** Said wherever a push becomes an artifact, so nobody expects a built image. */
export const NO_IMAGE_NOTE =
  'No container image is built by the embedded git host: the artifact carries the repository\'s manifests with the commit sha as image tag.';

const ANNOTATIONS = ['backstage.io/source-location', 'backstage.io/managed-by-location'];

/** Options of {@link PushToArtifact}. */
export interface PushToArtifactOptions {
  manager: ReleaseManager;
  auditor: AuditorService;
  progress: PushProgressStore;
  notifier: Notifier;
  logger: LoggerService;
  catalog: CatalogService;
  auth: AuthService;
  /** Repositories that are never services (the config repo). */
  ignoreRepos: string[];
}

/**
 * Turns an accepted push into an artifact through the same intake as CI uploads, then lets the
 * auto-release policies run; every step is recorded (portal) and notified (squad, signals).
 */
export class PushToArtifact {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: PushToArtifactOptions) {}

  /** Subscribes to the local git host's push events. */
  attach(host: LocalGitHost): () => void {
    return host.onPush(event => {
      const p = this.fromLocalPush(host, event)
        .catch(e => this.options.logger.error(`Push ${event.repo} ${event.ref} → artifact failed: ${e?.stack ?? e}`))
        .finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    });
  }

  /** Waits for pushes being processed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  async fromLocalPush(host: LocalGitHost, event: PushEvent): Promise<PushProgress | undefined> {
    if (this.options.ignoreRepos.includes(event.repo)) return undefined;
    if (!event.ref.startsWith('refs/heads/') || /^0+$/.test(event.after)) return undefined;
    const branch = event.ref.slice('refs/heads/'.length);
    const source = await localSourceSnapshot(host, event.repo, branch, event.after);
    return this.fromSource(source, {
      pusher: event.pusher,
      via: 'local-git-host',
      sourceRepoUrl: `${host.baseUrl}/${event.repo}/`,
      repoIsService: (service: string) => service === event.repo,
    });
  }

  /**
   * One push of a service repository at a commit (local or GitHub). `repoIsService` says whether
   * the repository is the service's own by name; otherwise the catalog must say so.
   */
  async fromSource(
    source: SourceSnapshot,
    how: {
      pusher?: string;
      via: 'local-git-host' | 'github';
      sourceRepoUrl: string;
      repoIsService: (service: string) => boolean;
    },
  ): Promise<PushProgress | undefined> {
    const { logger, progress } = this.options;
    const receivedAt = new Date().toISOString();
    const sha10 = source.commit.sha.slice(0, 10);
    const shuttleText = await source.readFile('shuttle.yaml');
    if (shuttleText === undefined) {
      logger.info(`Push to ${source.repo} ${source.branch} ${sha10}: no shuttle.yaml, not a service; no artifact`);
      return undefined;
    }
    let service: string;
    let squad: string | undefined;
    try {
      ({ service, squad } = shuttleFacts(source.repo, shuttleText));
    } catch (e: any) {
      logger.warn(`Push to ${source.repo} ${source.branch} ${sha10}: ${e.message}; no artifact`);
      return undefined;
    }
    const pusher = how.pusher ?? 'anonymous';
    let current = await progress.start(
      { service, repo: source.repo, branch: source.branch, sha: source.commit.sha, pusher, source: how.via },
      {
        step: 'received',
        status: 'done',
        message: `Push of ${source.branch} at ${sha10} by ${pusher} received. ${NO_IMAGE_NOTE}`,
      },
    );
    logger.info(`Push to ${source.repo} ${source.branch} ${sha10} by ${pusher} received for ${service}. ${NO_IMAGE_NOTE}`);
    this.announce(current, squad, `${service}: push to ${source.branch} (${sha10}) received`, current.steps[0].message);

    const step = async (s: Omit<PushStep, 'at'>, update: Parameters<PushProgressStore['addStep']>[2] = {}) => {
      current = await progress.addStep(current.id, s, update);
      const log = s.status === 'done' || s.status === 'skipped' ? logger.info : logger.warn;
      log.call(logger, `Push to ${source.repo} ${source.branch} ${sha10}: ${s.step} ${s.status}: ${s.message}`);
      this.announce(current, squad, `${service}: ${s.step} ${s.status} for ${source.branch} (${sha10})`, s.message, s.status === 'done' ? 'normal' : 'high');
    };

    if (!how.repoIsService(service) && !(await this.catalogSaysSource(service, how.sourceRepoUrl))) {
      await step(
        {
          step: 'artifact',
          status: 'refused',
          message: `shuttle.yaml names service '${service}', but ${source.repo} is not its repository (the repository is not named ${service} and the catalog does not list it as the source of component ${service})`,
        },
        { state: 'refused' },
      );
      return current;
    }

    let result;
    try {
      const built = await artifactFromSource(source, this.options.manager.environments(), { receivedAt });
      const actor = await this.actorOf(how.pusher);
      // A push is an upload by the pusher: the uploader guardrail applies as to CI uploads. The
      // artifact leaves out the environments the pusher may not bring manifests for.
      const split = await splitUploadEnvironments({
        auth: this.options.auth,
        catalog: this.options.catalog,
        guardrails: this.options.manager.guardrails,
        identities: await identitiesOfRef(this.options.catalog, this.options.auth, how.pusher),
        service,
        environments: Object.keys(built.upload.manifests),
      });
      if (split.allowed.length === 0) throw new NotAllowedError(`Push of ${service} refused: ${split.reason}`);
      if (split.refused.length) {
        logger.warn(`Push to ${source.repo} ${source.branch} ${sha10}: manifests for ${split.refused.join(', ')} left out: ${split.reason}`);
      }
      const upload = {
        ...built.upload,
        manifests: Object.fromEntries(Object.entries(built.upload.manifests).filter(([env]) => split.allowed.includes(env))),
      };
      result = await intakeArtifact({ manager: this.options.manager, auditor: this.options.auditor, upload, actor, via: how.via });
    } catch (e: any) {
      if (e instanceof ConflictError) {
        await step({ step: 'artifact', status: 'skipped', message: `${e.message}: this commit was already turned into an artifact` }, { state: 'skipped' });
      } else if (e instanceof InputError || e instanceof NotAllowedError || e instanceof NotAServiceError) {
        await step({ step: 'artifact', status: 'refused', message: e.message }, { state: 'refused' });
      } else {
        await step({ step: 'artifact', status: 'failed', message: e?.message ?? String(e) }, { state: 'failed' });
      }
      return current;
    }
    const { artifact, autoReleases } = result;
    await step(
      {
        step: 'artifact',
        status: 'done',
        message: `Artifact ${artifact.id} created for ${artifact.environments.join(', ')} (uploaded by ${pusher}; author ${artifact.authorEmail} as claimed by the commit)`,
      },
      { state: 'artifact-created', artifactId: artifact.id },
    );
    if (autoReleases.length === 0) {
      await step({ step: 'release', status: 'skipped', message: `No auto-release policy of ${service} matches branch ${source.branch}` });
      return current;
    }
    let released = false;
    for (const r of autoReleases) {
      const env = r.release?.environment ?? /auto-release to ([^ ]+)/.exec(r.message)?.[1] ?? 'policy';
      if (r.release) released = true;
      await step(
        {
          step: `release:${env}`,
          status: releaseStepStatus(r),
          message: r.message,
        },
        r.release ? { state: 'released' } : {},
      );
    }
    if (!released && current.state !== 'released') {
      current = await progress.addStep(current.id, { step: 'release', status: 'skipped', message: 'No auto-release went through' }, { state: 'artifact-created' });
    }
    return current;
  }

  private async actorOf(pusher: string | undefined): Promise<Actor> {
    if (!pusher) return { ref: 'anonymous', email: 'anonymous@git-host.local', displayName: 'Anonymous push' };
    return actorFromIdentity(pusher, { catalog: this.options.catalog, auth: this.options.auth, logger: this.options.logger });
  }

  /** True when the catalog's component for the service has this repository as its source. */
  private async catalogSaysSource(service: string, repoUrl: string): Promise<boolean> {
    try {
      const entity = await this.options.catalog.getEntityByRef(`component:default/${service}`, {
        credentials: await this.options.auth.getOwnServiceCredentials(),
      });
      const annotations = entity?.metadata.annotations ?? {};
      return ANNOTATIONS.some(a => (annotations[a] ?? '').replace(/^url:/, '').startsWith(repoUrl));
    } catch (e: any) {
      this.options.logger.warn(`Catalog lookup of ${service} failed: ${e?.message ?? e}`);
      return false;
    }
  }

  private announce(p: PushProgress, squad: string | undefined, title: string, description: string, severity: 'normal' | 'high' = 'normal') {
    this.options.notifier.notify({
      signal: { kind: 'push-progress', service: p.service, artifactId: p.artifactId },
      title,
      description,
      squad,
      severity,
    });
  }
}
