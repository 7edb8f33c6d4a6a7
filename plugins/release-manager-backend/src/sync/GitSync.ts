import { ConflictError, InputError } from '@backstage/errors';
import {
  invalidArtifactIdReason,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import type { Artifact } from '@devplane/plugin-release-manager-common';
import { NewRelease } from '../database/ReleaseManagerStore';
import { parseTrailers, releaseInfoFromMessage } from '../git/commitMessage';
import { CommitRecord } from '../git/GitOpsWriter';
import { releaseDir } from '../git/paths';
import type { ArtifactService } from '../service/ArtifactService';
import { ReleaseManagerPart } from '../service/context';
import { artifactSpecSchema, parseBody } from '../service/schemas';
import { validateUpload } from '../service/uploadValidation';

/** Keeps the database index in step with the config repo (git is the truth). */
export class GitSync extends ReleaseManagerPart {
  artifacts!: ArtifactService;
  private syncing?: Promise<number>;

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
          const buf = await this.blobs.get(this.artifacts.manifestKey(service, artifactId));
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
      const blobKey = this.artifacts.manifestKey(r.spec.service, r.spec.id);
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
