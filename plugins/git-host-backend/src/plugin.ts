import path from 'node:path';
import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { gitHostServiceRef } from '@devplane/plugin-git-host-node';
import { createRouter } from './router';
import { seedRepositories } from './seed';
import { installHooks } from './pushAuth';

/**
 * The embedded local git host: serves bare repositories under the data directory over git's
 * smart HTTP at /api/git-host/repos and seeds the demo services' repositories on first start.
 */
export const gitHostPlugin = createBackendPlugin({
  pluginId: 'git-host',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        gitHost: gitHostServiceRef,
      },
      async init({ config, logger, httpRouter, httpAuth, gitHost }) {
        const allowPush = config.getOptionalBoolean('gitHost.allowPush') ?? false;
        const seedDir = config.getOptionalString('gitHost.seedFrom');
        if (seedDir) {
          await seedRepositories(gitHost, path.resolve(seedDir), logger);
        }
        // The release manager's config repo is written only by the release manager (through
        // the filesystem): no push over HTTP, whoever asks, whatever gitHost.allowPush says.
        const configRepo = config.getOptionalString('releaseManager.configRepo.name') ?? 'config';
        const hooksDir = await installHooks(gitHost);
        httpRouter.use(
          await createRouter({
            host: gitHost,
            allowPush,
            httpAuth,
            readOnlyRepos: [configRepo],
            hooksDir,
            logger,
            portalBaseUrl: config.getOptionalString('app.baseUrl'),
          }),
        );
        // Reads are open like a public repository (git clients carry no Backstage session);
        // pushes check the request's Backstage token themselves (pushAuth.ts): 401 without one.
        httpRouter.addAuthPolicy({ path: '/repos', allow: 'unauthenticated' });
        const repos = await gitHost.list();
        logger.info(
          `Local git host at ${gitHost.baseUrl} serving ${repos.length} repositories from ${gitHost.rootDir} (push ${allowPush ? `with a Backstage token, never to '${configRepo}'` : 'disabled'}); e.g. git clone ${repos[0] ? gitHost.cloneUrl(repos[0]) : `${gitHost.baseUrl}/<repo>.git`}`,
        );
      },
    });
  },
});
