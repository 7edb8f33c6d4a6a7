import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  DefaultGithubCredentialsProvider,
  GithubCredentialsProvider,
  ScmIntegrations,
} from '@backstage/integration';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { GithubRepoHost, LocalRepoHost, RepoHost } from './repoHost';

/** Picks the repository host for an action's `host` input: `local` (default) or a GitHub host. */
export class RepoHosts {
  private readonly local: LocalRepoHost;
  private readonly credentials?: GithubCredentialsProvider;

  constructor(
    gitHost: LocalGitHost,
    private readonly integrations?: ScmIntegrations,
    private readonly fetchImpl?: typeof fetch,
  ) {
    this.local = new LocalRepoHost(gitHost);
    // Backstage's GitHub credentials: the integration's token, or an installation token of a
    // configured GitHub App (cached and renewed by the provider).
    this.credentials = integrations
      ? DefaultGithubCredentialsProvider.fromIntegrations(integrations)
      : undefined;
  }

  static fromConfig(gitHost: LocalGitHost, config: Config): RepoHosts {
    return new RepoHosts(gitHost, ScmIntegrations.fromConfig(config));
  }

  get(host?: string, owner?: string): RepoHost {
    if (!host || host === 'local') return this.local;
    const github = this.integrations?.github.byHost(host);
    if (!github) {
      throw new InputError(
        `No GitHub integration is configured for host '${host}' (integrations.github in app-config); use 'local' for the embedded git host`,
      );
    }
    if (!github.config.token && !github.config.apps?.length) {
      throw new InputError(
        `The GitHub integration for '${host}' has no token and no GitHub App`,
      );
    }
    if (!owner)
      throw new InputError(
        `'owner' (organisation) is required for repositories on ${host}`,
      );
    const credentials = this.credentials!;
    return new GithubRepoHost({
      host,
      apiBaseUrl: github.config.apiBaseUrl ?? 'https://api.github.com',
      token: async () => {
        const { token } = await credentials.getCredentials({
          url: `https://${host}/${encodeURIComponent(owner)}`,
        });
        if (!token) {
          throw new InputError(
            `No GitHub credentials for ${host}/${owner}: neither a token nor a GitHub App installed there`,
          );
        }
        return token;
      },
      owner,
      fetch: this.fetchImpl,
    });
  }
}
