import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { CatalogClient } from '@backstage/catalog-client';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { gitHostServiceRef } from '@devplane/plugin-git-host-node';
import { createGoldenPathActions } from './actions';
import { catalogAccess } from './lib/deps';
import { ReleaseManagerClient } from './lib/releaseManager';
import { RepoHosts } from './lib/repoHosts';

/**
 * The golden path's scaffolder actions: validate, repo, pipeline, first production deploy.
 */
export const scaffolderModuleGoldenPath = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'golden-path',
  register(reg) {
    reg.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
        gitHost: gitHostServiceRef,
      },
      async init({ scaffolder, config, discovery, auth, gitHost }) {
        scaffolder.addActions(
          ...createGoldenPathActions({
            repoHosts: RepoHosts.fromConfig(gitHost, config),
            catalog: catalogAccess(
              new CatalogClient({ discoveryApi: discovery }),
              auth,
            ),
            releaseManager: new ReleaseManagerClient({ discovery, auth }),
            imageRegistry: config.getOptionalString('goldenPath.imageRegistry'),
            appBaseUrl: config.getOptionalString('app.baseUrl'),
          }),
        );
      },
    });
  },
});
