// Starts the real plugins (release-manager-backend, oncall-backend, git-host-backend) in a
// Backstage test backend: the plugins' own code and HTTP routes, mock auth tokens, the real
// database service on PostgreSQL, the real catalog backend (reading the test organisation from a
// file location) and the real permission backend with the control plane's own policy
// (packages/backend/src/permissionPolicy.ts): owner rules are decided exactly as in production.
import { AddressInfo } from 'node:net';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { databaseServiceFactory } from '@backstage/backend-defaults/database';
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { createBackend } from '@backstage/backend-defaults';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';
import policyModule from '../../packages/backend/src/permissionPolicy';
import { mockAuthWithActorFactory, ownershipFromCatalog } from '../../packages/backend/src/__testUtils__/permissions';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { eventsServiceFactory } from '@backstage/plugin-events-node';
import releaseManagerPlugin from '@devplane/plugin-release-manager-backend';
import gitHostPlugin from '@devplane/plugin-git-host-backend';
import { oncallPlugin } from '../../plugins/oncall-backend/src/plugin';

export function demoEntities(services: string[], annotations: Record<string, Record<string, string>> = {}) {
  const users = [
    ['alice', 'payments'],
    // a second payments member: approves alice's requests (four eyes, adversarial-approvals)
    ['bert', 'payments'],
    ['mallory', 'lending'],
    ['pat', 'platform'],
    // lending, owns nothing; on call for services whose rotation names her (adversarial-boundary)
    ['olga', 'lending'],
  ].map(([name, group]) => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name, namespace: 'default' },
    spec: { profile: { email: `${name}@bank.example`, displayName: name }, memberOf: [group] },
    relations: [{ type: 'memberOf', targetRef: `group:default/${group}` }],
  }));
  const groups = ['payments', 'lending', 'platform'].map(name => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Group',
    metadata: { name, namespace: 'default' },
    spec: { type: 'team', children: [] },
  }));
  const components = services.map(name => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', ...(annotations[name] ? { annotations: annotations[name] } : {}) },
    spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
    relations: [{ type: 'ownedBy', targetRef: 'group:default/payments' }],
  }));
  return [...users, ...groups, ...components];
}


export interface BackendOptions {
  dataDir: string;
  /** Database name prefix: each plugin gets `<prefix><pluginId>` on 127.0.0.1:5432. */
  dbPrefix: string;
  services: string[];
  port?: number;
  extraConfig?: Record<string, any>;
  /** Annotations per component name. */
  annotations?: Record<string, Record<string, string>>;
  /**
   * Run the real signals path: Backstage's events backend (PostgreSQL event bus) and signals
   * backend, and the default SignalsService, instead of a no-op signals stand-in. The backend
   * then serves through backend-defaults' own root HTTP router and server (what `createBackend()`
   * uses), on a port chosen here: the signals backend registers its WebSocket route on that
   * server, which the test backend's router (backend-test-utils 1.11.7) does not hand over.
   */
  liveSignals?: boolean;
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startBackend(options: BackendOptions) {
  const entities = demoEntities(options.services, options.annotations);
  // The organisation as the catalog reads it: one file location (kinds, owners, memberships).
  const catalogFile = path.join(options.dataDir, 'catalog-test-org.yaml');
  fs.mkdirSync(options.dataDir, { recursive: true });
  fs.writeFileSync(
    catalogFile,
    entities
      .map(({ relations: _relations, ...e }: any) =>
        toYaml(e.kind === 'Component' ? { ...e, spec: { ...e.spec, owner: 'group:default/payments' } } : e),
      )
      .join('---\n'),
  );
  let catalogReady: () => Promise<boolean> = async () => false;
  // The real server needs its port up front (config), the test backend's picks one itself.
  const livePort = options.liveSignals ? options.port ?? (await freePort()) : undefined;
  const listenPort = livePort ?? options.port;
  const sentNotifications: any[] = [];
  const features = [
      releaseManagerPlugin,
      gitHostPlugin,
      oncallPlugin,
      catalogPlugin,
      permissionPlugin,
      policyModule,
      databaseServiceFactory,
      // The real scheduler: the release manager's git sync runs as in production (2 s after
      // start, then every 30 s), which is how a restarted replica reconciles its database.
      schedulerServiceFactory,
      // Mock tokens; a request without one is anonymous (the mock's default is a signed-in user).
      mockAuthWithActorFactory,
      mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
      // The ownership claims Backstage's auth backend would put into the token at sign-in.
      createServiceFactory({
        service: coreServices.userInfo,
        deps: { catalog: catalogServiceRef, auth: coreServices.auth },
        factory: ({ catalog, auth }) => ownershipFromCatalog(catalog, auth),
      }),
      mockServices.rootConfig.factory({
        data: {
          backend: {
            baseUrl: `http://127.0.0.1:${livePort ?? 7007}`,
            database: { client: 'pg', connection: `${process.env.DEVPLANE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432'}/postgres`, prefix: options.dbPrefix },
            ...(listenPort ? { listen: { port: listenPort, host: '127.0.0.1' } } : {}),
          },
          devplane: { dataDir: options.dataDir },
          gitHost: { allowPush: true },
          permission: { enabled: true },
          catalog: {
            rules: [{ allow: ['Component', 'Group', 'User'] }],
            locations: [{ type: 'file', target: catalogFile }],
            // new entities are processed at once; reprocessing them often only costs CPU here
            processingInterval: { seconds: 600 },
          },
          // Fixture artifacts claim made-up commits: branch verification is off here, and the
          // service principal of the mock tokens is the CI uploader. The guardrails section
          // (sections/adversarial-guardrails.ts) turns verification on with real source repos.
          releaseManager: {
            environments: [
              { name: 'dev' },
              { name: 'staging' },
              {
                name: 'prod',
                production: true,
                guardrails: { verifyBranch: false, uploaders: ['external:test-service'] },
              },
            ],
            statusWebhook: { principals: ['external:test-service'] },
            ...(options.extraConfig?.releaseManager ?? {}),
          },
          ...Object.fromEntries(Object.entries(options.extraConfig ?? {}).filter(([k]) => k !== 'releaseManager')),
        },
      }),
      createServiceFactory({
        service: notificationService,
        deps: {},
        factory: () => ({ send: async (n: any) => void sentNotifications.push(n) }),
      }),
      ...(options.liveSignals
        ? [
            // the real auditor, metrics, ... come with createBackend (below)
            // the real EventsService (the test backend's default is an in-memory mock)
            eventsServiceFactory,
            import('@backstage/plugin-events-backend'),
            import('@backstage/plugin-signals-backend'),
          ]
        : [createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) })]),
      createBackendPlugin({
        pluginId: 'reliability-probe',
        register(env) {
          env.registerInit({
            deps: { catalog: catalogServiceRef, auth: coreServices.auth },
            async init({ catalog, auth }) {
              const last = options.services[options.services.length - 1];
              catalogReady = async () => {
                const credentials = await auth.getOwnServiceCredentials();
                const refs = ['user:default/alice', 'user:default/bert', 'user:default/mallory', 'user:default/pat', ...(last ? [`component:default/${last}`] : [])];
                const found = await Promise.all(refs.map(ref => catalog.getEntityByRef(ref, { credentials })));
                return found.every(e => (e?.relations?.length ?? 0) > 0);
              };
            },
          });
        },
      }),
  ];
  // Live signals: Backstage's own backend (createBackend: real root HTTP router and server, which
  // the signals backend's WebSocket route needs) with the same features; the services given
  // above (mock tokens, config, catalog-backed user info, ...) replace its defaults. Otherwise the
  // test backend (its router cannot route WebSockets in backend-test-utils 1.11.7).
  let backend: { stop(): Promise<void> };
  let testServer: { address(): unknown } | undefined;
  if (options.liveSignals) {
    const live = createBackend();
    for (const f of features) live.add(f);
    await live.start();
    backend = live;
  } else {
    const test = await startTestBackend({ features });
    backend = test;
    testServer = test.server;
  }
  // The catalog ingests the organisation asynchronously: wait until owners and members resolve.
  const deadline = Date.now() + 90_000;
  while (!(await catalogReady().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('the catalog did not ingest the test organisation within 90 s');
    await new Promise(r => setTimeout(r, 200));
  }
  const port = livePort ?? (testServer!.address() as AddressInfo).port;
  return { backend, port, url: `http://127.0.0.1:${port}`, sentNotifications };
}
