import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import {
  catalogProcessingExtensionPoint,
  catalogServiceRef,
} from '@backstage/plugin-catalog-node';
import { gitHostServiceRef } from '@devplane/plugin-git-host-node';
import { ShuttleProcessor } from './processor/ShuttleProcessor';
import { GroupDirectory } from './processor/GroupDirectory';
import { ShuttleFileReader } from './shuttle/ShuttleFileReader';
import { ShuttleDiscoveryProvider } from './provider/ShuttleDiscoveryProvider';
import {
  GitHubOrgRepoSource,
  LocalGitHostRepoSource,
  ShuttleRepoSource,
} from './provider/sources';
import { readIntegrationHosts, readShuttleSettings } from './settings';

/**
 * Catalog module: ownership and facts from shuttle.yaml (processor) and discovery of repositories
 * that only have a shuttle.yaml (entity provider).
 */
export const catalogModuleShuttle = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'shuttle',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        urlReader: coreServices.urlReader,
        scheduler: coreServices.scheduler,
        auth: coreServices.auth,
        catalogApi: catalogServiceRef,
        gitHost: gitHostServiceRef,
      },
      async init({ catalog, config, logger, urlReader, scheduler, auth, catalogApi, gitHost }) {
        const settings = readShuttleSettings(config);
        const integrationHosts = new Set(readIntegrationHosts(config));
        const reader = new ShuttleFileReader({
          urlReader,
          isTrustedReaderUrl: url => {
            if (gitHost.handles(url)) return true;
            try {
              const u = new URL(url);
              return (
                u.protocol === 'https:' &&
                (integrationHosts.has(u.host.toLowerCase()) || integrationHosts.has(u.hostname.toLowerCase()))
              );
            } catch {
              return false;
            }
          },
          trustedHosts: settings.trustedHosts,
          parse: { maxBytes: settings.maxBytes, maxAliasCount: settings.maxAliasCount },
          cacheSize: settings.cacheSize,
        });
        const groups = new GroupDirectory({
          catalog: catalogApi,
          auth,
          logger,
          ttlSeconds: settings.groupCacheSeconds,
        });
        catalog.addProcessor(new ShuttleProcessor({ reader, settings, groups, logger }));

        const providerConfig = config.getOptionalConfig('catalog.providers.shuttle');
        if (providerConfig?.getOptionalBoolean('enabled') === false) return;
        const sourceType = providerConfig?.getOptionalString('source') ?? 'git-host';
        let source: ShuttleRepoSource;
        if (sourceType === 'github') {
          source = GitHubOrgRepoSource.fromConfig(config);
        } else if (sourceType === 'git-host') {
          source = new LocalGitHostRepoSource(gitHost);
        } else {
          throw new Error(`catalog.providers.shuttle.source must be 'git-host' or 'github', not '${sourceType}'`);
        }
        const schedule = providerConfig?.has('schedule')
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(providerConfig.getConfig('schedule'))
          : { frequency: { minutes: 1 }, timeout: { minutes: 5 }, initialDelay: { seconds: 5 } };
        catalog.addEntityProvider(
          new ShuttleDiscoveryProvider({
            source,
            logger,
            settings,
            taskRunner: scheduler.createScheduledTaskRunner(schedule),
          }),
        );
      },
    });
  },
});
