import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import type { JsonObject } from '@backstage/config';
import { actionsRegistryServiceFactory, actionsServiceFactory } from '@backstage/backend-defaults/alpha';
import { databaseServiceFactory } from '@backstage/backend-defaults/database';
import { httpRouterServiceFactory } from '@backstage/backend-defaults/httpRouter';
import { permissionsServiceFactory } from '@backstage/backend-defaults/permissions';
import { permissionsRegistryServiceFactory } from '@backstage/backend-defaults/permissionsRegistry';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import permissionPlugin from '@backstage/plugin-permission-backend';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import gitHostPlugin from '@devplane/plugin-git-host-backend';
import releaseManagerPlugin from '@devplane/plugin-release-manager-backend';
import request from 'supertest';
import devplanePolicy from '../permissionPolicy';
import { mockAuthWithActorFactory, ownershipFromCatalog } from './permissions';

/** A started backend: the release manager with the real policy, catalog and git host. */
export interface ReleaseManagerTestBackend {
  server: any;
  dataDir: string;
  /** The config repo on the local git host (bare). */
  configRepo: string;
  stop(): Promise<void>;
}

/**
 * Starts the release manager the way the control plane runs it: the control plane's permission
 * policy in the permission backend, the catalog backend reading the demo organisation
 * (catalog-info/org.yaml) plus `services` (YAML documents), the local git host, SQLite files in
 * `<dataDir>/sqlite` (kept when the same dataDir is given again). Stand-ins only for the
 * notification/signal sinks and the sign-in claims (ownership refs looked up in the catalog as
 * the auth backend does at sign-in). Waits until the catalog knows `waitFor` entity refs.
 */
export async function startReleaseManagerBackend(options: {
  services: string;
  waitFor: string[];
  releaseManager: JsonObject;
  dataDir?: string;
  /** Records each notification the release manager sends (default: dropped). */
  onNotification?: (notification: any) => void;
  /** Adds the actions registry with the release manager's actions (`/.backstage/actions/v1`). */
  actions?: boolean;
}): Promise<ReleaseManagerTestBackend> {
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'devplane-rm-')));
  await fs.mkdir(path.join(dataDir, 'sqlite'), { recursive: true });
  const servicesFile = path.join(dataDir, 'services.yaml');
  await fs.writeFile(servicesFile, options.services);
  const backend = await startTestBackend({
    features: [
      catalogPlugin,
      permissionPlugin,
      devplanePolicy,
      gitHostPlugin,
      releaseManagerPlugin,
      permissionsServiceFactory,
      httpRouterServiceFactory,
      databaseServiceFactory,
      mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
      mockAuthWithActorFactory,
      permissionsRegistryServiceFactory,
      ...(options.actions ? [actionsRegistryServiceFactory, actionsServiceFactory] : []),
      mockServices.rootConfig.factory({
        data: {
          backend: {
            baseUrl: 'http://localhost:7007',
            ...(options.actions ? { actions: { pluginSources: ['release-manager'] } } : {}),
            database: { client: 'better-sqlite3', connection: { directory: path.join(dataDir, 'sqlite') } },
          },
          permission: { enabled: true },
          devplane: { dataDir },
          releaseManager: options.releaseManager,
          catalog: {
            rules: [{ allow: ['Component', 'Group', 'User'] }],
            locations: [
              { type: 'file', target: path.resolve(__dirname, '../../../../catalog-info/org.yaml') },
              { type: 'file', target: servicesFile },
            ],
          },
        },
      }),
      createServiceFactory({
        service: coreServices.userInfo,
        deps: { catalog: catalogServiceRef, auth: coreServices.auth },
        factory: ({ catalog, auth }) => ownershipFromCatalog(catalog, auth),
      }),
      createServiceFactory({
        service: notificationService,
        deps: {},
        factory: () => ({
          send: async (n: any) => {
            options.onNotification?.(n);
          },
        }),
      }),
      createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
    ],
  });
  const server = backend.server;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const found = await Promise.all(
      options.waitFor.map(e =>
        request(server).get(`/api/catalog/entities/by-name/${e}`).set('Authorization', mockCredentials.service.header()),
      ),
    );
    if (found.every(r => r.status === 200 && r.body.relations?.length)) break;
    if (Date.now() > deadline) {
      await backend.stop();
      throw new Error(`catalog never ingested ${options.waitFor.join(', ')}`);
    }
    await new Promise(r => setTimeout(r, 250));
  }
  return {
    server,
    dataDir,
    configRepo: path.join(dataDir, 'git', 'config.git'),
    stop: () => backend.stop(),
  };
}
