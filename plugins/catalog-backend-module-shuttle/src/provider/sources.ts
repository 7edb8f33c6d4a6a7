import { Config } from '@backstage/config';
import { DefaultGithubCredentialsProvider, ScmIntegrations } from '@backstage/integration';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';

/** A repository that has a shuttle.yaml at its root and no catalog-info.yaml. */
export interface ShuttleRepoCandidate {
  /** Repository name as the host knows it (may hold one `group/` prefix). */
  repo: string;
  /** Browse URL of the shuttle.yaml. */
  shuttleUrl: string;
  /** Browse URL of the repository root (tree). */
  sourceUrl: string;
  /** Content version (blob sha); equal versions mean equal content. */
  version: string;
  /** Reads the shuttle.yaml content. */
  read(): Promise<Buffer>;
}

/** Where discovery looks for repositories. */
export interface ShuttleRepoSource {
  /** Stable id, part of the provider name. */
  readonly id: string;
  /**
   * All repositories with a root shuttle.yaml and without a catalog-info.yaml. A repository
   * that cannot be read is listed in `failed` (the run goes on); only a failure to list the
   * repositories at all rejects.
   */
  discover(): Promise<{
    scanned: number;
    candidates: ShuttleRepoCandidate[];
    failed?: { repo: string; reason: string }[];
  }>;
}

const CATALOG_FILES = new Set(['catalog-info.yaml', 'catalog-info.yml']);

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The embedded local git host: lists bare repositories and looks at the root tree of each
 * default branch with one `git ls-tree` per repository.
 */
export class LocalGitHostRepoSource implements ShuttleRepoSource {
  readonly id = 'git-host';

  constructor(
    private readonly host: Pick<LocalGitHost, 'list' | 'repoPath' | 'fileUrl' | 'treeUrl' | 'readBlob' | 'defaultBranch'>,
    private readonly concurrency = 4,
  ) {}

  async discover() {
    const names = await this.host.list();
    const found = await mapLimit(names, this.concurrency, async repo => {
      let stdout: string;
      try {
        ({ stdout } = await runGit(
          ['ls-tree', '-z', 'HEAD', '--', 'shuttle.yaml', 'catalog-info.yaml', 'catalog-info.yml'],
          { cwd: this.host.repoPath(repo) },
        ));
      } catch {
        return undefined; // empty repository (no HEAD commit yet)
      }
      let shuttleSha: string | undefined;
      let hasCatalogInfo = false;
      for (const line of stdout.split('\0')) {
        if (!line) continue;
        const [meta, file] = line.split('\t');
        const [, type, sha] = meta.split(' ');
        if (type !== 'blob') continue;
        if (file === 'shuttle.yaml') shuttleSha = sha;
        if (CATALOG_FILES.has(file)) hasCatalogInfo = true;
      }
      if (!shuttleSha || hasCatalogInfo) return undefined;
      const sha = shuttleSha;
      const candidate: ShuttleRepoCandidate = {
        repo,
        shuttleUrl: this.host.fileUrl(repo, 'shuttle.yaml'),
        sourceUrl: `${this.host.treeUrl(repo)}/`,
        version: sha,
        read: () => this.host.readBlob(repo, sha),
      };
      return candidate;
    });
    return { scanned: names.length, candidates: found.filter((c): c is ShuttleRepoCandidate => !!c) };
  }
}

/** Options for {@link GitHubOrgRepoSource}. */
export interface GitHubOrgRepoSourceOptions {
  org: string;
  /** Web host, `github.com` or a GitHub Enterprise host. */
  host: string;
  /** REST API base, e.g. `https://api.github.com`. */
  apiBaseUrl: string;
  /** A token, or where to get one per request (GitHub App installation tokens expire). */
  token?: string | (() => Promise<string | undefined>);
  concurrency?: number;
  fetch?: typeof fetch;
}

/**
 * A GitHub organisation, through the REST API: `GET /orgs/{org}/repos` (paged), then the root
 * tree of each repository's default branch and, when needed, the shuttle.yaml blob.
 * Token and API URL come from the `integrations.github` entry for the host.
 */
export class GitHubOrgRepoSource implements ShuttleRepoSource {
  readonly id: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: GitHubOrgRepoSourceOptions) {
    this.id = `github:${options.host}/${options.org}`;
    this.fetchFn = options.fetch ?? fetch;
  }

  /**
   * Builds the source from `catalog.providers.shuttle.github` and the `integrations.github` entry
   * of its host, read by Backstage's `@backstage/integration`: the API URL, and credentials from
   * `DefaultGithubCredentialsProvider` (the integration's token, or an installation token of a
   * configured GitHub App).
   */
  static fromConfig(config: Config): GitHubOrgRepoSource {
    const gh = config.getConfig('catalog.providers.shuttle.github');
    const host = gh.getOptionalString('host') ?? 'github.com';
    const org = gh.getString('org');
    const integrations = ScmIntegrations.fromConfig(config);
    const integration = integrations.github.byHost(host);
    const apiBaseUrl =
      integration?.config.apiBaseUrl ??
      (host === 'github.com' ? 'https://api.github.com' : `https://${host}/api/v3`);
    const credentials = DefaultGithubCredentialsProvider.fromIntegrations(integrations);
    return new GitHubOrgRepoSource({
      org,
      host,
      apiBaseUrl,
      token: integration
        ? async () => (await credentials.getCredentials({ url: `https://${host}/${org}` })).token
        : undefined,
    });
  }

  private async get(path: string): Promise<any> {
    const token =
      typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const res = await this.fetchFn(`${this.options.apiBaseUrl.replace(/\/+$/, '')}${path}`, {
      headers: {
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      redirect: 'error',
    });
    if (res.status === 404 || res.status === 409) return undefined; // 409: empty repository
    if (!res.ok) throw new Error(`GitHub ${path} answered HTTP ${res.status}`);
    return res.json();
  }

  async discover() {
    const { org } = this.options;
    const repos: { name: string; default_branch: string; archived?: boolean }[] = [];
    for (let page = 1; page < 1000; page++) {
      const batch = await this.get(`/orgs/${encodeURIComponent(org)}/repos?per_page=100&page=${page}`);
      if (!Array.isArray(batch) || batch.length === 0) break;
      repos.push(...batch);
      if (batch.length < 100) break;
    }
    const live = repos.filter(r => !r.archived && r.default_branch);
    const failed: { repo: string; reason: string }[] = [];
    const found = await mapLimit(live, this.options.concurrency ?? 8, async r => {
      try {
        return await this.candidateFor(r);
      } catch (e) {
        // one unreadable repository (4xx/5xx, network) does not abort the run
        failed.push({ repo: r.name, reason: (e as Error).message });
        return undefined;
      }
    });
    return {
      scanned: live.length,
      candidates: found.filter((c): c is ShuttleRepoCandidate => !!c),
      failed,
    };
  }

  private async candidateFor(r: { name: string; default_branch: string }) {
    const { org, host } = this.options;
    {
      const branch = r.default_branch;
      const tree = await this.get(
        `/repos/${encodeURIComponent(org)}/${encodeURIComponent(r.name)}/git/trees/${encodeURIComponent(branch)}`,
      );
      const entries: { path: string; type: string; sha: string }[] = tree?.tree ?? [];
      const shuttle = entries.find(e => e.path === 'shuttle.yaml' && e.type === 'blob');
      if (!shuttle || entries.some(e => CATALOG_FILES.has(e.path))) return undefined;
      const candidate: ShuttleRepoCandidate = {
        repo: r.name,
        shuttleUrl: `https://${host}/${org}/${r.name}/blob/${branch}/shuttle.yaml`,
        sourceUrl: `https://${host}/${org}/${r.name}/tree/${branch}/`,
        version: shuttle.sha,
        read: async () => {
          const blob = await this.get(
            `/repos/${encodeURIComponent(org)}/${encodeURIComponent(r.name)}/git/blobs/${shuttle.sha}`,
          );
          if (!blob) throw new Error(`shuttle.yaml blob of ${r.name} disappeared`);
          return Buffer.from(blob.content ?? '', blob.encoding === 'base64' ? 'base64' : 'utf8');
        },
      };
      return candidate;
    }
  }
}
