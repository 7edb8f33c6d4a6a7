import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { gitHostServiceRef } from '@devplane/plugin-git-host-node';
import { createGoldenPathActions } from './actions';
import { catalogServiceAccess } from './lib/deps';
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
        catalog: catalogServiceRef,
      },
      async init({ scaffolder, config, discovery, auth, gitHost, catalog }) {
        scaffolder.addActions(
          ...createGoldenPathActions({
            repoHosts: RepoHosts.fromConfig(gitHost, config),
            catalog: catalogServiceAccess(catalog, auth),
            releaseManager: new ReleaseManagerClient({ discovery, auth }),
            imageRegistry: config.getOptionalString('goldenPath.imageRegistry'),
            appBaseUrl: config.getOptionalString('app.baseUrl'),
          }),
        );
      },
    });
  },
});
