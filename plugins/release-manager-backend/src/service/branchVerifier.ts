/**
 * Verifies an artifact's claimed branch: before an artifact enters an environment with a branch
 * guardrail, its `sha` must be reachable from the claimed branch in the service's source
 * repository. The repository comes from the catalog (the service's `backstage.io/source-location`
 * or `backstage.io/managed-by-location` annotation), never from the upload, so an uploader cannot
 * point the check at a repository where the commit happens to be on main.
 *
 * - local git host: `LocalGitHost.branchContains` (git merge-base --is-ancestor);
 * - GitHub: the compare API (`GET /repos/{owner}/{repo}/compare/{branch}...{sha}`: status
 *   `identical` or `behind` means the commit is on the branch), with `@backstage/integration`
 *   credentials.
 */
import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import {
  DefaultGithubCredentialsProvider,
  GithubCredentialsProvider,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import type { LocalGitHost } from '@devplane/plugin-git-host-node';
import type { PolicyVerdict } from '@devplane/plugin-release-manager-common';

/** Checks that a commit is on a branch of a service's source repository. */
export interface BranchVerifier {
  verify(service: string, branch: string, sha: string): Promise<PolicyVerdict>;
}

/** Where a service's source lives, from its catalog entity. */
export interface SourceRepo {
  /** The location URL (without the `url:` prefix). */
  url: string;
}

export interface CatalogBranchVerifierOptions {
  catalog: CatalogService;
  auth: AuthService;
  logger: LoggerService;
  gitHost?: LocalGitHost;
  integrations?: ScmIntegrationRegistry;
  /** Default: DefaultGithubCredentialsProvider from `integrations`. */
  githubCredentials?: GithubCredentialsProvider;
  /** fetch implementation (tests of the GitHub path point it at a stand-in speaking GitHub's API). */
  fetch?: typeof fetch;
  /** Milliseconds before a GitHub compare call counts as failed. Default 10000. */
  timeoutMs?: number;
}

const SOURCE_ANNOTATIONS = ['backstage.io/source-location', 'backstage.io/managed-by-location'];

/** The verifier used by the backend: catalog → local git host or GitHub. */
export class CatalogBranchVerifier implements BranchVerifier {
  private readonly githubCredentials?: GithubCredentialsProvider;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: CatalogBranchVerifierOptions) {
    this.githubCredentials =
      options.githubCredentials ??
      (options.integrations ? DefaultGithubCredentialsProvider.fromIntegrations(options.integrations) : undefined);
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The service's source repository URL from the catalog, or a reason why there is none. */
  async sourceOf(service: string): Promise<SourceRepo | { reason: string }> {
    let entity;
    try {
      entity = await this.options.catalog.getEntityByRef(`component:default/${service}`, {
        credentials: await this.options.auth.getOwnServiceCredentials(),
      });
    } catch (e: any) {
      return { reason: `the catalog could not be asked for ${service} (${e?.message ?? e})` };
    }
    if (!entity) return { reason: `the catalog has no component '${service}'` };
    for (const key of SOURCE_ANNOTATIONS) {
      const raw = entity.metadata.annotations?.[key];
      if (typeof raw === 'string' && raw.startsWith('url:')) return { url: raw.slice(4) };
    }
    return { reason: `the catalog component '${service}' names no source repository (${SOURCE_ANNOTATIONS.join(' / ')})` };
  }

  async verify(service: string, branch: string, sha: string): Promise<PolicyVerdict> {
    const refused = (why: string): PolicyVerdict => ({
      allowed: false,
      reason: `the artifact claims commit ${sha.slice(0, 12)} of branch '${branch}', but ${why}`,
    });
    const source = await this.sourceOf(service);
    if ('reason' in source) return refused(`its branch cannot be verified: ${source.reason}`);
    const { gitHost, integrations } = this.options;
    if (gitHost?.handles(source.url)) {
      let repo: string;
      try {
        repo = gitHost.parseUrl(source.url).repo;
      } catch (e: any) {
        return refused(`its source location ${source.url} is not a repository on the local git host`);
      }
      if (await gitHost.branchContains(repo, branch, sha)) return { allowed: true };
      return refused(`that commit is not on '${branch}' of the source repository ${repo}`);
    }
    const github = integrations?.github.byUrl(source.url);
    if (github) return this.verifyOnGithub(source.url, github.config.apiBaseUrl ?? 'https://api.github.com', branch, sha, refused);
    return refused(`its source location ${source.url} is neither on the local git host nor on a configured GitHub integration`);
  }

  private async verifyOnGithub(
    url: string,
    apiBaseUrl: string,
    branch: string,
    sha: string,
    refused: (why: string) => PolicyVerdict,
  ): Promise<PolicyVerdict> {
    const parts = new URL(url).pathname.split('/').filter(Boolean);
    if (parts.length < 2) return refused(`its source location ${url} names no GitHub repository`);
    const [owner, repoRaw] = parts;
    const repo = repoRaw.replace(/\.git$/, '');
    if (!/^[0-9a-f]{40}$/.test(sha)) return refused('a GitHub commit id has 40 hex digits');
    const endpoint = `${apiBaseUrl.replace(/\/$/, '')}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/compare/${encodeURIComponent(branch)}...${sha}`;
    let headers: Record<string, string> = {};
    try {
      const creds = await this.githubCredentials?.getCredentials({ url: `https://${new URL(url).host}/${owner}/${repo}` });
      headers = creds?.headers ?? {};
    } catch (e: any) {
      this.options.logger.warn(`No GitHub credentials for ${owner}/${repo}: ${e?.message ?? e}`);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
    try {
      const res = await this.fetchImpl(endpoint, {
        headers: { Accept: 'application/vnd.github+json', ...headers },
        signal: controller.signal,
      });
      if (res.status === 404) return refused(`GitHub knows no commit ${sha.slice(0, 12)} or branch '${branch}' in ${owner}/${repo}`);
      if (!res.ok) return refused(`GitHub answered ${res.status} when asked (${owner}/${repo}); try again later`);
      const body: any = await res.json();
      if (body?.status === 'identical' || body?.status === 'behind') return { allowed: true };
      return refused(`that commit is not on '${branch}' of ${owner}/${repo} (GitHub compare: ${String(body?.status).slice(0, 20)})`);
    } catch (e: any) {
      return refused(`GitHub could not be asked (${e?.name === 'AbortError' ? 'timed out' : e?.message ?? e}); try again later`);
    } finally {
      clearTimeout(timer);
    }
  }
}
