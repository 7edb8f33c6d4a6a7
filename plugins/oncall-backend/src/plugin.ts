import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceRef } from '@backstage/backend-plugin-api/alpha';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { oncallPermissions } from '@devplane/plugin-oncall-common';
import { CatalogPeopleDirectory } from './CatalogPeopleDirectory';
import { readOnCallConfig } from './config';
import { OnCallStore } from './database/OnCallStore';
import { EmbeddedProvider } from './providers/EmbeddedProvider';
import { PagerDutyProvider } from './providers/PagerDutyProvider';
import { OnCallOperations } from './service/operations';
import { createRouter } from './service/router';
import { registerOnCallActions } from './actions';

/**
 * On-call backend: who is on call (PagerDuty or embedded rotations) and
 * incident triggering, at `/api/oncall`.
 *
 * @public
 */
export const oncallPlugin = createBackendPlugin({
  pluginId: 'oncall',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        auth: coreServices.auth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        database: coreServices.database,
        auditor: coreServices.auditor,
        catalog: catalogServiceRef,
        notifications: notificationService,
        actionsRegistry: actionsRegistryServiceRef,
      },
      async init(deps) {
        const config = readOnCallConfig(deps.config);
        deps.permissionsRegistry.addPermissions(oncallPermissions);
        const store = await OnCallStore.create({ database: deps.database });
        const pagerduty = new PagerDutyProvider({
          ...config.pagerduty,
          cacheTtlMs: config.cacheTtlMs,
          logger: deps.logger,
        });
        const embedded = new EmbeddedProvider({
          store,
          people: new CatalogPeopleDirectory(deps.catalog, deps.auth),
          notifications: deps.notifications,
          logger: deps.logger,
        });
        const shared = {
          permissions: deps.permissions,
          auditor: deps.auditor,
          catalog: deps.catalog,
          store,
          config,
          embedded,
          pagerduty,
          getServiceCredentials: () => deps.auth.getOwnServiceCredentials(),
        };
        // Shared by the REST router and the actions registry (AI agents over MCP).
        const operations = new OnCallOperations(shared);
        registerOnCallActions(deps.actionsRegistry, operations);
        deps.httpRouter.addAuthPolicy({ path: '/openapi.json', allow: 'unauthenticated' });
        deps.httpRouter.use(
          await createRouter({
            ...shared,
            logger: deps.logger,
            httpAuth: deps.httpAuth,
            operations,
          }),
        );
        deps.logger.info(
          `On-call ready: ${
            config.rotations.length
          } configured rotation(s), PagerDuty ${
            config.pagerduty?.apiToken ? 'enabled' : 'not configured'
          }`,
        );
      },
    });
  },
});
