import fs from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { GitCommandError, runGit, runGitBuffer } from './git';

/**
 * Repository names on the local git host (the pattern's source, for routes that embed it): a lowercase DNS-label-like name, optionally with
 * one `group/` prefix. Nothing that could climb out of the root directory gets through.
 */
export const REPO_NAME_SOURCE = '(?:[a-z0-9][a-z0-9-]{0,62}\\/)?[a-z0-9][a-z0-9._-]{0,99}';
const REPO_NAME = new RegExp(`^${REPO_NAME_SOURCE}$`);

/** Validates a repository name and returns it without a trailing `.git`. Throws InputError. */
export function validateRepoName(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new InputError('Repository name must be a non-empty string');
  }
  const name = raw.endsWith('.git') ? raw.slice(0, -4) : raw;
  if (
    !REPO_NAME.test(name) ||
    name.includes('..') ||
    name.endsWith('.') ||
    name.endsWith('.lock')
  ) {
    throw new InputError(
      `Invalid repository name '${raw.slice(0, 120)}': use lowercase letters, digits, '-', '_' and '.', optionally one 'group/' prefix`,
    );
  }
  return name;
}

/** A file to put into a new repository. */
export type RepoFiles = Record<string, string | Buffer>;

/** Who commits, for commits made by the host itself. */
export interface GitIdentity {
  name: string;
  email: string;
}

/** Options for {@link LocalGitHost}. */
export interface LocalGitHostOptions {
  /** Directory holding the bare repositories (`<name>.git`). */
  rootDir: string;
  /** Public base URL of the host, e.g. `http://localhost:7007/api/git-host/repos`. */
  baseUrl: string;
  /** Default branch of new repositories (default `main`). */
  defaultBranch?: string;
}

/**
 * A branch or tag update accepted by the host's receive-pack (a `git push` over HTTP), or a
 * commit the host made itself when asked to announce it. `before` is all zeros for a new ref,
 * `after` all zeros for a deletion.
 */
export interface PushEvent {
  repo: string;
  /** Full ref name that was updated, e.g. `refs/heads/main`. */
  ref: string;
  before: string;
  after: string;
  /** Who pushed: a user entity ref or a service subject, from the request's credentials. */
  pusher?: string;
}

/** Listener of {@link LocalGitHost.onPush}. */
export type PushListener = (event: PushEvent) => void | Promise<void>;

/** The all-zero object id git uses for "no commit". */
export const ZERO_SHA = '0000000000000000000000000000000000000000';

/** Parsed form of a browse URL `<baseUrl>/<repo>/blob/<ref>/<path>`. */
export interface ParsedGitHostUrl {
  repo: string;
  ref: string;
  path: string;
  kind: 'blob' | 'tree';
}

/**
 * The embedded local git host: bare repositories under a directory. The backend plugin serves
 * them over git's smart HTTP; this class creates, lists and reads them with the git CLI.
 */
export class LocalGitHost {
  readonly rootDir: string;
  readonly baseUrl: string;
  readonly defaultBranch: string;
  private readonly pushListeners = new Set<PushListener>();

  constructor(options: LocalGitHostOptions) {
    this.rootDir = path.resolve(options.rootDir);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.defaultBranch = options.defaultBranch ?? 'main';
  }

  /**
   * Subscribes to accepted pushes (emitted by the git host plugin after receive-pack succeeded,
   * once per updated ref). Returns a function that unsubscribes. A listener's error is reported
   * through `onError` of {@link LocalGitHost.emitPush} and never reaches the pushing client.
   */
  onPush(listener: PushListener): () => void {
    this.pushListeners.add(listener);
    return () => {
      this.pushListeners.delete(listener);
    };
  }

  /** Tells every push listener about an accepted ref update. Never throws. */
  emitPush(event: PushEvent, onError?: (error: unknown) => void): void {
    for (const listener of this.pushListeners) {
      try {
        const r = listener({ ...event });
        if (r && typeof (r as Promise<void>).catch === 'function') {
          (r as Promise<void>).catch(e => onError?.(e));
        }
      } catch (e) {
        onError?.(e);
      }
    }
  }

  /** Absolute path of a repository's bare directory; the name is validated first. */
  repoPath(name: string): string {
    const valid = validateRepoName(name);
    const full = path.resolve(this.rootDir, `${valid}.git`);
    if (!full.startsWith(this.rootDir + path.sep)) {
      throw new InputError(`Invalid repository name '${name}'`);
    }
    return full;
  }

  /** The URL to `git clone`. */
  cloneUrl(name: string): string {
    return `${this.baseUrl}/${validateRepoName(name)}.git`;
  }

  /** Browse URL of a file, the form the catalog and the URL reader use. */
  fileUrl(name: string, filePath: string, ref = this.defaultBranch): string {
    return `${this.baseUrl}/${validateRepoName(name)}/blob/${ref}/${filePath.replace(/^\/+/, '')}`;
  }

  /** Browse URL of a directory (tree). */
  treeUrl(name: string, dirPath = '', ref = this.defaultBranch): string {
    const p = dirPath.replace(/^\/+|\/+$/g, '');
    return `${this.baseUrl}/${validateRepoName(name)}/tree/${ref}${p ? `/${p}` : ''}`;
  }

  /** True when the URL points into this host. */
  handles(url: string): boolean {
    return url === this.baseUrl || url.startsWith(`${this.baseUrl}/`);
  }

  /** Parses a browse URL of this host. Throws InputError for anything else. */
  parseUrl(url: string): ParsedGitHostUrl {
    if (!this.handles(url)) {
      throw new InputError(`URL ${url} is not on the local git host ${this.baseUrl}`);
    }
    // Work on the raw string: URL parsing would silently resolve `%2e%2e` segments.
    const rawRest = url.slice(this.baseUrl.length + 1).replace(/[?#].*$/, '');
    let rest: string;
    try {
      rest = rawRest
        .split('/')
        .map(seg => {
          const decoded = decodeURIComponent(seg);
          if (decoded.includes('/') || decoded.includes('\\') || decoded.includes('\0')) {
            throw new InputError(`URL ${url} contains an encoded separator or NUL`);
          }
          if (decoded === '.' || decoded === '..') {
            throw new InputError(`URL ${url} contains a relative path segment`);
          }
          return decoded;
        })
        .join('/');
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`URL ${url} is not validly encoded`);
    }
    const m = /^((?:[^/]+\/)?[^/]+?)\/(blob|tree)\/([^/]+)(?:\/(.*))?$/.exec(rest);
    if (!m) {
      throw new InputError(
        `URL ${url} is not a file or tree URL of the form <repo>/blob/<ref>/<path>`,
      );
    }
    const filePath = (m[4] ?? '').replace(/\/+$/, '');
    if (filePath.split('/').some(seg => seg === '..' || seg === '.') || filePath.includes('\0')) {
      throw new InputError(`URL ${url} contains a relative path segment`);
    }
    if (!/^[A-Za-z0-9._\-]+$/.test(m[3]) || m[3].startsWith('-')) {
      throw new InputError(`URL ${url} names an invalid ref '${m[3]}'`);
    }
    return {
      repo: validateRepoName(m[1]),
      kind: m[2] as 'blob' | 'tree',
      ref: m[3],
      path: filePath,
    };
  }

  async exists(name: string): Promise<boolean> {
    try {
      await fs.access(path.join(this.repoPath(name), 'HEAD'));
      return true;
    } catch {
      return false;
    }
  }

  /** Names of all repositories, sorted. */
  async list(): Promise<string[]> {
    const names: string[] = [];
    const walk = async (dir: string, prefix: string, depth: number) => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name.endsWith('.git')) names.push(`${prefix}${e.name.slice(0, -4)}`);
        else if (depth === 0) await walk(path.join(dir, e.name), `${e.name}/`, 1);
      }
    };
    await walk(this.rootDir, '', 0);
    return names.sort();
  }

  /**
   * Creates a bare repository. With `files`, it also makes a first commit on the default
   * branch holding them. Throws ConflictError if the repository already exists.
   */
  async createRepo(
    name: string,
    options: { files?: RepoFiles; message?: string; author?: GitIdentity; description?: string } = {},
  ): Promise<{ name: string; cloneUrl: string; commit?: string }> {
    const dir = this.repoPath(name);
    await fs.mkdir(path.dirname(dir), { recursive: true });
    try {
      await fs.mkdir(dir);
    } catch (e: any) {
      if (e.code === 'EEXIST') throw new ConflictError(`Repository '${name}' already exists`);
      throw e;
    }
    try {
      await runGit(['init', '--bare', '--quiet', `--initial-branch=${this.defaultBranch}`, dir]);
      // Pushes over smart HTTP are enabled per repository; fetches need nothing. Appended to the
      // config `git init` wrote (what `git config` would write, without two more processes).
      await fs.appendFile(path.join(dir, 'config'), '[http]\n\treceivepack = true\n[receive]\n\tdenyNonFastForwards = true\n');
      if (options.description) {
        await fs.writeFile(path.join(dir, 'description'), `${options.description}\n`);
      }
      let commit: string | undefined;
      if (options.files && Object.keys(options.files).length > 0) {
        commit = await this.commitFiles(name, options.files, {
          message: options.message ?? 'Initial commit',
          author: options.author,
        });
      }
      return { name: validateRepoName(name), cloneUrl: this.cloneUrl(name), commit };
    } catch (e) {
      await fs.rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Deletes a repository (used to undo a failed scaffolder run). Missing is not an error. */
  async deleteRepo(name: string): Promise<boolean> {
    const dir = this.repoPath(name);
    const existed = await this.exists(name);
    await fs.rm(dir, { recursive: true, force: true });
    return existed;
  }

  /**
   * Commits files onto a branch of a bare repository with git's plumbing, no work tree: one
   * `git fast-import` writes the blobs, the tree (the parent's with `files` added or replaced)
   * and the commit, and moves the branch only as a fast-forward of the head it started from (a
   * concurrent writer's commit is never overwritten: the call fails instead). Returns the new
   * commit sha. Paths are checked like a work tree's: no absolute path, `..`, `.git` or control
   * characters.
   */
  async commitFiles(
    name: string,
    files: RepoFiles,
    options: {
      message: string;
      author?: GitIdentity;
      branch?: string;
      /** Announce the new commit to push listeners as a push by this subject (default: silent). */
      announceAs?: string;
    },
  ): Promise<string> {
    const dir = this.repoPath(name);
    const branch = options.branch ?? this.defaultBranch;
    assertRef(branch);
    const who = options.author ?? { name: 'Developer Control Plane', email: 'devplane@localhost' };
    const entries = Object.entries(files).map(([rel, content]) => [fastImportPath(rel), content] as const);
    const parent = await this.resolveRef(name, `refs/heads/${branch}`);
    const ident = `${identPart(who.name)} <${identPart(who.email)}> ${Math.floor(Date.now() / 1000)} +0000`;
    const data = (content: string | Buffer) => {
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      return [Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n')];
    };
    const stream: Buffer[] = [
      Buffer.from(`commit refs/heads/${branch}\nmark :1\nauthor ${ident}\ncommitter ${ident}\n`),
      ...data(options.message.endsWith('\n') ? options.message : `${options.message}\n`),
      ...(parent ? [Buffer.from(`from ${parent}\n`)] : []),
      ...entries.flatMap(([rel, content]) => [Buffer.from(`M 100644 inline ${rel}\n`), ...data(content)]),
      Buffer.from('\nget-mark :1\ndone\n'),
    ];
    let stdout: string;
    try {
      ({ stdout } = await runGit(['fast-import', '--quiet', '--done'], { cwd: dir, input: Buffer.concat(stream) }));
    } catch (e) {
      if (e instanceof GitCommandError && /not updating|does not contain/i.test(e.stderr)) {
        throw new ConflictError(`Branch '${branch}' of '${name}' moved while committing; nothing was written over it`);
      }
      throw e;
    }
    const after = stdout.trim().split('\n').pop()!;
    if (!/^[0-9a-f]{40,64}$/.test(after)) throw new Error(`git fast-import did not report the new commit of '${name}'`);
    if (options.announceAs !== undefined) {
      this.emitPush({
        repo: validateRepoName(name),
        ref: `refs/heads/${branch}`,
        before: parent ?? ZERO_SHA,
        after,
        pusher: options.announceAs,
      });
    }
    return after;
  }

  /**
   * Announces a branch the host wrote without announcing it (a repository created and filled by
   * the golden path before its owners' policies existed) as one push that created it: `before`
   * all zeros, `after` the branch head, pushed by `pusher`. Listeners then handle it as the
   * branch's first push. Returns the announced commit. NotFoundError when the branch is missing.
   */
  async announceBranch(
    name: string,
    options: { branch?: string; pusher: string },
  ): Promise<{ sha: string; branch: string }> {
    const branch = options.branch ?? this.defaultBranch;
    const sha = await this.resolveRef(name, branch);
    if (!sha) throw new NotFoundError(`Repository '${name}' has no branch '${branch}'`);
    this.emitPush({
      repo: validateRepoName(name),
      ref: `refs/heads/${branch}`,
      before: ZERO_SHA,
      after: sha,
      pusher: options.pusher,
    });
    return { sha, branch };
  }

  /** Resolves a ref to a commit sha, or undefined when it does not exist. */
  async resolveRef(name: string, ref: string): Promise<string | undefined> {
    assertRef(ref);
    try {
      const { stdout } = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
        cwd: this.repoPath(name),
      });
      return stdout.trim() || undefined;
    } catch (e) {
      if (e instanceof GitCommandError) return undefined;
      throw e;
    }
  }

  /**
   * Whether commit `sha` is reachable from branch `branch` (`refs/heads/<branch>`) of repository
   * `name`: the check that an artifact built "from main" really was. False when the repo, the
   * branch or the commit does not exist. Only a full 40/64-hex commit id is accepted, so an
   * abbreviated or symbolic name can never be resolved to something else.
   */
  async branchContains(name: string, branch: string, sha: string): Promise<boolean> {
    assertRef(branch);
    if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) return false;
    if (!(await this.exists(name))) return false;
    const cwd = this.repoPath(name);
    const tip = await this.resolveRef(name, `refs/heads/${branch}`);
    if (!tip) return false;
    try {
      // the object must be a commit (cat-file -e with ^{commit} fails otherwise)
      await runGit(['cat-file', '-e', `${sha}^{commit}`], { cwd });
      await runGit(['merge-base', '--is-ancestor', sha, tip], { cwd });
      return true;
    } catch (e) {
      if (e instanceof GitCommandError) return false;
      throw e;
    }
  }

  /**
   * Resolves a file at a ref to its blob sha with one git call (the URL reader's ETag).
   * Throws NotFoundError when the repo, ref or file is missing.
   */
  async fileBlobSha(name: string, filePath: string, ref = this.defaultBranch): Promise<string> {
    assertRef(ref);
    const clean = normalizeRepoPath(filePath);
    const cwd = this.repoPath(name);
    if (!(await this.exists(name))) throw new NotFoundError(`Repository '${name}' not found`);
    let listing = '';
    try {
      // one call answers "missing", "directory" and "file" alike: `<mode> <type> <sha>\t<path>`
      ({ stdout: listing } = await runGit(['ls-tree', '-z', ref, '--', clean], { cwd }));
    } catch (e) {
      if (!(e instanceof GitCommandError)) throw e;
      throw new NotFoundError(`Ref '${ref}' not found in repository '${name}'`);
    }
    const [meta, listedPath] = listing.split('\0')[0].split('\t');
    const [, type, sha] = (meta ?? '').split(' ');
    if (listedPath !== clean || type !== 'blob') {
      throw new NotFoundError(`File '${clean}' not found in ${name}@${ref}`);
    }
    return sha;
  }

  /** Reads one file at a ref. Throws NotFoundError when the repo, ref or file is missing. */
  async readFile(name: string, filePath: string, ref = this.defaultBranch): Promise<{ content: Buffer; blobSha: string }> {
    const blobSha = await this.fileBlobSha(name, filePath, ref);
    const content = await this.readBlob(name, blobSha);
    return { content, blobSha };
  }

  /** Lists files (recursively) under a directory at a ref: path relative to that directory → blob sha. */
  async listTree(name: string, dirPath: string, ref = this.defaultBranch): Promise<{ commit: string; files: { path: string; sha: string }[] }> {
    if (!(await this.exists(name))) throw new NotFoundError(`Repository '${name}' not found`);
    const commit = await this.resolveRef(name, ref);
    if (!commit) throw new NotFoundError(`Ref '${ref}' not found in repository '${name}'`);
    const clean = dirPath ? normalizeRepoPath(dirPath) : '';
    const args = ['ls-tree', '-r', '-z', '--full-tree', commit];
    if (clean) args.push('--', `${clean}/`);
    const { stdout } = await runGit(args, { cwd: this.repoPath(name) });
    const files = stdout
      .split('\0')
      .filter(Boolean)
      .map(line => {
        const [meta, p] = line.split('\t');
        const [, type, sha] = meta.split(' ');
        return { type, sha, path: clean ? p.slice(clean.length + 1) : p };
      })
      .filter(f => f.type === 'blob')
      .map(({ path: p, sha }) => ({ path: p, sha }));
    return { commit, files };
  }

  /** Reads a blob by sha. */
  async readBlob(name: string, sha: string): Promise<Buffer> {
    if (!/^[0-9a-f]{40,64}$/.test(sha)) throw new InputError('Invalid blob sha');
    return runGitBuffer(['cat-file', 'blob', sha], { cwd: this.repoPath(name) });
  }
}

function assertRef(ref: string) {
  if (!/^[A-Za-z0-9._\/\-]{1,200}$/.test(ref) || ref.startsWith('-') || ref.includes('..')) {
    throw new InputError(`Invalid ref '${ref.slice(0, 100)}'`);
  }
}

/** Normalises a path inside a repository; rejects absolute paths, `..`, NUL. */
export function normalizeRepoPath(p: string): string {
  if (typeof p !== 'string' || p.includes('\0')) throw new InputError('Invalid path');
  const clean = p.replace(/^\/+|\/+$/g, '');
  if (!clean || clean.split('/').some(seg => seg === '..' || seg === '.' || seg === '')) {
    throw new InputError(`Invalid path '${p.slice(0, 200)}'`);
  }
  return clean;
}

/** A path for a fast-import `M` line: a clean repository path, no `.git` segment, no control characters. */
function fastImportPath(rel: string): string {
  const clean = normalizeRepoPath(rel);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(clean) || clean.startsWith('"')) throw new InputError(`Invalid path '${rel.slice(0, 200)}'`);
  if (clean.split('/').some(seg => seg.toLowerCase() === '.git')) throw new InputError(`Path '${rel.slice(0, 200)}' is inside .git`);
  return clean;
}

/** A name or email for a commit's identity line: without the characters that delimit it. */
function identPart(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[<>\x00-\x1f]/g, '').trim() || 'unknown';
}

/** Joins a relative path under a root, refusing anything that escapes it. */
export function safeJoin(root: string, rel: string): string {
  const clean = normalizeRepoPath(rel);
  const full = path.resolve(root, clean);
  if (!full.startsWith(path.resolve(root) + path.sep)) {
    throw new InputError(`Path '${rel}' escapes its directory`);
  }
  return full;
}
