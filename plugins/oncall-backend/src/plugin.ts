import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { actionsRegistryServiceRef } from '@backstage/backend-plugin-api/alpha';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import {
  oncallPermissions,
  oncallSignalChannel,
} from '@devplane/plugin-oncall-common';
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
        signals: signalsServiceRef,
        scheduler: coreServices.scheduler,
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
          escalateAfterMs: config.escalateAfterMs,
          // the card listens on `oncall:<entity ref>` and reloads (signals cross replicas
          // through the events backend)
          onChange: entityRef => {
            deps.signals
              .publish({
                recipients: { type: 'broadcast' },
                channel: oncallSignalChannel(entityRef),
                message: { entityRef },
              })
              .catch(error =>
                deps.logger.warn(
                  `Could not publish the on-call signal for ${entityRef}: ${error}`,
                ),
              );
          },
        });
        // escalation: once across replicas, every 30 s
        await deps.scheduler.scheduleTask({
          id: 'oncall-escalate-unacknowledged',
          frequency: { seconds: 30 },
          timeout: { minutes: 2 },
          fn: async () => {
            const count = await embedded.escalateDue();
            if (count) {
              deps.logger.info(
                `Escalated ${count} unacknowledged incident(s) to their next level`,
              );
            }
          },
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
