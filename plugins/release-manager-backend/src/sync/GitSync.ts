import { ConflictError, InputError } from '@backstage/errors';
import {
  invalidArtifactIdReason,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import type { Artifact } from '@devplane/plugin-release-manager-common';
import { NewRelease } from '../database/ReleaseManagerStore';
import type { OutsideChange } from '@devplane/plugin-release-manager-common';
import {
  CommitBytesRefused,
  HistoryReader,
  outsideChangeOf,
  RecordedReleaseInfo,
  releaseInfoOf,
  VerifiedCommit,
} from '../history/HistoryReader';
import type { WrittenCommit } from '../git/GitOpsWriter';
import { releaseDir } from '../git/paths';
import type { ArtifactService } from '../service/ArtifactService';
import { ReleaseManagerPart } from '../service/context';
import { artifactSpecSchema, parseBody } from '../service/schemas';
import { validateUpload } from '../service/uploadValidation';

/** Keeps the database index in step with the config repo (git is the truth). */
export class GitSync extends ReleaseManagerPart {
  artifacts!: ArtifactService;
  reader!: HistoryReader;
  /** Called once per outside change found by an incremental sync (not while rebuilding). */
  onOutsideChange?: (change: OutsideChange) => Promise<void> | void;
  private syncing?: Promise<number>;
  private queued?: Promise<number>;
  /** Last commit this process ingested and its position (saves counting history). */
  private lastSynced?: { sha: string; seq: number };
  /** Release commits this process's recent syncs put into the index (bounded). */
  private readonly ingested = new Set<string>();

  /** Whether a recent sync of this process put release commit `sha` into the index. */
  hasIngested(sha: string): boolean {
    return this.ingested.has(sha);
  }

  /**
   * Brings the index up to the config repo's head when it lags (no marker after the database
   * was dropped, a marker behind the head, rows from before commit ordering).
   */
  async ensureSynced(): Promise<void> {
    const [marker, head] = await Promise.all([
      this.store.getSyncMarker(this.configRepoKey),
      this.writer.head(),
    ]);
    if (!marker || marker !== head || (await this.store.hasUnorderedReleases(this.configRepoKey))) {
      await this.syncFromGit({ fetch: false });
    }
  }

  /**
   * Ingests the verified release commits the index does not know yet. A call made while a sync
   * runs waits for the next one (so it sees every commit pushed before the call). Returns how
   * many releases were read.
   *
   * `pushed`: the commits a write of this process just pushed (the writer's signed bytes). When
   * they continue exactly what this process last ingested, the index learns them from those bytes
   * (signature verified, see `HistoryReader.fromBytes`) without a git process; otherwise, or when
   * the bytes are refused, the history is read through git as always.
   */
  syncFromGit(options: { fetch?: boolean; pushed?: WrittenCommit[] } = {}): Promise<number> {
    if (this.syncing) {
      if (!this.queued) {
        this.queued = this.syncing
          .catch(() => 0)
          .then(() => {
            this.queued = undefined;
            return this.syncFromGit(options);
          });
      }
      return this.queued;
    }
    this.syncing = this.doSync(options.fetch ?? true, options.pushed).finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /**
   * The records of `pushed` from the writer's bytes, when they continue the commit the database
   * marker names and this process knows that commit's position (it ingested it, or its reader
   * verified the history up to it); undefined when they do not, or when any of them is refused
   * (then the caller reads through git).
   */
  private async fromWritten(
    pushed: WrittenCommit[] | undefined,
    marker: string | undefined,
  ): Promise<VerifiedCommit[] | undefined> {
    if (!pushed?.length || !marker || pushed[0].parent !== marker) return undefined;
    // The marker's position: this process ingested it, or its history reader verified every commit
    // up to it (another replica's push handed over, whose releases that replica indexed).
    const last = this.lastSynced;
    const seq = last?.sha === marker ? last.seq : this.reader.seqOfTip(marker);
    if (seq === undefined) return undefined;
    for (let i = 1; i < pushed.length; i++) if (pushed[i].parent !== pushed[i - 1].sha) return undefined;
    if (await this.store.hasUnorderedReleases(this.configRepoKey)) return undefined;
    try {
      return pushed.map((w, i) =>
        this.reader.fromBytes({ raw: w.raw, sha: w.sha, tree: w.tree, parent: w.parent, paths: w.paths, seq: seq + i + 1 }),
      );
    } catch (e: any) {
      if (!(e instanceof CommitBytesRefused)) throw e;
      if (e.tampered) this.logger.warn(`Reading the pushed commits through git: ${e.message}`);
      return undefined;
    }
  }

  private async doSync(fetch: boolean, pushed?: WrittenCommit[]): Promise<number> {
    if (fetch) await this.writer.refresh(0);
    const marker = await this.store.getSyncMarker(this.configRepoKey);
    // The commits just pushed are in the index already (a caller of the same push synced first).
    if (marker && marker === this.lastSynced?.sha && marker === pushed?.[pushed.length - 1]?.sha) return 0;
    const written = fetch ? undefined : await this.fromWritten(pushed, marker);
    // No marker: the index is being rebuilt from scratch. Rebuilding only reads: it never
    // releases, commits or notifies (outside changes found now were reported when they came).
    const rebuilding = !marker;
    let since: string | undefined = marker;
    if (!written && (rebuilding || (await this.store.hasUnorderedReleases(this.configRepoKey)))) since = undefined;
    const startSeq = since && since === this.lastSynced?.sha ? this.lastSynced.seq : undefined;
    // (With startSeq the reader trusts `since` as an ancestor; a rewritten history is caught below.)
    const releases: NewRelease[] = [];
    const releaseCommits: VerifiedCommit[] = [];
    const outside: VerifiedCommit[] = [];
    let last: string | undefined;
    let lastSeq = 0;
    const seen: VerifiedCommit[] = [];
    // A full read also gives the reader its scan (outside changes, last commit per folder), so
    // the history is read and verified once at start, not twice.
    const observer = since ? undefined : this.reader.fullReadObserver();
    for await (const c of written ?? this.reader.commits({ since, startSeq })) {
      last = c.sha;
      lastSeq = c.seq;
      if (since) seen.push(c);
      observer?.add(c);
      if (c.kind === 'outside') {
        outside.push(c);
        continue;
      }
      const info = releaseInfoOf(c);
      if (!info) continue;
      releaseCommits.push(c);
      releases.push({
        id: c.sha,
        service: info.service,
        environment: info.environment,
        namespace:
          info.namespace ??
          (await this.store.getArtifact(info.service, info.artifactId))?.namespace ??
          'default',
        artifactId: info.artifactId,
        intent: info.intent,
        releasedBy: info.releasedBy,
        releasedAt: c.committedAt,
        branch: info.branch,
        promotedFrom: info.promotedFrom,
        rollbackOf: info.rollbackOf,
        reason: info.reason,
        commitTitle: info.title,
        commitSeq: c.seq,
        approvedBy: info.approvedBy,
        approvalRequest: info.approvalRequest,
        breakGlass: info.breakGlass,
        freezeOverride: info.freezeOverride,
        freezeWindow: info.freezeWindow,
      });
    }
    observer?.done();
    // Artifacts first: once the releases are visible, what they name can be released again.
    // (Not for this process's own push: it released those artifacts from the store just now.)
    if (!written) await this.restoreArtifactsFromGit(releaseCommits);
    await this.store.insertReleases(this.configRepoKey, releases);
    if (this.ingested.size > 5_000) this.ingested.clear();
    for (const r of releases) this.ingested.add(r.id);
    const head = last ?? (await this.writer.head());
    if (head) await this.store.setSyncMarker(this.configRepoKey, head);
    if (last) this.lastSynced = { sha: last, seq: lastSeq };
    if (since) this.reader.absorb(since, seen);
    if (releases.length) this.logger.info(`Read ${releases.length} release(s) from the config repo history`);
    for (const c of outside) {
      const change = outsideChangeOf(c);
      this.logger.warn(
        `Config repo changed outside the release manager: commit ${c.sha} by ${change.pusher} (signature ${c.signature}), ${change.paths.slice(0, 5).join(', ')}`,
      );
      if (!rebuilding) await this.onOutsideChange?.(change);
    }
    return releases.length;
  }

  /**
   * Restores, from the release commits' trees, the artifacts (rows and manifests) that the
   * database or the blob store lost: for each (artifact, environment) released in `commits` and
   * missing from the store, reads `artifact.json` and the manifests of the release folder at that
   * commit, validates them exactly as an upload, and merges them into the store. Content that
   * does not validate is skipped with a warning (the release log is still rebuilt).
   */
  private async restoreArtifactsFromGit(commits: VerifiedCommit[]): Promise<void> {
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
    // Candidates first (the store's answer per artifact), then their release folders read in
    // batches (two `git cat-file --batch` runs per batch, not a process per file).
    const candidates: { c: VerifiedCommit; info: RecordedReleaseInfo; namespace: string; key: string }[] = [];
    for (const c of commits) {
      const info = releaseInfoOf(c);
      if (!info) continue;
      if (
        invalidNameReason('service', info.service) ||
        invalidNameReason('environment', info.environment) ||
        invalidArtifactIdReason(info.artifactId) ||
        !this.envs.some(e => e.name === info.environment)
      ) {
        continue;
      }
      const namespace = info.namespace;
      if (!namespace || invalidNameReason('namespace', namespace)) continue;
      const key = `${info.service}/${info.artifactId}`;
      const h = await heldOf(info.service, info.artifactId);
      if (h.artifact?.environments.includes(info.environment) && h.blobEnvs.has(info.environment)) continue;
      candidates.push({ c, info, namespace, key });
    }
    const BATCH = 1000;
    for (let b = 0; b < candidates.length; b += BATCH) {
      const chunk = candidates.slice(b, b + BATCH);
      const dirs = await this.reader.readDirs(
        chunk.map(x => ({ commit: x.c.sha, dir: releaseDir(x.info.environment, x.namespace, x.info.service) })),
      );
      chunk.forEach(({ c, info, namespace, key }, n) => {
        if (restored.get(key)?.manifests[info.environment]) return;
        const where = `${info.artifactId} (${info.environment}/${info.service}, commit ${c.sha.slice(0, 10)})`;
        try {
          const dir = dirs[n];
          const specText = dir?.files['artifact.json'];
          if (!dir || specText === undefined) return;
          if (dir.nested) throw new InputError('the release folder holds a subfolder (manifests are plain files)');
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
          for (const [name, text] of Object.entries(dir.files)) {
            if (name !== 'artifact.json') manifests[name] = text;
          }
          // Same checks as an upload: names (no folders), sizes, YAML.
          validateUpload({ spec, manifests: { [info.environment]: manifests } }, this.envs);
          const entry = restored.get(key) ?? {
            spec,
            createdBy: info.artifactCreatedBy || info.releasedBy,
            createdAt: c.committedAt,
            manifests: {},
          };
          entry.manifests[info.environment] = manifests;
          restored.set(key, entry);
        } catch (e: any) {
          this.logger.warn(`Cannot restore artifact ${where} from the config repo: ${e?.message ?? e}`);
        }
      });
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
