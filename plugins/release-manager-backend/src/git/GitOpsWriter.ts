import fs from 'node:fs/promises';
import path from 'node:path';
import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError } from '@backstage/errors';
import {
  GitCommandError,
  runGit,
  safeJoin,
} from '@devplane/plugin-git-host-node';

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
  /** Push attempts before giving up (default 8). */
  maxAttempts?: number;
  /** Maximum number of queued writes carried by one push (default 100). */
  maxBatch?: number;
}

/** Access to the working tree while a write job runs. All paths are repository-relative. */
export interface WorkTree {
  readonly dir: string;
  readFile(rel: string): Promise<string | undefined>;
  writeFile(rel: string, content: string | Buffer): Promise<void>;
  /** Removes a file or directory (recursively); missing is fine. */
  remove(rel: string): Promise<void>;
  /** Files directly inside a directory (names), empty when missing. */
  list(rel: string): Promise<string[]>;
}

/** Result of a job's `apply`: either a commit to make or nothing to do. */
export type JobOutcome<T> =
  | { commit: { message: string; author?: GitPerson; paths: string[] }; result: T }
  | { noop: true; result: T };

/** One queued write: one commit (or none). */
export interface WriteJob<T> {
  /** Applies the change to the working tree; called on a tree equal to the remote branch plus
   * the commits queued before it in the same batch. */
  apply(tree: WorkTree): Promise<JobOutcome<T>>;
}

/** What a write produced. */
export interface WriteResult<T> {
  result: T;
  /** The pushed commit, absent for a no-op. */
  commit?: string;
  committedAt?: string;
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

type Pending = {
  job: WriteJob<any>;
  resolve: (v: WriteResult<any>) => void;
  reject: (e: Error) => void;
  outcome?: JobOutcome<any>;
  localSha?: string;
  error?: Error;
  commit?: string;
  committedAt?: string;
};

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Paths written by the writer are validated names joined by `/`: nothing to quote. */
function assertPlainPath(rel: string): string {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(rel) || rel.split('/').some(s => s === '..' || s === '.')) {
    throw new Error(`Refusing to commit path '${rel.slice(0, 200)}'`);
  }
  return rel;
}

/** Repository-relative paths of the files at or below `rel` (none when it does not exist). */
async function listFilesUnder(root: string, rel: string): Promise<string[]> {
  let st;
  try {
    st = await fs.stat(path.join(root, rel));
  } catch {
    return [];
  }
  if (st.isFile()) return [rel];
  if (!st.isDirectory()) return [];
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
    out.push(...(await listFilesUnder(root, `${rel}/${e.name}`)));
  }
  return out.sort();
}

function isPushRejected(e: unknown): boolean {
  if (!(e instanceof GitCommandError)) return false;
  return /rejected|non-fast-forward|fetch first|failed to update ref|cannot lock ref|stale info/i.test(
    e.stderr + e.stdout,
  );
}

/**
 * Writes the GitOps config repository through its own working clone: a serial queue of write
 * jobs, one commit per job, and one push carrying every commit queued meanwhile. A rejected
 * push fetches, rebases the batch and retries with bounded backoff; a commit that truly
 * conflicts with what landed upstream is dropped from the batch and its caller gets a
 * ConflictError. Never force-pushes. Local state is reset to the remote before a batch whenever
 * anything went wrong before (including a crash of a previous process).
 */
export class GitOpsWriter {
  readonly workDir: string;
  readonly remoteUrl: string;
  readonly branch: string;
  private readonly token?: string;
  private readonly logger?: LoggerService;
  private readonly committer: GitPerson;
  private readonly maxAttempts: number;
  private readonly maxBatch: number;
  private readonly queue: Pending[] = [];
  private draining = false;
  private needsReset = true;
  private indexStale = false;
  private lock: Promise<unknown> = Promise.resolve();
  private lastFetch = 0;
  private fetchInFlight?: Promise<void>;

  /** Pushes performed and commits they carried (for tests and the benchmark). */
  readonly stats = { pushes: 0, commits: 0, rejectedPushes: 0 };

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
    this.maxAttempts = options.maxAttempts ?? 8;
    this.maxBatch = options.maxBatch ?? 100;
  }

  private get originRef() {
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

  private git(args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}) {
    return runGit(args, { cwd: this.workDir, input: opts.input, env: this.env(opts.env) });
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
    // A crashed process may have left a lock or a half-done rebase behind.
    await fs.rm(path.join(this.workDir, '.git', 'index.lock'), { force: true });
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
    await this.git([
      'fetch',
      '--quiet',
      '--no-tags',
      'origin',
      `+refs/heads/${this.branch}:${this.originRef}`,
    ]).catch(async e => {
      // An empty remote has no branch yet.
      if (e instanceof GitCommandError && /couldn't find remote ref/i.test(e.stderr)) return;
      throw e;
    });
    this.lastFetch = Date.now();
  }

  private async hasOriginBranch(): Promise<boolean> {
    try {
      await this.git(['rev-parse', '--verify', '--quiet', this.originRef]);
      return true;
    } catch {
      return false;
    }
  }

  /** Throws away any local state and makes the work tree equal to the remote branch. */
  private async resetToOrigin(initialise = false): Promise<void> {
    for (const args of [['rebase', '--abort'], ['cherry-pick', '--abort'], ['merge', '--abort']]) {
      await this.git(args).catch(() => undefined);
    }
    await fs.rm(path.join(this.workDir, '.git', 'index.lock'), { force: true });
    await this.fetchOrigin();
    if (await this.hasOriginBranch()) {
      await this.git(['checkout', '--quiet', '--force', '-B', this.branch, this.originRef]);
      await this.git(['reset', '--quiet', '--hard', this.originRef]);
    } else if (initialise) {
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
      await this.fetchOrigin();
    }
    await this.git(['clean', '-fdxq']);
    this.indexStale = false;
    this.needsReset = false;
  }

  /** Queues a write; resolves once its commit is pushed (or it was a no-op). */
  write<T>(job: WriteJob<T>): Promise<WriteResult<T>> {
    return new Promise<WriteResult<T>>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.kick();
    });
  }

  private kick() {
    if (this.draining) return;
    this.draining = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        this.draining = false;
        return;
      }
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.withLock(() => this.runBatch(batch));
      } catch (e: any) {
        this.needsReset = true;
        this.logger?.error(`Config repo write failed: ${e?.message ?? e}`);
        for (const p of batch) {
          if (!p.error && !p.commit && !('noop' in (p.outcome ?? {}))) p.error = e;
        }
      }
      for (const p of batch) {
        if (p.error) p.reject(p.error);
        else p.resolve({ result: p.outcome!.result, commit: p.commit, committedAt: p.committedAt });
      }
    }
  }

  private tree(): WorkTree {
    const dir = this.workDir;
    return {
      dir,
      readFile: async rel => {
        try {
          return await fs.readFile(safeJoin(dir, rel), 'utf8');
        } catch (e: any) {
          if (e?.code === 'ENOENT' || e?.code === 'EISDIR' || e?.code === 'ENOTDIR') return undefined;
          throw e;
        }
      },
      writeFile: async (rel, content) => {
        const target = safeJoin(dir, rel);
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(target, content);
      },
      remove: async rel => {
        await fs.rm(safeJoin(dir, rel), { recursive: true, force: true });
      },
      list: async rel => {
        try {
          return (await fs.readdir(safeJoin(dir, rel), { withFileTypes: true }))
            .filter(e => e.isFile())
            .map(e => e.name)
            .sort();
        } catch {
          return [];
        }
      },
    };
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    if (this.needsReset) await this.resetToOrigin(true);
    const tree = this.tree();
    const committed: Pending[] = [];
    let applied: Pending[] = [];
    for (const p of batch) {
      try {
        p.outcome = await p.job.apply(tree);
        if (!('noop' in p.outcome)) applied.push(p);
      } catch (e: any) {
        p.error = e;
        // Commit what the earlier jobs applied, then discard this job's partial changes.
        await this.importCommits(applied);
        committed.push(...applied);
        applied = [];
        await this.git(['reset', '--quiet', '--hard', 'HEAD']);
        this.indexStale = false;
        await this.git(['clean', '-fdq']);
      }
    }
    await this.importCommits(applied);
    committed.push(...applied);
    if (committed.length > 0) await this.pushWithRetry(committed);
  }

  /**
   * Turns applied jobs into one commit each with a single `git fast-import` run (the working
   * tree already holds their changes; each commit snapshots its job's paths), then syncs the
   * index. Cost per batch does not grow with the number of commits in it.
   */
  private async importCommits(jobs: Pending[]): Promise<void> {
    if (jobs.length === 0) return;
    const chunks: Buffer[] = [];
    const put = (x: string | Buffer) => chunks.push(typeof x === 'string' ? Buffer.from(x, 'utf8') : x);
    const now = Math.floor(Date.now() / 1000);
    const ident = (p: GitPerson) =>
      `${(p.name || p.email).replace(/[<>\n]/g, '')} <${p.email.replace(/[<>\n]/g, '')}>`;
    for (const [i, p] of jobs.entries()) {
      const { message, author, paths } = (p.outcome as any).commit as {
        message: string;
        author?: GitPerson;
        paths: string[];
      };
      const msg = Buffer.from(message, 'utf8');
      put(`commit refs/heads/${this.branch}\n`);
      put(`author ${ident(author ?? this.committer)} ${now} +0000\n`);
      put(`committer ${ident(this.committer)} ${now} +0000\n`);
      put(`data ${msg.length}\n`);
      put(msg);
      put('\n');
      if (i === 0) put(`from refs/heads/${this.branch}^0\n`);
      for (const rel of paths) {
        const clean = assertPlainPath(rel);
        put(`D ${clean}\n`);
        for (const file of await listFilesUnder(this.workDir, clean)) {
          const content = await fs.readFile(path.join(this.workDir, file));
          put(`M 100644 inline ${assertPlainPath(file)}\ndata ${content.length}\n`);
          put(content);
          put('\n');
        }
      }
      put('\n');
    }
    put('done\n');
    await this.git(['fast-import', '--quiet', '--done'], { input: Buffer.concat(chunks) });
    // The work tree already equals the new HEAD; the index is synced lazily (only a rebase or
    // cherry-pick needs it), which saves rewriting a large index on every batch.
    this.indexStale = true;
  }

  private async syncIndex(): Promise<void> {
    if (!this.indexStale) return;
    await this.git(['reset', '--quiet']);
    this.indexStale = false;
  }

  private async pushWithRetry(committed: Pending[]): Promise<void> {
    let live = committed;
    for (let attempt = 1; ; attempt++) {
      const { stdout } = await this.git([
        'log',
        '--reverse',
        '--format=%H %cI',
        `${this.originRef}..HEAD`,
      ]);
      const local = stdout
        .split('\n')
        .filter(Boolean)
        .map(l => ({ sha: l.split(' ')[0], date: new Date(l.split(' ')[1]).toISOString() }));
      if (local.length !== live.length) {
        throw new Error(
          `Config repo clone is inconsistent: ${local.length} local commits for ${live.length} writes`,
        );
      }
      live.forEach((p, i) => {
        p.localSha = local[i].sha;
      });
      try {
        // Never --force: a non-fast-forward is rejected and handled below.
        await this.git(['push', '--quiet', 'origin', `HEAD:refs/heads/${this.branch}`]);
        this.stats.pushes++;
        this.stats.commits += live.length;
        // The push moved refs/remotes/origin/<branch> to HEAD as well.
        live.forEach((p, i) => {
          p.commit = local[i].sha;
          p.committedAt = local[i].date;
        });
        return;
      } catch (e) {
        if (!isPushRejected(e)) throw e;
        this.stats.rejectedPushes++;
        if (attempt >= this.maxAttempts) {
          throw new ConflictError(
            `The config repo kept moving: push rejected ${attempt} times, giving up (nothing was force-pushed)`,
          );
        }
      }
      const delay = Math.min(2000, 25 * 2 ** (attempt - 1)) * (0.5 + Math.random());
      await sleep(delay);
      await this.fetchOrigin();
      await this.syncIndex();
      try {
        await this.git(['rebase', '--quiet', '--empty=keep', '--reapply-cherry-picks', this.originRef]);
      } catch (e) {
        await this.git(['rebase', '--abort']).catch(() => undefined);
        live = await this.replayIndividually(live);
        if (live.length === 0) return;
      }
    }
  }

  /** Replays commits one by one onto the remote branch; conflicting ones are failed. */
  private async replayIndividually(live: Pending[]): Promise<Pending[]> {
    await this.git(['reset', '--quiet', '--hard', this.originRef]);
    const kept: Pending[] = [];
    for (const p of live) {
      try {
        await this.git(['cherry-pick', '--allow-empty', '--keep-redundant-commits', p.localSha!]);
        kept.push(p);
      } catch (e) {
        const { stdout } = await this.git(['diff', '--name-only', '--diff-filter=U']).catch(
          () => ({ stdout: '' }),
        );
        await this.git(['cherry-pick', '--abort']).catch(() => undefined);
        await this.git(['reset', '--quiet', '--hard', 'HEAD']);
        const files = stdout.split('\n').filter(Boolean);
        p.error = new ConflictError(
          `Conflict in the config repo: ${files.length ? files.join(', ') : 'the same files'} changed upstream while this write was in flight; nothing was written, retry once you have looked at the new state`,
        );
        this.logger?.warn(p.error.message);
      }
    }
    return kept;
  }

  /** Fetches the remote branch (at most every `maxAgeMs`), serialised with writes. */
  async refresh(maxAgeMs = 1000): Promise<void> {
    if (Date.now() - this.lastFetch < maxAgeMs) return;
    if (!this.fetchInFlight) {
      this.fetchInFlight = this.withLock(() => this.fetchOrigin()).finally(() => {
        this.fetchInFlight = undefined;
      });
    }
    await this.fetchInFlight;
  }

  /** Reads a file from the remote branch as last fetched; undefined when missing. */
  async readFile(rel: string): Promise<string | undefined> {
    try {
      const { stdout } = await this.git(['cat-file', 'blob', `${this.originRef}:${rel}`]);
      return stdout;
    } catch (e) {
      if (e instanceof GitCommandError) return undefined;
      throw e;
    }
  }

  /** Lists files (recursively) below a directory of the remote branch: relative path → content. */
  async readDir(rel: string, ref = this.originRef): Promise<Record<string, string>> {
    const { stdout } = await this.git(['ls-tree', '-r', '-z', '--name-only', ref, '--', `${rel}/`]).catch(
      () => ({ stdout: '' }),
    );
    const out: Record<string, string> = {};
    for (const p of stdout.split('\0').filter(Boolean)) {
      const { stdout: content } = await this.git(['cat-file', 'blob', `${ref}:${p}`]);
      out[p.slice(rel.length + 1)] = content;
    }
    return out;
  }

  /** Head commit of the remote branch as last fetched. */
  async head(): Promise<string | undefined> {
    try {
      return (await this.git(['rev-parse', '--verify', '--quiet', this.originRef])).stdout.trim();
    } catch {
      return undefined;
    }
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

  /** Waits until every queued write has been handled. */
  async idle(): Promise<void> {
    while (this.draining || this.queue.length) await sleep(10);
    await this.lock;
  }
}

