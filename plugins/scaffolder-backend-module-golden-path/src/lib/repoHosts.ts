import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { ScmIntegrations } from '@backstage/integration';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { GithubRepoHost, LocalRepoHost, RepoHost } from './repoHost';

/** Picks the repository host for an action's `host` input: `local` (default) or a GitHub host. */
export class RepoHosts {
  private readonly local: LocalRepoHost;

  constructor(
    gitHost: LocalGitHost,
    private readonly integrations?: ScmIntegrations,
    private readonly fetchImpl?: typeof fetch,
  ) {
    this.local = new LocalRepoHost(gitHost);
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
    if (!github.config.token) {
      throw new InputError(`The GitHub integration for '${host}' has no token`);
    }
    if (!owner)
      throw new InputError(
        `'owner' (organisation) is required for repositories on ${host}`,
      );
    return new GithubRepoHost({
      host,
      apiBaseUrl: github.config.apiBaseUrl ?? 'https://api.github.com',
      token: github.config.token,
      owner,
      fetch: this.fetchImpl,
    });
  }
}
