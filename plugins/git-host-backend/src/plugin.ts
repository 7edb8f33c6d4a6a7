import path from 'node:path';
import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { gitHostServiceRef } from '@devplane/plugin-git-host-node';
import { createRouter } from './router';
import { seedRepositories } from './seed';

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
        httpRouter.use(await createRouter({
            host: gitHost,
            allowPush,
            logger,
            // the pusher of push events: whoever the request's Backstage credentials name
            pusherOf: async req => {
              const credentials = await httpAuth.credentials(req, { allow: ['user', 'service', 'none'] });
              if (credentials.principal.type === 'user') return credentials.principal.userEntityRef;
              if (credentials.principal.type === 'service') return credentials.principal.subject;
              return undefined;
            },
          }));
        // Git clients do not carry Backstage tokens. Reads are open like a public
        // repository; pushes are governed by gitHost.allowPush.
        httpRouter.addAuthPolicy({ path: '/repos', allow: 'unauthenticated' });
        const repos = await gitHost.list();
        logger.info(
          `Local git host at ${gitHost.baseUrl} serving ${repos.length} repositories from ${gitHost.rootDir} (push ${allowPush ? 'enabled' : 'disabled'}); e.g. git clone ${repos[0] ? gitHost.cloneUrl(repos[0]) : `${gitHost.baseUrl}/<repo>.git`}`,
        );
      },
    });
  },
});
