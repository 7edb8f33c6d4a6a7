import {
  ConflictError,
  InputError,
  NotFoundError,
  ResponseError,
} from '@backstage/errors';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';

/** The commit a first artifact is built from. */
export interface HeadCommit {
  sha: string;
  branch: string;
  authorName: string;
  authorEmail: string;
  committerName: string;
  committerEmail: string;
  message: string;
}

/** Who commits the generated files. */
export interface CommitAuthor {
  name: string;
  email: string;
}

/**
 * Where golden-path repositories live. The local git host is the embedded default; GitHub is the
 * production path. The actions only talk to this interface.
 */
export interface RepoHost {
  /** `local` or the SCM host name (e.g. `github.com`). */
  readonly host: string;
  exists(name: string): Promise<boolean>;
  /** Creates the repository with a first commit holding `files`. ConflictError if it exists. */
  createRepo(
    name: string,
    files: Record<string, string>,
    options: { message: string; description?: string; author?: CommitAuthor },
  ): Promise<{ commit: string }>;
  /** Commits files onto the default branch; returns the new commit sha. */
  commitFiles(
    name: string,
    files: Record<string, string>,
    options: { message: string; author?: CommitAuthor },
  ): Promise<string>;
  headCommit(name: string): Promise<HeadCommit>;
  /**
   * Makes the default branch reach the release manager as a push by `pusher` (the user who ran
   * the template), once the service's policies exist: the local git host announces the branch it
   * wrote silently as the push that created it; GitHub announces pushes itself (its webhook), so
   * there an empty commit is pushed. Returns the commit the push delivers.
   */
  announcePush(
    name: string,
    options: { pusher: string; message: string; author?: CommitAuthor },
  ): Promise<{ sha: string; branch: string; how: string }>;
  /** Text files below `dir` at the default branch head: path relative to `dir` → content. */
  readDir(name: string, dir: string): Promise<Record<string, string>>;
  /** Deletes the repository; false when it did not exist. */
  deleteRepo(name: string): Promise<boolean>;
  repoUrl(name: string): string;
  fileUrl(name: string, path: string): Promise<string>;
  cloneUrl(name: string): string;
}

/** The embedded local git host: real bare repositories, written with git clone/commit/push. */
export class LocalRepoHost implements RepoHost {
  readonly host = 'local';
  constructor(private readonly git: LocalGitHost) {}

  exists(name: string) {
    return this.git.exists(name);
  }

  async createRepo(
    name: string,
    files: Record<string, string>,
    options: { message: string; description?: string; author?: CommitAuthor },
  ) {
    const res = await this.git.createRepo(name, {
      files,
      message: options.message,
      description: options.description,
      author: options.author,
    });
    if (!res.commit)
      throw new Error(`Repository '${name}' was created without a commit`);
    return { commit: res.commit };
  }

  commitFiles(
    name: string,
    files: Record<string, string>,
    options: { message: string; author?: CommitAuthor },
  ) {
    return this.git.commitFiles(name, files, options);
  }

  async headCommit(name: string): Promise<HeadCommit> {
    const branch = this.git.defaultBranch;
    const sha = await this.git.resolveRef(name, branch);
    if (!sha)
      throw new NotFoundError(`Repository '${name}' has no branch '${branch}'`);
    const { stdout } = await runGit(
      ['log', '-1', '--format=%an%x00%ae%x00%cn%x00%ce%x00%B', sha],
      { cwd: this.git.repoPath(name) },
    );
    const [authorName, authorEmail, committerName, committerEmail, message] =
      stdout.split('\0');
    return {
      sha,
      branch,
      authorName,
      authorEmail,
      committerName,
      committerEmail,
      message: (message ?? '').trim(),
    };
  }

  async announcePush(name: string, options: { pusher: string }) {
    const { sha, branch } = await this.git.announceBranch(name, {
      branch: this.git.defaultBranch,
      pusher: options.pusher,
    });
    return {
      sha,
      branch,
      how: `the local git host announced ${branch} (created by this template, first commit to head ${sha.slice(
        0,
        10,
      )}) as a push by ${options.pusher}`,
    };
  }

  async readDir(name: string, dir: string): Promise<Record<string, string>> {
    const { files } = await this.git.listTree(name, dir);
    const out: Record<string, string> = {};
    for (const f of files) {
      out[f.path] = (await this.git.readBlob(name, f.sha)).toString('utf8');
    }
    return out;
  }

  deleteRepo(name: string) {
    return this.git.deleteRepo(name);
  }

  repoUrl(name: string) {
    return this.git.treeUrl(name);
  }

  async fileUrl(name: string, path: string) {
    return this.git.fileUrl(name, path);
  }

  cloneUrl(name: string) {
    return this.git.cloneUrl(name);
  }
}

/** Options for {@link GithubRepoHost}. */
export interface GithubRepoHostOptions {
  /** e.g. `github.com` */
  host: string;
  /** e.g. `https://api.github.com` (from the integration config). */
  apiBaseUrl: string;
  /** A token, or where to get one per request (GitHub App installation tokens expire). */
  token: string | (() => Promise<string>);
  /** Organisation (or user) that owns the repositories. */
  owner: string;
  fetch?: typeof fetch;
}

/**
 * GitHub through its REST API with the token of a Backstage GitHub integration. Files are
 * written as one commit through the git data API (tree + commit + ref update).
 *
 * This path cannot be exercised against github.com from here; it is tested against a local
 * stand-in speaking the same REST contract.
 */
export class GithubRepoHost implements RepoHost {
  readonly host: string;
  private readonly branches = new Map<string, string>();
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: GithubRepoHostOptions) {
    this.host = options.host;
    this.fetchImpl = options.fetch ?? fetch;
  }

  private async api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<any> {
    const token =
      typeof this.options.token === 'function'
        ? await this.options.token()
        : this.options.token;
    const res = await this.fetchImpl(
      `${this.options.apiBaseUrl.replace(/\/+$/, '')}${path}`,
      {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${token}`,
          'x-github-api-version': '2022-11-28',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      },
    );
    if (res.status === 204) return undefined;
    if (!res.ok) {
      const err = await ResponseError.fromResponse(res);
      err.message = `GitHub ${method} ${path} answered ${res.status}: ${
        err.body?.error?.message ?? (err.body as any)?.message ?? res.statusText
      }`;
      throw err;
    }
    return res.json();
  }

  private repoPath(name: string) {
    return `/repos/${encodeURIComponent(
      this.options.owner,
    )}/${encodeURIComponent(name)}`;
  }

  private async branch(name: string): Promise<string> {
    const known = this.branches.get(name);
    if (known) return known;
    const repo = await this.api('GET', this.repoPath(name));
    this.branches.set(name, repo.default_branch);
    return repo.default_branch;
  }

  async exists(name: string) {
    try {
      await this.api('GET', this.repoPath(name));
      return true;
    } catch (e) {
      if (e instanceof ResponseError && e.response.status === 404) return false;
      throw e;
    }
  }

  async createRepo(
    name: string,
    files: Record<string, string>,
    options: { message: string; description?: string; author?: CommitAuthor },
  ) {
    if (await this.exists(name)) {
      throw new ConflictError(
        `Repository ${this.options.owner}/${name} already exists on ${this.host}`,
      );
    }
    const body = {
      name,
      description: options.description,
      private: true,
      auto_init: true,
    };
    let repo: any;
    try {
      repo = await this.api(
        'POST',
        `/orgs/${encodeURIComponent(this.options.owner)}/repos`,
        body,
      );
    } catch (e) {
      if (!(e instanceof ResponseError && e.response.status === 404)) throw e;
      // 404: no such organisation, or the token cannot see it. Only when the owner *is* the
      // token's user does the repository go to the user's account; otherwise creating it under
      // whoever owns the token would put the service somewhere nobody expects.
      const me = await this.api('GET', '/user');
      const login = String(me?.login ?? '');
      if (login.toLowerCase() !== this.options.owner.toLowerCase()) {
        throw new InputError(
          `Organisation '${this.options.owner}' was not found on ${this.host} (or the token cannot create repositories in it); the repository was not created (not under the token's user '${login}' either)`,
        );
      }
      repo = await this.api('POST', '/user/repos', body);
    }
    this.branches.set(name, repo.default_branch ?? 'main');
    let commit: string;
    try {
      commit = await this.commitFiles(name, files, options);
    } catch (e) {
      // a repository without its first commit is useless and would block the name: remove it
      // and say whether that worked
      let cleanup: string;
      try {
        await this.deleteRepo(name);
        cleanup = (await this.exists(name))
          ? `the empty repository ${this.repoUrl(
              name,
            )} is still there (delete it by hand)`
          : 'the empty repository was deleted';
      } catch (d) {
        cleanup = `the empty repository ${this.repoUrl(
          name,
        )} could not be deleted (${(d as Error).message}); delete it by hand`;
      }
      (e as Error).message = `The first commit to ${
        this.options.owner
      }/${name} failed: ${(e as Error).message}; ${cleanup}`;
      throw e;
    }
    return { commit };
  }

  /**
   * One commit on the default branch through the git data API: read the branch head, build the
   * tree from the parent's (`treeOf`), create the commit and move the branch to it.
   */
  private async commitOnBranch(
    name: string,
    options: { message: string; author?: CommitAuthor },
    treeOf: (base: string, parentTree: string) => Promise<string>,
  ): Promise<{ sha: string; branch: string }> {
    const branch = await this.branch(name);
    const base = this.repoPath(name);
    const ref = await this.api(
      'GET',
      `${base}/git/ref/heads/${encodeURIComponent(branch)}`,
    );
    const parent = ref.object.sha as string;
    const parentCommit = await this.api('GET', `${base}/git/commits/${parent}`);
    const commit = await this.api('POST', `${base}/git/commits`, {
      message: options.message,
      tree: await treeOf(base, parentCommit.tree.sha),
      parents: [parent],
      ...(options.author ? { author: options.author } : {}),
    });
    await this.api(
      'PATCH',
      `${base}/git/refs/heads/${encodeURIComponent(branch)}`,
      { sha: commit.sha },
    );
    return { sha: commit.sha as string, branch };
  }

  async commitFiles(
    name: string,
    files: Record<string, string>,
    options: { message: string; author?: CommitAuthor },
  ) {
    const { sha } = await this.commitOnBranch(
      name,
      options,
      async (base, parentTree) =>
        (
          await this.api('POST', `${base}/git/trees`, {
            base_tree: parentTree,
            tree: Object.entries(files).map(([path, content]) => ({
              path,
              mode: path.endsWith('.sh') ? '100755' : '100644',
              type: 'blob',
              content,
            })),
          })
        ).sha,
    );
    return sha;
  }

  /**
   * GitHub delivered the pushes of the earlier commits itself (before the policies existed), so
   * the deploy push is an empty commit on the default branch: GitHub's push webhook carries it to
   * the release manager (`releaseManager.push.github.webhookSecret`), pushed by the token's identity.
   */
  async announcePush(
    name: string,
    options: { pusher: string; message: string; author?: CommitAuthor },
  ) {
    const { sha, branch } = await this.commitOnBranch(
      name,
      options,
      async (_base, parentTree) => parentTree,
    );
    return {
      sha,
      branch,
      how: `pushed an empty commit to ${this.options.owner}/${name} ${branch}; GitHub's push webhook delivers it`,
    };
  }

  async headCommit(name: string): Promise<HeadCommit> {
    const branch = await this.branch(name);
    const c = await this.api(
      'GET',
      `${this.repoPath(name)}/commits/${encodeURIComponent(branch)}`,
    );
    return {
      sha: c.sha,
      branch,
      authorName: c.commit.author?.name ?? '',
      authorEmail: c.commit.author?.email ?? '',
      committerName: c.commit.committer?.name ?? '',
      committerEmail: c.commit.committer?.email ?? '',
      message: c.commit.message ?? '',
    };
  }

  async readDir(name: string, dir: string): Promise<Record<string, string>> {
    const branch = await this.branch(name);
    const base = this.repoPath(name);
    const tree = await this.api(
      'GET',
      `${base}/git/trees/${encodeURIComponent(branch)}?recursive=1`,
    );
    const prefix = `${dir.replace(/\/+$/, '')}/`;
    const out: Record<string, string> = {};
    for (const entry of tree.tree as Array<{
      path: string;
      type: string;
      sha: string;
    }>) {
      if (entry.type !== 'blob' || !entry.path.startsWith(prefix)) continue;
      const blob = await this.api('GET', `${base}/git/blobs/${entry.sha}`);
      out[entry.path.slice(prefix.length)] = Buffer.from(
        blob.content,
        blob.encoding ?? 'base64',
      ).toString('utf8');
    }
    return out;
  }

  /** True when deleted, false when it was not there; throws when GitHub refuses (e.g. 403). */
  async deleteRepo(name: string) {
    try {
      await this.api('DELETE', this.repoPath(name));
      return true;
    } catch (e) {
      if (e instanceof ResponseError && e.response.status === 404) {
        // GitHub also answers 404 when the token may not see the repository: check
        if (await this.exists(name)) throw e;
        return false;
      }
      throw e;
    }
  }

  repoUrl(name: string) {
    return `https://${this.host}/${this.options.owner}/${name}`;
  }

  async fileUrl(name: string, path: string) {
    return `${this.repoUrl(name)}/blob/${await this.branch(name)}/${path}`;
  }

  cloneUrl(name: string) {
    return `${this.repoUrl(name)}.git`;
  }
}
