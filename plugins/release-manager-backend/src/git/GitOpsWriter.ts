import fs from 'node:fs/promises';
import path from 'node:path';
import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, ServiceUnavailableError } from '@backstage/errors';
import {
  GitCommandError,
  runGit,
  runGitBuffer,
} from '@devplane/plugin-git-host-node';
import { buildPack, changedFiles, commitHeader, entryAt, hashObject, ObjectReader, PackWriter, parseTree, TreeEditor, TreeEntry } from './objects';
import { localRepoPath, pushToLocalRepo } from './receivePack';
import type { PushLock } from './PushLock';
import type { HandedObject, PushHandoff } from './pushHandoff';
import { remoteRefOverHttp } from './remoteRef';
import type { CommitSigner } from './Signer';
import { OverlayBase, TreeOverlay } from './treeOverlay';

/** Who the release manager commits as (the author is the releaser). */
export interface GitPerson {
  name: string;
  email: string;
}

/** Options of {@link GitOpsWriter}. */
export interface GitOpsWriterOptions {
  /** Directory of the writer's own working clone. */
  workDir: string;
  /** Remote: a local path to a bare repository or an http(s) URL. */
  remoteUrl: string;
  /** Branch that Flux watches (default `main`). */
  branch?: string;
  /** Token for http(s) remotes, sent as a header, never stored in `.git/config`. */
  token?: string;
  logger?: LoggerService;
  committer?: GitPerson;
  /** Time budget for retrying a push the remote rejected because it moved (default 30 s). */
  retryBudgetMs?: number;
  /** Hard cap on push attempts within the budget (default 500). */
  maxAttempts?: number;
  /** Upper bound of the jittered wait between attempts (default 100 ms). */
  maxBackoffMs?: number;
  /** Called before every push attempt (tests use it to make the remote move). */
  beforePush?: () => Promise<void>;
  /** Maximum number of queued writes carried by one push (default 100). */
  maxBatch?: number;
  /** Signs every commit the writer makes (OpenPGP `gpgsig`); absent → unsigned commits. */
  signer?: CommitSigner;
  /**
   * Called with the remote tip before the writer commits on top of it; throwing refuses the
   * write (e.g. the tip holds a change made outside the release manager). Jobs marked
   * `bypassGate` (platform's revert/adopt decision) are not refused.
   */
  gate?: (tip: string) => Promise<void>;
  /**
   * The paths whose change can make the gate refuse (see {@link GitOpsWriter.configureTrust}):
   * commits on top of a tip the gate cleared that change none of them are cleared without asking.
   * Default: every path (the gate is asked for every tip the writer did not write itself).
   */
  gatedPath?: (path: string) => boolean;
  /**
   * Held around each batch's fetch → apply → sign → push, shared with the other replicas that
   * write the same branch (a PostgreSQL advisory lock, see PushLock.ts). Without it replicas
   * still write correctly (git refuses non-fast-forward pushes; the writer retries).
   */
  pushLock?: PushLock;
  /**
   * With `pushLock`: where replicas record their pushes for the next holder of the lock, which
   * then builds on the new tip without fetching it (see pushHandoff.ts).
   */
  handoff?: PushHandoff;
}

/**
 * The config repo as a write job sees it: the commit the job applies on, plus what the jobs
 * before it in the batch and the job itself wrote (in memory, see TreeOverlay: nothing is
 * checked out). All paths are repository-relative.
 */
export interface WorkTree {
  readFile(rel: string): Promise<string | undefined>;
  writeFile(rel: string, content: string | Buffer): Promise<void>;
  /** Removes a file or directory (recursively); missing is fine. */
  remove(rel: string): Promise<void>;
  /** Files directly inside a directory (names, sorted), empty when missing. */
  list(rel: string): Promise<string[]>;
  /** Directories directly inside a directory (names, sorted), empty when missing. */
  listDirs(rel: string): Promise<string[]>;
}

/** Result of a job's `apply`: either a commit to make or nothing to do. */
export type JobOutcome<T> =
  | {
      commit: {
        message: string;
        author?: GitPerson;
        paths: string[];
        /**
         * The paths this job owns, when fewer than `paths`: an upstream change to one of them is a
         * conflict. The other paths are idempotent "ensure" writes (the same content whoever
         * writes them), which the job re-decides on the new tip instead. Default: all of `paths`.
         */
        conflictPaths?: string[];
      };
      result: T;
    }
  | { noop: true; result: T };

/** One queued write: one commit (or none). */
export interface WriteJob<T> {
  /** Applies the change to the working tree; called on a tree equal to the remote branch plus
   * the commits queued before it in the same batch. May be called again (on a newer remote tip,
   * or on a dry-run tree to re-decide it), so it must depend only on the tree it is given. */
  apply(tree: WorkTree): Promise<JobOutcome<T>>;
  /** Written even when the gate refuses the tip (only platform's decision on an outside change). */
  bypassGate?: boolean;
  /**
   * When the caller last looked at the remote ({@link GitOpsWriter.lookedAt} after `refresh(0)`,
   * e.g. to check what the user pinned): the batch needs no newer look for this job, and an
   * upstream change to its paths after that moment is a conflict. Default: when it is queued.
   */
  lookedAt?: number;
}

/** A commit the writer made and pushed: the exact bytes it signed and the paths it changed. */
export interface WrittenCommit {
  sha: string;
  parent: string;
  /** The root tree the commit names (built in process from `parent`'s tree). */
  tree: string;
  /** The raw commit object (with its `gpgsig` header when signing is on). */
  raw: Buffer;
  /** Files whose content changed against `parent`, in git's path order. */
  paths: string[];
}

/** What a write produced. */
export interface WriteResult<T> {
  result: T;
  /** The pushed commit, absent for a no-op. */
  commit?: string;
  committedAt?: string;
  /** Every commit the push that carried this write landed, oldest first (absent for a no-op). */
  pushed?: WrittenCommit[];
}

/** A commit read back from the config repo. */
export interface CommitRecord {
  sha: string;
  committedAt: string;
  authorName: string;
  authorEmail: string;
  message: string;
  /** Paths the commit touched (when asked for). */
  files?: string[];
}

/** A job's commit content: for each of its paths, the files below it. */
type Snapshot = { rel: string; files: [string, Buffer][] }[];

type Pending = {
  job: WriteJob<any>;
  queuedAt: number;
  resolve: (v: WriteResult<any>) => void;
  reject: (e: Error) => void;
  outcome?: JobOutcome<any>;
  snapshot?: Snapshot;
  /** Blob ids of the snapshot's files (kept across rebuilds on a new tip). */
  blobs?: Map<string, string>;
  localSha?: string;
  written?: WrittenCommit;
  /** The objects the last build of this job's commit wrote (for the push handoff). */
  objects?: HandedObject[];
  error?: Error;
  commit?: string;
  committedAt?: string;
  pushed?: WrittenCommit[];
};

/**
 * Jobs decided before the push lock was had (see GitOpsWriter.prepare): their outcomes and
 * commit contents on `base`, and what they read of it.
 */
type Prepared = {
  base: string;
  jobs: Pending[];
  decided: Map<Pending, { outcome: JobOutcome<any>; snapshot?: Snapshot }>;
  reads: ReadonlyMap<string, string>;
};

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Validated names joined by `/` (no `.` or `..` segment): nothing to quote, nothing outside. */
function isPlainPath(rel: string): boolean {
  return /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(rel) && !rel.split('/').some(s => s === '..' || s === '.');
}

/** Paths written by the writer are plain paths (see isPlainPath). */
function assertPlainPath(rel: string): string {
  if (!isPlainPath(rel)) {
    throw new Error(`Refusing to commit path '${rel.slice(0, 200)}'`);
  }
  return rel;
}


/** Removes `*.lock` files left in a git directory (not under objects/). */
export async function removeStaleLocks(gitDir: string): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string) => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'objects') await walk(p);
      } else if (e.name.endsWith('.lock')) {
        await fs.rm(p, { force: true });
        removed.push(p);
      }
    }
  };
  await walk(gitDir);
  return removed;
}

/** The changed files that fall under one of a committing job's paths. */
function conflictingPaths(p: Pending, changed: string[]): string[] {
  if (changed.length === 0) return [];
  const commit = (p.outcome as any).commit as { paths: string[]; conflictPaths?: string[] };
  const paths = commit.conflictPaths ?? commit.paths;
  return changed.filter(f => paths.some(q => f === q || f.startsWith(`${q}/`)));
}

/** A push the remote answered and refused (a hook, branch protection): what it said, one line. */
function refusedPush(how: string | undefined, said: string[]): ServiceUnavailableError {
  const text = said
    .map(l => l.replace(/^remote:\s*/, '').trim())
    .filter(Boolean)
    .join(' ')
    .slice(0, 300);
  return new ServiceUnavailableError(
    `The config repo refused the push${how ? ` (${how})` : ''}${text ? `: ${text}` : ''}; nothing was released`,
  );
}

function isPushRejected(e: unknown): boolean {
  if (!(e instanceof GitCommandError)) return false;
  // The remote moved (or another push held its ref lock at that moment): retry. A push the
  // remote refused for another reason (a hook, a protected branch) is not retried.
  return /non-fast-forward|\(fetch first\)|failed to update ref|cannot lock ref|failed to lock|stale info|incorrect old value/i.test(
    e.stderr + e.stdout,
  );
}

/**
 * Writes the GitOps config repository through its own working clone: a serial queue of write
 * jobs, one commit per job, and one push carrying every commit queued meanwhile. A push the
 * remote rejects because it moved (other replicas, outside committers) is not a conflict: the
 * writer fetches, moves to the new tip, re-applies the batch's jobs there and pushes again, with
 * a short jittered backoff, for up to `retryBudgetMs` (then a 503). Only a job whose own paths
 * someone else changed after the batch started (and which is not a no-op on the new tip) fails,
 * with a ConflictError. Never force-pushes; history stays linear. Local state is reset to the
 * remote before a batch whenever anything went wrong before (including a crash of a previous
 * process).
 */
export class GitOpsWriter {
  readonly workDir: string;
  readonly remoteUrl: string;
  readonly branch: string;
  private readonly token?: string;
  private readonly logger?: LoggerService;
  private readonly committer: GitPerson;
  private readonly maxAttempts: number;
  private readonly retryBudgetMs: number;
  private readonly maxBackoffMs: number;
  private readonly beforePush?: () => Promise<void>;
  private readonly maxBatch: number;
  private signer?: CommitSigner;
  private gate?: (tip: string) => Promise<void>;
  private gatedPath?: (path: string) => boolean;
  /**
   * The last tip the gate let a whole batch through on, moved along by this writer's own pushes
   * on top of it (commits it signed add no outside change): the next batch on that tip needs no
   * second verdict, which would read the commits just pushed back through git.
   */
  private gateClearedAt = '';
  private readonly pushLock?: PushLock;
  private readonly handoff?: PushHandoff;
  /** Whether the last batch had a push refused because the remote moved (then: look, don't trust the handoff). */
  private lastBatchRejected = false;
  /** Verifies commits handed over by another replica before anything is built on them (configureTrust). */
  private handedOver?: (from: string, commits: WrittenCommit[]) => boolean;
  private readonly queue: Pending[] = [];
  /** Wakes a preparation waiting for the next job (see prepare). */
  private queued?: () => void;
  private draining = false;
  private needsReset = true;
  private lock: Promise<unknown> = Promise.resolve();
  private lastFetch = 0;
  private lastFetchStarted = 0;
  private fetchInFlight?: Promise<void>;
  /**
   * Whether the remote's tip may be asked in process (remoteRef.ts): undefined until the clone's
   * git config was checked for http/url settings fetch() would not honour; after an answer it
   * could not use, not before `httpLsRefsRetryAt`.
   */
  private httpLsRefs?: boolean;
  private httpLsRefsRetryAt = 0;
  /** Reads objects of the clone (one long-lived `git cat-file --batch`). */
  private readonly objects: ObjectReader;
  /** Writes each batch's objects (and each push handed over) as one pack. */
  private readonly packs: PackWriter;
  /** Packs written since small packs were last rolled up (see {@link rollUpPacks}). */
  private packsSinceRollUp = 0;
  private rollingUp?: Promise<void>;
  private maintaining = false;
  /** The remote's directory when it is on this file system ('' when not; undefined before the first push). */
  private localRemote?: string;
  /**
   * The commit the work tree and the local chain of commits are at. Commits are made in process
   * and pushed by id: the local branch ref only moves on a reset.
   */
  private treeHead = '';
  /** The remote branch tip as last fetched or pushed ('' before the first fetch / empty remote). */
  private originTip = '';
  private readonly treeCache = new Map<string, TreeEntry[]>();
  private readonly blobCache = new Map<string, Buffer>();
  private readonly commitTrees = new Map<string, string>();

  /** Pushes performed and commits they carried (for tests and the benchmark). */
  readonly stats = { pushes: 0, commits: 0, rejectedPushes: 0, handoffs: 0, fetches: 0, prepared: 0 };
  /** Open {@link hold}s: the queue is not drained while any is open. */
  private holds = 0;

  static async create(options: GitOpsWriterOptions): Promise<GitOpsWriter> {
    const w = new GitOpsWriter(options);
    await w.ensureClone();
    return w;
  }

  private constructor(options: GitOpsWriterOptions) {
    this.workDir = path.resolve(options.workDir);
    this.remoteUrl = options.remoteUrl;
    this.branch = options.branch ?? 'main';
    this.token = options.token;
    this.logger = options.logger;
    this.committer = options.committer ?? {
      name: 'Release Manager',
      email: 'release-manager@devplane.local',
    };
    this.maxAttempts = options.maxAttempts ?? 500;
    this.retryBudgetMs = options.retryBudgetMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 100;
    this.beforePush = options.beforePush;
    this.maxBatch = options.maxBatch ?? 100;
    this.handoff = options.pushLock ? options.handoff : undefined;
    this.signer = options.signer;
    this.gate = options.gate;
    this.gatedPath = options.gatedPath;
    this.pushLock = options.pushLock;
    this.objects = new ObjectReader(this.workDir);
    this.packs = new PackWriter(path.join(this.workDir, '.git'));
  }

  /** Stops the clone's object reader (it also stops by itself when idle). */
  close(): void {
    this.objects.close();
  }

  /**
   * Signs every later commit with `signer` and refuses to write on a tip `gate` rejects (the
   * release manager sets both from its signing key and verified history reader).
   */
  configureTrust(options: {
    signer?: CommitSigner;
    gate?: (tip: string) => Promise<void>;
    gatedPath?: (path: string) => boolean;
    /**
     * Whether commits another replica handed over (pushHandoff.ts) may be built on: true only when
     * every one is the release manager's own, signed. Without it, handed-over commits are not used.
     */
    handedOver?: (from: string, commits: WrittenCommit[]) => boolean;
  }): void {
    if (options.signer) this.signer = options.signer;
    if (options.gate) this.gate = options.gate;
    if (options.gatedPath) this.gatedPath = options.gatedPath;
    if (options.handedOver) this.handedOver = options.handedOver;
    this.gateClearedAt = '';
  }

  /** The remote-tracking ref the readers read (the remote branch as last fetched). */
  get originRef() {
    return `refs/remotes/origin/${this.branch}`;
  }

  private env(extra?: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {
      GIT_COMMITTER_NAME: this.committer.name,
      GIT_COMMITTER_EMAIL: this.committer.email,
      ...extra,
    };
    if (this.token && /^https?:/.test(this.remoteUrl)) {
      const basic = Buffer.from(`x-access-token:${this.token}`).toString('base64');
      env.GIT_CONFIG_COUNT = '1';
      env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
      env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
    }
    return env;
  }

  private git(
    args: string[],
    opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {},
  ) {
    return runGit(args, { cwd: this.workDir, input: opts.input, env: this.env(opts.env), timeoutMs: opts.timeoutMs });
  }

  private async ensureClone(): Promise<void> {
    let ok = false;
    try {
      const { stdout } = await runGit(['rev-parse', '--show-toplevel'], { cwd: this.workDir });
      ok = path.resolve(stdout.trim()) === this.workDir;
    } catch {
      ok = false;
    }
    if (!ok) {
      await fs.rm(this.workDir, { recursive: true, force: true });
      await fs.mkdir(path.dirname(this.workDir), { recursive: true });
      await runGit(['clone', '--quiet', '--no-checkout', this.remoteUrl, this.workDir], {
        env: this.env(),
      });
    } else {
      await this.git(['remote', 'set-url', 'origin', this.remoteUrl]);
    }
    // A crashed process (kill -9) may have left locks or a half-done rebase behind. The clone is
    // this process's alone (claimed), so every lock in it is stale.
    await removeStaleLocks(path.join(this.workDir, '.git'));
    await this.git(['config', 'gc.auto', '0']);
    await this.resetToOrigin(true);
  }

  /** Serialises every operation on the working clone. */
  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async fetchOrigin(): Promise<void> {
    const started = Date.now();
    this.stats.fetches++;
    await this.git([
      'fetch',
      '--quiet',
      '--no-tags',
      // Nothing after the ref update: a retry's fetch → push window must stay short.
      '--no-auto-maintenance',
      '--no-auto-gc',
      '--no-write-fetch-head',
      '--no-show-forced-updates',
      '--no-recurse-submodules',
      'origin',
      `+refs/heads/${this.branch}:${this.originRef}`,
    ]).catch(async e => {
      // An empty remote has no branch yet.
      if (e instanceof GitCommandError && /couldn't find remote ref/i.test(e.stderr)) return;
      throw e;
    });
    this.originTip = await this.resolveCommit(this.originRef);
    this.lastFetch = Date.now();
    this.lastFetchStarted = started;
  }

  /** The remote branch's tip now (one `ls-remote`); '' when the branch does not exist. */
  private async remoteTip(): Promise<string> {
    const ref = `refs/heads/${this.branch}`;
    const viaHttp = await this.remoteTipOverHttp(ref);
    if (viaHttp !== undefined) return viaHttp;
    const { stdout } = await this.git(['ls-remote', 'origin', ref]);
    return (
      stdout
        .split('\n')
        .map(l => l.split('\t'))
        .find(([, name]) => name === ref)?.[0] ?? ''
    );
  }

  /**
   * The tip through one in-process HTTP request (git's protocol v2 `ls-refs`, see remoteRef.ts);
   * undefined when that cannot answer like git would (then `git ls-remote` asks).
   */
  private async remoteTipOverHttp(ref: string): Promise<string | undefined> {
    if (!/^https?:/.test(this.remoteUrl) || Date.now() < this.httpLsRefsRetryAt) return undefined;
    if (this.httpLsRefs === undefined) {
      // http.* / url.* settings in any git config (proxy, CA file, insteadOf): git's job, not ours.
      const { stdout } = await runGit(['config', '--get-regexp', '^(http|url)\\.'], { cwd: this.workDir }).catch(
        () => ({ stdout: '' }),
      );
      this.httpLsRefs = stdout.trim() === '';
    }
    if (!this.httpLsRefs) return undefined;
    const tip = await remoteRefOverHttp(this.remoteUrl, ref, { token: this.token });
    if (tip === undefined) {
      this.httpLsRefsRetryAt = Date.now() + 5 * 60_000;
      this.logger?.info('Config repo: the remote did not answer an in-process ls-refs; using git ls-remote for 5 minutes');
    }
    return tip;
  }

  /**
   * Fetches only when the remote branch moved since the last fetch or push: one `ls-remote`
   * (no pack negotiation) when it did not.
   */
  private async fetchIfMoved(): Promise<void> {
    if (!this.originTip) {
      await this.fetchOrigin();
      return;
    }
    const started = Date.now();
    const tip = await this.remoteTip();
    if (tip !== this.originTip) {
      await this.fetchOrigin();
      return;
    }
    this.lastFetch = Date.now();
    this.lastFetchStarted = started;
  }

  private async hasOriginBranch(): Promise<boolean> {
    return (await this.revParse(this.originRef)) !== '';
  }

  /**
   * Throws away any local state and starts again from the remote branch. Jobs apply on trees
   * read from the object store (TreeOverlay), so the branch is not checked out.
   */
  private async resetToOrigin(initialise = false): Promise<void> {
    for (const args of [['rebase', '--abort'], ['cherry-pick', '--abort'], ['merge', '--abort']]) {
      await this.git(args).catch(() => undefined);
    }
    await fs.rm(path.join(this.workDir, '.git', 'index.lock'), { force: true });
    await this.fetchOrigin();
    if (!(await this.hasOriginBranch()) && initialise) {
      // Empty remote: create the branch with a first commit.
      await this.git(['checkout', '--quiet', '--orphan', this.branch]).catch(() => undefined);
      await fs.writeFile(
        path.join(this.workDir, 'README.md'),
        '# GitOps config repository\n\nWritten by the release manager. `<env>/releases/<namespace>/<service>/` and `policies/<service>.json`.\n',
      );
      await this.git(['add', 'README.md']);
      await this.git(['commit', '--quiet', '-m', 'Initialise config repository'], {
        env: { GIT_AUTHOR_NAME: this.committer.name, GIT_AUTHOR_EMAIL: this.committer.email },
      });
      await this.git(['push', '--quiet', 'origin', `HEAD:refs/heads/${this.branch}`]);
      await this.git(['rm', '--quiet', '--cached', 'README.md']);
      await fs.rm(path.join(this.workDir, 'README.md'), { force: true });
      await this.fetchOrigin();
    }
    this.treeHead = this.originTip;
    this.needsReset = false;
  }

  /** Queues a write; resolves once its commit is pushed (or it was a no-op). */
  write<T>(job: WriteJob<T>): Promise<WriteResult<T>> {
    return new Promise<WriteResult<T>>((resolve, reject) => {
      // A look at the remote that started at `lookedAt` is recent enough (see syncToOrigin).
      const queuedAt = job.lookedAt !== undefined ? Math.min(Date.now(), job.lookedAt - 1) : Date.now();
      this.queue.push({ job, resolve, reject, queuedAt });
      const queued = this.queued;
      this.queued = undefined;
      queued?.();
      this.kick();
    });
  }

  /**
   * Holds the queue for writes decided together (one artifact's auto-releases into several
   * environments): what is queued meanwhile waits until every hold is released, or `maxMs`
   * passed, and then goes out in one push (one fetch, one push, one commit per write). Returns
   * the release function; calling it again does nothing.
   */
  hold(maxMs = 3000): () => void {
    this.holds += 1;
    let released = false;
    let timer: NodeJS.Timeout | undefined = undefined;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.holds -= 1;
      this.kick();
    };
    timer = setTimeout(release, maxMs);
    timer.unref?.();
    return release;
  }

  private kick() {
    if (this.draining || this.holds > 0) return;
    this.draining = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0 || this.holds > 0) {
        this.draining = false;
        return;
      }
      // The batch is taken once the clone and the push lock are held: what was queued while
      // another replica held the lock rides along in the same push (bigger batches, fewer races).
      const waiting = Math.min(this.queue.length, this.maxBatch);
      let batch: Pending[] | undefined;
      // While waiting for another replica's turn, the jobs queued meanwhile are decided on the
      // tip known now; once the lock is had, what still holds on the new tip is not decided again.
      const preparing = this.pushLock ? this.prepare() : undefined;
      const run = async () => {
        const prepared = await preparing?.stop();
        return this.runBatch((batch = this.queue.splice(0, this.maxBatch)), prepared);
      };
      try {
        await this.withLock(() => (this.pushLock ? this.pushLock.run(run) : run()));
      } catch (err: any) {
        void preparing?.stop(); // the lock was not had: nothing waits for the preparation
        this.needsReset = true;
        this.logger?.error(`Config repo write failed: ${err?.message ?? err}`);
        const e = this.unreachable(err);
        // Not had the lock: the jobs that were waiting for it fail with its error.
        batch ??= this.queue.splice(0, waiting);
        for (const p of batch) {
          if (!p.error && !p.commit && !('noop' in (p.outcome ?? {}))) p.error = e as Error;
        }
      }
      for (const p of batch ?? []) {
        if (p.error) p.reject(p.error);
        else
          p.resolve({
            result: p.outcome!.result,
            commit: p.commit,
            committedAt: p.commit ? p.committedAt : undefined,
            pushed: p.commit ? p.pushed : undefined,
          });
      }
    }
  }

  /** A fetch or push that failed for another reason than a moved remote: the remote is unreachable. */
  private unreachable(e: unknown): unknown {
    if (!(e instanceof GitCommandError) || !['fetch', 'push', 'clone', 'ls-remote'].includes(e.args[0])) return e;
    if (e.args[0] === 'push' && /\[remote rejected\]|hook declined|protected branch/i.test(e.stderr)) {
      // The remote answered and refused the commits (a hook, branch protection): not an outage.
      const how = /\(([^)]*)\)\s*$/m.exec(e.stderr.split('\n').find(l => /\[remote rejected\]/.test(l)) ?? '')?.[1];
      return refusedPush(how, e.stderr.split('\n').filter(l => /^remote:/.test(l)));
    }
    const why = (e.stderr.split('\n').find(l => /fatal|error/i.test(l)) ?? e.stderr.split('\n')[0] ?? '')
      .replace(/^(fatal|error): /i, '')
      .replace(this.remoteUrl, 'the remote')
      .trim()
      .slice(0, 200);
    return new ServiceUnavailableError(
      `The config repo cannot be reached (git ${e.args[0]} failed: ${why}); nothing was released, try again once it is back`,
    );
  }

  /** A job's view of the config repo at `commit` (default: where the next commit goes). */
  private async overlay(commit = this.treeHead): Promise<TreeOverlay> {
    return new TreeOverlay(this.overlayBase(commit ? await this.treeOfCommit(commit) : undefined));
  }

  private overlayBase(rootTree: string | undefined): OverlayBase {
    return {
      rootTree,
      readTree: sha => this.readTree(sha),
      readBlob: async sha => {
        const cached = this.blobCache.get(sha);
        if (cached) return cached;
        const o = await this.objects.read(sha);
        if (o?.type !== 'blob') return undefined;
        this.cacheBlob(sha, o.content);
        return o.content;
      },
    };
  }

  private async runBatch(batch: Pending[], prepared?: Prepared): Promise<void> {
    if (this.needsReset) await this.resetToOrigin(true);
    const started = Date.now();
    // Look at the remote as it is now (after every job of the batch was queued): a change to a
    // job's paths that lands after this point is a true conflict, one before it is just history.
    // Holding the push lock, look after taking it: the replica that held it before has just
    // pushed, and a push on the tip from before that is rejected for sure. That replica's
    // record of its push (takeHandoff) is such a look when it can be used.
    if (await this.takeHandoff(started)) this.treeHead = this.originTip;
    else await this.syncToOrigin(this.pushLock ? started : Math.max(...batch.map(p => p.queuedAt)));
    this.lastBatchRejected = false;
    let base = this.treeHead;
    let live = await this.applyJobs(await this.passGate(batch, base), prepared);
    for (let attempt = 1; live.length > 0; attempt++) {
      if (await this.tryPush(live)) return;
      this.stats.rejectedPushes++;
      this.lastBatchRejected = true;
      if (Date.now() - started >= this.retryBudgetMs || attempt >= this.maxAttempts) {
        throw new ServiceUnavailableError(
          `The config repo is too busy: push rejected ${attempt} times in ${Math.round(
            (Date.now() - started) / 1000,
          )} s because others kept pushing; nothing was written (nothing force-pushed), retry later`,
        );
      }
      // Jittered backoff, kept short: what decides success is the fetch → push window.
      await sleep(Math.random() * Math.min(this.maxBackoffMs, 10 * 2 ** Math.min(attempt, 10)));
      await this.fetchOrigin();
      const tip = this.originTip;
      // What changed upstream, and whether the new tip holds a change made outside the release
      // manager (the gate: nothing is signed on top of it).
      const [changed] = await Promise.all([this.changedPaths(live, base, tip), this.checkGate(tip, live)]);
      const hit = live.some(p => conflictingPaths(p, changed).length > 0);
      if (hit) {
        // Someone changed a path of ours: re-decide those jobs on the new tip, re-apply the rest.
        this.treeHead = tip;
        live = await this.applyJobs(await this.dropConflicting(live, changed));
      } else {
        // Fast path (the remote moved elsewhere): the same commits on the new tip, from their
        // in-memory snapshots.
        await this.buildCommits(live, tip);
      }
      base = tip;
    }
  }

  /** Jobs the gate lets through on `tip`; the others fail with the gate's error. */
  private async passGate(jobs: Pending[], tip: string): Promise<Pending[]> {
    if (!this.gate || !tip || (await this.clearedWithoutAsking(tip))) return jobs;
    try {
      await this.gate(tip);
      this.gateClearedAt = tip;
      return jobs;
    } catch (e: any) {
      for (const p of jobs) if (!p.job.bypassGate) p.error = e;
      return jobs.filter(p => p.job.bypassGate);
    }
  }

  /** After the remote moved during a batch: the whole batch fails if the gate refuses the new tip. */
  private async checkGate(tip: string, jobs: Pending[]): Promise<void> {
    if (!this.gate || !tip || jobs.every(p => p.job.bypassGate) || (await this.clearedWithoutAsking(tip))) return;
    await this.gate(tip);
    this.gateClearedAt = tip;
  }

  /**
   * True when `tip` needs no verdict of the gate: it is the tip the gate last cleared, or that
   * tip followed by at most 100 single-parent commits none of which changes a gated path (a
   * commit that changes no gated path cannot make the gate refuse). Read in process, from the
   * commits and trees the fetch brought: no git process, so a retry after a rejected push does
   * not re-read history through git while the remote keeps moving.
   */
  private async clearedWithoutAsking(tip: string): Promise<boolean> {
    const cleared = this.gateClearedAt;
    if (!cleared) return false;
    if (tip === cleared) return true;
    const gated = this.gatedPath;
    if (!gated) return false;
    let at = tip;
    for (let i = 0; i < 100; i++) {
      const o = await this.objects.read(at);
      if (!o || o.type !== 'commit') return false;
      const { tree, parents } = commitHeader(o.content);
      if (parents.length !== 1) return false;
      const changed = await changedFiles(await this.treeOfCommit(parents[0]), tree, sha => this.readTree(sha));
      if (changed.some(gated)) return false;
      if (parents[0] === cleared) {
        this.gateClearedAt = tip;
        return true;
      }
      at = parents[0];
    }
    return false;
  }

  /**
   * Takes the pushes other replicas recorded since this clone's view of the branch (holding the
   * push lock, see pushHandoff.ts): their objects are written to the clone, their commits verified
   * (`handedOver`), and the remote-tracking ref moved to the last one, as a fetch would. False when
   * there is nothing usable (no record, a gap, an unverified commit, a push of ours refused last
   * time): then the writer looks at the remote as before. Either way the remote decides: a tip it
   * has moved past makes the push fail as non-fast-forward, and the retry fetches.
   */
  private async takeHandoff(started: number): Promise<boolean> {
    if (!this.handoff || !this.originTip || this.lastBatchRejected || !this.handedOver) return false;
    const pushes = await this.handoff.pushesAfter(this.originTip);
    if (!pushes) return false;
    if (pushes.length > 0) {
      const objects = new Map<string, HandedObject>();
      for (const p of pushes) for (const o of p.objects) objects.set(hashObject(o.type, o.content), o);
      // Each push's commits, from its tip back to its parent (single-parent, all in the objects).
      const commits: WrittenCommit[] = [];
      for (const p of pushes) {
        const chain: WrittenCommit[] = [];
        for (let at = p.tip; at !== p.parent; ) {
          const o = objects.get(at);
          if (!o || o.type !== 'commit' || chain.length > 10_000) return false;
          const { tree, parents } = commitHeader(o.content);
          if (parents.length !== 1) return false;
          chain.unshift({ sha: at, parent: parents[0], tree, raw: o.content, paths: [] });
          at = parents[0];
        }
        commits.push(...chain);
      }
      if (commits[0]?.parent !== this.originTip) return false;
      // The paths each commit changed, from the trees at hand (in memory: no object is written
      // before the commits verify).
      try {
        for (const [sha, o] of objects) if (o.type === 'tree') this.cacheTree(sha, parseTree(o.content));
        for (const c of commits) {
          c.paths = await changedFiles(
            c.parent === this.originTip ? await this.treeOfCommit(c.parent) : this.commitTrees.get(c.parent)!,
            c.tree,
            sha => this.readTree(sha),
          );
          this.commitTrees.set(c.sha, c.tree);
        }
      } catch (e: any) {
        this.logger?.warn(`Config repo: a push handed over by another replica is incomplete (${e?.message ?? e}); fetching instead`);
        return false;
      }
      // Nothing another replica recorded enters the clone unless the release manager signed it.
      if (!this.handedOver(this.originTip, commits)) {
        this.logger?.warn('Config repo: a push handed over by another replica did not verify as the release manager\'s; fetching instead');
        return false;
      }
      for (const o of objects.values()) this.packs.add(o.type, o.content);
      this.flushPack();
      const tip = commits[commits.length - 1].sha;
      await this.setOriginRef(tip);
      this.originTip = tip;
    }
    this.lastFetchStarted = started;
    this.lastFetch = Date.now();
    this.stats.handoffs++;
    return true;
  }

  /** Moves the remote-tracking ref as a fetch would (lock file + rename, like git). */
  private async setOriginRef(sha: string): Promise<void> {
    const file = path.join(this.workDir, '.git', ...this.originRef.split('/'));
    await fs.mkdir(path.dirname(file), { recursive: true });
    // Created exclusively, as git takes a ref lock: a git process holding it (pack-refs) wins,
    // and then the ref is moved through git.
    try {
      await fs.writeFile(`${file}.lock`, `${sha}\n`, { flag: 'wx' });
    } catch (e: any) {
      if (e?.code !== 'EEXIST') throw e;
      await this.git(['update-ref', this.originRef, sha]);
      return;
    }
    await fs.rename(`${file}.lock`, file);
  }

  /** Fetches if the last fetch started before `since`; the next jobs apply on the remote tip. */
  private async syncToOrigin(since: number): Promise<void> {
    if (this.lastFetchStarted <= since) await this.fetchIfMoved();
    if (this.originTip) this.treeHead = this.originTip;
  }

  private async revParse(ref: string): Promise<string> {
    const { stdout } = await this.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).catch(() => ({
      stdout: '',
    }));
    return stdout.trim();
  }

  /** The commit a ref names now ('' when it does not exist), read without a process. */
  private async resolveCommit(ref: string): Promise<string> {
    const o = await this.objects.read(`${ref}^{commit}`);
    return o?.type === 'commit' ? o.sha : '';
  }

  /** Id of the tree or blob at `rel` in a commit (undefined when absent), from the cached trees. */
  private async idAt(commit: string, rel: string): Promise<string | undefined> {
    const e = await entryAt(await this.treeOfCommit(commit), rel, sha => this.readTree(sha));
    return e && `${e.mode} ${e.sha}`;
  }

  /**
   * The jobs' own paths (see `conflictPaths`) that differ between `from` and `to`: compared by
   * tree and blob ids, in process.
   */
  private async changedPaths(jobs: Pending[], from: string, to: string): Promise<string[]> {
    const paths = new Set<string>();
    for (const p of jobs) {
      const commit = (p.outcome as any).commit as { paths: string[]; conflictPaths?: string[] };
      for (const q of commit.conflictPaths ?? commit.paths) paths.add(assertPlainPath(q));
    }
    const out: string[] = [];
    for (const q of paths) if ((await this.idAt(from, q)) !== (await this.idAt(to, q))) out.push(q);
    return out;
  }

  /**
   * After the remote moved: a job whose paths someone else changed in between is re-decided on
   * the new tip without writing (a no-op there — e.g. the same artifact already runs — is fine);
   * otherwise it fails with a ConflictError. The rest stay queued and are re-applied on the tip.
   */
  private async dropConflicting(jobs: Pending[], changed: string[]): Promise<Pending[]> {
    if (changed.length === 0) return jobs;
    const live: Pending[] = [];
    for (const p of jobs) {
      const hit = conflictingPaths(p, changed);
      if (hit.length === 0) {
        live.push(p);
        continue;
      }
      try {
        // On the new tip, in memory: a re-decision writes nothing.
        const outcome = await p.job.apply(await this.overlay());
        if ('noop' in outcome) {
          p.outcome = outcome;
          continue;
        }
        p.error = new ConflictError(
          `Conflict in the config repo: ${hit.slice(0, 5).join(', ')} changed upstream while this write was in flight; nothing was written, retry once you have looked at the new state`,
        );
        this.logger?.warn(p.error.message);
      } catch (e: any) {
        p.error = e;
      }
    }
    return live;
  }

  /**
   * Applies jobs one after the other on the tree at `treeHead` (each sees what the ones before it
   * wrote) and commits each; returns the jobs that made a commit.
   */
  private async applyJobs(jobs: Pending[], prepared?: Prepared): Promise<Pending[]> {
    const committed: Pending[] = [];
    let rest = jobs;
    if (prepared && (await this.stillDecided(prepared, jobs))) {
      // Decided before the lock on a tip whose answers to every read are the same on this one.
      const ready: Pending[] = [];
      for (const p of prepared.jobs) {
        const d = prepared.decided.get(p)!;
        p.outcome = d.outcome;
        if (!d.snapshot) continue;
        p.snapshot = d.snapshot;
        p.blobs = undefined;
        ready.push(p);
      }
      await this.buildCommits(ready, this.treeHead);
      committed.push(...ready);
      rest = jobs.slice(prepared.jobs.length);
      this.stats.prepared += prepared.jobs.length;
    }
    let tree = await this.overlay();
    let applied: Pending[] = [];
    for (const p of rest) {
      try {
        p.outcome = await p.job.apply(tree);
        if (!('noop' in p.outcome)) {
          p.snapshot = await this.snapshot(tree, p.outcome.commit.paths);
          p.blobs = undefined;
          applied.push(p);
        }
      } catch (e: any) {
        p.error = e;
        // Commit what the earlier jobs applied, then discard this job's partial changes.
        await this.buildCommits(applied, this.treeHead);
        committed.push(...applied);
        applied = [];
        tree = await this.overlay();
      }
    }
    await this.buildCommits(applied, this.treeHead);
    committed.push(...applied);
    return committed;
  }

  /**
   * Decides the queued jobs, in queue order, on the tip known now while the push lock is waited
   * for (the other replica is pushing meanwhile): each applied as it would be under the lock, on
   * an overlay that records what the jobs read; jobs queued during the wait are decided as they
   * arrive. `stop` (the lock is had) returns the jobs decided so far. A job that fails ends the
   * preparation before it: it is decided again under the lock, where its error counts (the tip
   * here may be older than what its caller looked at).
   */
  private prepare(): { stop(): Promise<Prepared | undefined> } {
    let stopped = false;
    let wake: (() => void) | undefined;
    const base = this.treeHead;
    const work = (async (): Promise<Prepared | undefined> => {
      if (!base || this.needsReset) return undefined;
      const tree = new TreeOverlay(this.overlayBase(await this.treeOfCommit(base)), { recordReads: true });
      const jobs: Pending[] = [];
      const decided: Prepared['decided'] = new Map();
      const nextQueued = () =>
        new Promise<void>(r => {
          wake = r;
          this.queued = r;
        });
      while (!stopped && jobs.length < this.maxBatch) {
        const p = this.queue[jobs.length];
        if (!p) {
          await nextQueued();
          continue;
        }
        try {
          const outcome = await p.job.apply(tree);
          decided.set(p, { outcome, snapshot: 'noop' in outcome ? undefined : await this.snapshot(tree, outcome.commit.paths) });
          jobs.push(p);
        } catch {
          break;
        }
      }
      return jobs.length ? { base, jobs, decided, reads: tree.baseReads } : undefined;
    })().catch(() => undefined);
    return {
      stop: () => {
        stopped = true;
        wake?.();
        return work;
      },
    };
  }

  /**
   * Whether the prepared decisions hold on `treeHead` (the tip under the lock): the batch still
   * starts with the prepared jobs, the tip gives every read the same answer (so each job decides
   * the same: a job depends only on the tree it is given), and no path a job commits changed
   * (its commit replaces those paths whole).
   */
  private async stillDecided(prepared: Prepared, jobs: Pending[]): Promise<boolean> {
    if (prepared.jobs.length > jobs.length || prepared.jobs.some((p, i) => jobs[i] !== p)) return false;
    if (prepared.base === this.treeHead) return true;
    for (const d of prepared.decided.values()) {
      if (!('noop' in d.outcome)) {
        for (const rel of d.outcome.commit.paths) {
          if ((await this.idAt(prepared.base, rel)) !== (await this.idAt(this.treeHead, rel))) return false;
        }
      }
    }
    return TreeOverlay.sameReads(prepared.reads, this.overlayBase(await this.treeOfCommit(this.treeHead)));
  }

  /** The files at or below each path as the job's tree has them now (its commit's content). */
  private async snapshot(tree: TreeOverlay, paths: string[]): Promise<Snapshot> {
    const out: Snapshot = [];
    for (const rel of paths) {
      const clean = assertPlainPath(rel);
      const files: [string, Buffer][] = [];
      for (const file of await tree.filesUnder(clean)) {
        files.push([assertPlainPath(file), (await tree.readBytes(file))!]);
      }
      out.push({ rel: clean, files });
    }
    return out;
  }

  private async readTree(sha: string): Promise<TreeEntry[]> {
    let entries = this.treeCache.get(sha);
    if (!entries) {
      const o = await this.objects.read(sha);
      if (!o || o.type !== 'tree') throw new Error(`Config repo clone is inconsistent: tree ${sha} missing`);
      entries = parseTree(o.content);
      this.cacheTree(sha, entries);
    }
    return entries;
  }

  /**
   * Keeps small blobs by id (objects never change): the files every release of an environment
   * reads (its Flux objects, a service's Kustomization) cost no round trip to git after the first.
   */
  private cacheBlob(sha: string, content: Buffer) {
    if (content.length > 16 * 1024) return;
    if (this.blobCache.size > 5_000) this.blobCache.clear();
    this.blobCache.set(sha, content);
  }

  private cacheTree(sha: string, entries: TreeEntry[]) {
    if (this.treeCache.size > 20_000) this.treeCache.clear();
    this.treeCache.set(sha, entries);
  }

  private async treeOfCommit(sha: string): Promise<string> {
    let tree = this.commitTrees.get(sha);
    if (!tree) {
      const o = await this.objects.read(sha);
      if (!o || o.type !== 'commit') throw new Error(`Config repo clone is inconsistent: commit ${sha} missing`);
      tree = commitHeader(o.content).tree;
      if (this.commitTrees.size > 10_000) this.commitTrees.clear();
      this.commitTrees.set(sha, tree);
    }
    return tree;
  }

  /**
   * Turns applied jobs into one commit each, on top of `from`, in process: blobs from the jobs'
   * snapshots, the trees on their paths re-written (each path replaced by what is below it in
   * the snapshot, as `git fast-import`'s `D`/`M` would), the commit object signed, and all of
   * the chain's objects written as one pack. No git process per commit; the bytes signed are the
   * bytes pushed.
   */
  private async buildCommits(jobs: Pending[], from: string): Promise<void> {
    if (jobs.length === 0) return;
    const now = Math.floor(Date.now() / 1000);
    const committedAt = new Date(now * 1000).toISOString();
    const ident = (p: GitPerson) =>
      `${(p.name || p.email).replace(/[<>\n]/g, '')} <${p.email.replace(/[<>\n]/g, '')}>`;
    const write = async (type: string, content: Buffer) => {
      const sha = this.packs.add(type, content);
      // The next commit of the chain edits this tree: keep it (a read would be a round trip).
      if (type === 'tree') this.cacheTree(sha, parseTree(content));
      else if (type === 'blob') this.cacheBlob(sha, content);
      return sha;
    };
    let parent = from;
    for (const p of jobs) {
      const { message, author } = (p.outcome as any).commit as { message: string; author?: GitPerson };
      const editor = new TreeEditor(parent ? await this.treeOfCommit(parent) : undefined, sha => this.readTree(sha));
      const blobs = (p.blobs ??= new Map());
      const objects: HandedObject[] = (p.objects = []);
      for (const { rel, files } of p.snapshot!) {
        await editor.remove(rel);
        for (const [file, content] of files) {
          let blob = blobs.get(file);
          if (!blob) blobs.set(file, (blob = await write('blob', content)));
          objects.push({ type: 'blob', content });
          await editor.put(file, blob);
        }
      }
      const { tree, changed } = await editor.finish((type, content) => {
        objects.push({ type, content });
        return write(type, content);
      });
      const payload = Buffer.concat([
        Buffer.from(
          `tree ${tree}\n${parent ? `parent ${parent}\n` : ''}author ${ident(author ?? this.committer)} ${now} +0000\ncommitter ${ident(this.committer)} ${now} +0000\n\n`,
          'utf8',
        ),
        Buffer.from(message, 'utf8'),
      ]);
      let raw: Buffer = payload;
      // Verified once it is pushed, by whoever ingests it (GitSync), from these same bytes.
      if (this.signer) raw = this.signer.signCommit(payload);
      const sha = await write('commit', raw);
      objects.push({ type: 'commit', content: raw });
      if (this.commitTrees.size > 10_000) this.commitTrees.clear();
      this.commitTrees.set(sha, tree);
      p.localSha = sha;
      p.committedAt = committedAt;
      p.written = { sha, parent, tree, raw, paths: changed };
      parent = sha;
    }
    // One pack for the whole chain, before anything (update-ref, the push) looks for its objects.
    this.flushPack();
    this.treeHead = parent;
  }

  /** Writes the objects collected so far as one pack; every 50 packs, rolls small packs up. */
  private flushPack(): void {
    if (!this.packs.flushSync()) return;
    if (++this.packsSinceRollUp >= 50 && !this.rollingUp && !this.maintaining) {
      this.packsSinceRollUp = 0;
      this.rollingUp = this.rollUpPacks()
        .catch(e => this.logger?.warn(`Config repo clone: rolling up small packs failed: ${e?.message ?? e}`))
        .finally(() => {
          this.rollingUp = undefined;
        });
    }
  }

  /**
   * Rolls the small packs of recent batches into one (`repack --geometric=2`: the packs of older
   * history are not rewritten), so that object lookups do not walk thousands of pack indexes
   * between two scheduled maintenances. Outside the write lock, as maintain() runs.
   */
  private async rollUpPacks(): Promise<void> {
    await this.git(['repack', '-d', '-q', '--geometric=2'], { timeoutMs: 10 * 60_000 });
  }

  /**
   * Pushes the last commit of the chain (never forced). True when it landed, false when the
   * remote moved meanwhile.
   */
  private async tryPush(committed: Pending[]): Promise<boolean> {
    const tip = committed[committed.length - 1].localSha!;
    await this.beforePush?.();
    const direct = await this.pushDirect(committed, tip);
    if (direct === 'moved') return false;
    if (direct === 'ok') {
      await this.setOriginRef(tip);
    } else {
      try {
        await this.git(['push', '--quiet', 'origin', `${tip}:refs/heads/${this.branch}`]);
      } catch (e) {
        if (isPushRejected(e)) return false;
        throw e;
      }
    }
    this.stats.pushes++;
    this.stats.commits += committed.length;
    // Our own signed commits on a tip the gate cleared: the new tip is as clear (see gateClearedAt).
    if (this.gateClearedAt && committed[0].written?.parent === this.gateClearedAt) this.gateClearedAt = tip;
    // The push moved refs/remotes/origin/<branch> to the tip as well.
    this.originTip = tip;
    const pushed = committed.map(p => p.written!);
    for (const p of committed) {
      p.commit = p.localSha;
      p.pushed = pushed;
    }
    // For the next holder of the push lock (still held here): where the branch is now.
    await this.handoff?.record({
      parent: pushed[0].parent,
      tip,
      objects: committed.flatMap(p => p.objects ?? []),
    });
    return true;
  }

  /**
   * Pushes to a remote on the local file system through `git receive-pack` directly, with the
   * pack of the batch's own objects (receivePack.ts): 'ok', or 'moved' when the branch is not at
   * the commit the batch was built on. undefined when the remote is not local or receive-pack
   * refused or failed: then `git push` runs, and its answer is the one reported (hook messages,
   * protected branches, an unreachable remote read the same as ever).
   */
  private async pushDirect(committed: Pending[], tip: string): Promise<'ok' | 'moved' | undefined> {
    if (this.localRemote === undefined) this.localRemote = localRepoPath(this.remoteUrl) ?? '';
    const objects = committed.flatMap(p => p.objects ?? []);
    if (!this.localRemote || objects.length === 0 || committed.some(p => !p.written)) return undefined;
    try {
      const r = await pushToLocalRepo({
        repo: this.localRemote,
        ref: `refs/heads/${this.branch}`,
        oldTip: committed[0].written!.parent,
        newTip: tip,
        pack: buildPack(objects).pack,
      });
      if (r.status === 'ok' || r.status === 'moved') return r.status;
      if (/hook declined|protected|denied/i.test(r.reason)) {
        // The remote answered and refused the commits: not retried, reported as git push's refusal is.
        throw refusedPush(r.reason.slice(0, 100), r.said.split('\n'));
      }
      this.logger?.info(`Config repo: receive-pack refused the push (${r.reason.slice(0, 200)}); pushing with git push`);
    } catch (e: any) {
      if (e instanceof ServiceUnavailableError) throw e;
      this.logger?.info(`Config repo: receive-pack failed (${e?.message ?? e}); pushing with git push`);
    }
    return undefined;
  }

  /** Fetches the remote branch (at most every `maxAgeMs`), serialised with writes. */
  async refresh(maxAgeMs = 1000): Promise<void> {
    if (Date.now() - this.lastFetch < maxAgeMs) return;
    if (!this.fetchInFlight) {
      this.fetchInFlight = this.withLock(() => this.fetchIfMoved()).finally(() => {
        this.fetchInFlight = undefined;
      });
    }
    await this.fetchInFlight;
  }

  /** When the last look at the remote (fetch or ls-remote) started (ms epoch; 0 before any). */
  get lookedAt(): number {
    return this.lastFetchStarted;
  }

  /** The commit a ref of the clone names now ('' when none), through the clone's object reader. */
  resolveRef(ref: string): Promise<string> {
    return this.resolveCommit(ref);
  }

  /**
   * Reads a file from the remote branch as last fetched; undefined when missing. Through the
   * clone's long-lived object reader (no git process per read).
   */
  async readFile(rel: string): Promise<string | undefined> {
    // Paths are validated names joined by '/'; anything else names no file we write.
    if (!isPlainPath(rel)) return undefined;
    const o = await this.objects.read(`${this.originRef}:${rel}`);
    return o?.type === 'blob' ? o.content.toString('utf8') : undefined;
  }

  /** A file's bytes at any commit-ish; undefined when it does not exist there. */
  async readFileAt(ref: string, rel: string): Promise<Buffer | undefined> {
    try {
      return await runGitBuffer(['cat-file', 'blob', `${ref}:${rel}`], { cwd: this.workDir });
    } catch (e) {
      if (e instanceof GitCommandError) return undefined;
      throw e;
    }
  }

  /**
   * Lists files (recursively) below a directory of the remote branch: relative path → content.
   * Through the clone's long-lived object reader (no git process per file: the simulated
   * cluster reads every environment's folder on each new head).
   */
  async readDir(rel: string, ref = this.originRef): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (!isPlainPath(rel)) return out;
    const top = await this.objects.read(`${ref}:${rel}`);
    if (top?.type !== 'tree') return out;
    const walk = async (tree: string, prefix: string) => {
      for (const e of await this.readTree(tree)) {
        if (e.mode === '40000' || e.mode === '040000') {
          await walk(e.sha, `${prefix}${e.name}/`);
        } else if (e.mode !== '160000') {
          const blob = await this.objects.read(e.sha);
          if (blob?.type === 'blob') out[`${prefix}${e.name}`] = blob.content.toString('utf8');
        }
      }
    };
    this.cacheTree(top.sha, parseTree(top.content));
    await walk(top.sha, '');
    return out;
  }

  /** The last commit of the remote branch (as last fetched) that touched any of `pathspecs`. */
  async lastCommit(pathspecs: string[]): Promise<string | undefined> {
    if (!(await this.head())) return undefined;
    const { stdout } = await this.git(['log', '-1', '--format=%H', this.originRef, '--', ...pathspecs]);
    return stdout.trim() || undefined;
  }

  /** Head commit of the remote branch as last fetched. */
  async head(): Promise<string | undefined> {
    return (await this.resolveCommit(this.originRef).catch(() => '')) || undefined;
  }

  /** Commits of the remote branch, oldest first, after `since` (all when absent or unknown). */
  async log(since?: string, options: { withFiles?: boolean } = {}): Promise<CommitRecord[]> {
    if (!(await this.head())) return [];
    let range = this.originRef;
    if (since) {
      const known = await this.git(['merge-base', '--is-ancestor', since, this.originRef]).then(
        () => true,
        () => false,
      );
      if (known) range = `${since}..${this.originRef}`;
    }
    const args = ['log', '--reverse', '--first-parent', '-z', '--format=%x1e%H%x1f%cI%x1f%an%x1f%ae%x1f%B%x1f'];
    if (options.withFiles) args.push('--name-only', '--no-renames');
    args.push(range);
    const { stdout } = await this.git(args);
    return stdout
      .split('\x1e')
      .filter(Boolean)
      .map(rec => {
        const [sha, date, authorName, authorEmail, message, rest] = rec.split('\x1f');
        return {
          sha,
          committedAt: new Date(date).toISOString(),
          authorName,
          authorEmail,
          message: message ?? '',
          files: options.withFiles
            ? (rest ?? '').split(/[\0\n]/).map(f => f.trim()).filter(Boolean)
            : undefined,
        };
      });
  }

  /**
   * Housekeeping of the working clone (scheduled), incremental so that its cost follows what was
   * written since the last run, not the size of the history: loose objects (fetches leave some)
   * are packed and the small packs of recent batches rolled up geometrically
   * (`repack --geometric=2`: the big pack of old history is not rewritten), the commit-graph gets
   * a new layer, and reflog entries older than 30 days expire. Not serialised with writes: git's
   * repack and commit-graph are safe beside fetches, pushes and the object reader (objects are
   * never removed, only moved into packs), so releases go on while it runs. A full `git gc` on a
   * 10,000-service clone after 10,000 releases ran over git's 60 s limit in the history bench
   * (docs/bench-and-reliability.md), holding every write for that long.
   */
  async maintain(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30 * 60_000;
    // One repack at a time (a roll-up of small packs may be running).
    await this.rollingUp;
    this.maintaining = true;
    try {
      await this.git(['repack', '-d', '-q', '--geometric=2'], { timeoutMs });
    } finally {
      this.maintaining = false;
    }
    await this.git(['commit-graph', 'write', '--reachable', '--split'], { timeoutMs });
    await this.git(['reflog', 'expire', '--expire=30.days.ago', '--all'], { timeoutMs });
  }

  /** Waits until every queued write has been handled. */
  async idle(): Promise<void> {
    while (this.draining || this.queue.length) await sleep(10);
    await this.lock;
  }
}

