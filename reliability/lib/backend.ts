// Starts the real plugins (release-manager-backend, oncall-backend, git-host-backend) in a
// Backstage test backend: the plugins' own code and HTTP routes, mock auth tokens, the real
// database service on PostgreSQL, and a permission stand-in that applies the control plane's
// owner rule (production promotion and policy writes only for the owning group).
import { AddressInfo } from 'node:net';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { databaseServiceFactory } from '@backstage/backend-defaults/database';
import { schedulerServiceFactory } from '@backstage/backend-defaults/scheduler';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import releaseManagerPlugin from '@devplane/plugin-release-manager-backend';
import gitHostPlugin from '@devplane/plugin-git-host-backend';
import { oncallPlugin } from '../../plugins/oncall-backend/src/plugin';

export const OWNER_ONLY = new Set(['release-manager.promote.production', 'release-manager.policy.write']);

export function demoEntities(services: string[], annotations: Record<string, Record<string, string>> = {}) {
  const users = [
    ['alice', 'payments'],
    ['mallory', 'lending'],
    ['pat', 'platform'],
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

const MEMBERSHIP: Record<string, string> = {
  'user:default/alice': 'group:default/payments',
  'user:default/mallory': 'group:default/lending',
  'user:default/pat': 'group:default/platform',
};

export interface BackendOptions {
  dataDir: string;
  /** Database name prefix: each plugin gets `<prefix><pluginId>` on 127.0.0.1:5432. */
  dbPrefix: string;
  services: string[];
  port?: number;
  extraConfig?: Record<string, any>;
  /** Annotations per component name. */
  annotations?: Record<string, Record<string, string>>;
}

export async function startBackend(options: BackendOptions) {
  const entities = demoEntities(options.services, options.annotations);
  const sentNotifications: any[] = [];
  const backend = await startTestBackend({
    features: [
      releaseManagerPlugin,
      gitHostPlugin,
      oncallPlugin,
      databaseServiceFactory,
      // The real scheduler: the release manager's git sync runs as in production (2 s after
      // start, then every 30 s), which is how a restarted replica reconciles its database.
      schedulerServiceFactory,
      mockServices.rootConfig.factory({
        data: {
          backend: {
            baseUrl: 'http://127.0.0.1:7007',
            database: { client: 'pg', connection: `${process.env.DEVPLANE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432'}/postgres`, prefix: options.dbPrefix },
            ...(options.port ? { listen: { port: options.port, host: '127.0.0.1' } } : {}),
          },
          devplane: { dataDir: options.dataDir },
          gitHost: { allowPush: false },
          // Fixture artifacts claim made-up commits and the mock user info carries no group
          // claims: name the uploaders and leave branch verification off here. The guardrails
          // section (sections/adversarial-guardrails.ts) starts its backend with both on.
          releaseManager: {
            environments: [
              { name: 'dev' },
              { name: 'staging' },
              {
                name: 'prod',
                production: true,
                guardrails: { verifyBranch: false, uploaders: ['user:default/alice', 'external:test-service'] },
              },
            ],
            statusWebhook: { principals: ['external:test-service'] },
            ...(options.extraConfig?.releaseManager ?? {}),
          },
          ...Object.fromEntries(Object.entries(options.extraConfig ?? {}).filter(([k]) => k !== 'releaseManager')),
        },
      }),
      catalogServiceMock.factory({ entities: entities as any }),
      createServiceFactory({
        service: notificationService,
        deps: {},
        factory: () => ({ send: async (n: any) => void sentNotifications.push(n) }),
      }),
      createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
      createServiceFactory({
        service: coreServices.permissions,
        deps: {},
        factory: () => ({
          authorize: async (requests: any[], opts: any) =>
            requests.map(r => {
              const principal = opts?.credentials?.principal;
              const user = principal?.userEntityRef as string | undefined;
              if (!principal || principal.type === 'none') return { result: AuthorizeResult.DENY };
              if (!OWNER_ONLY.has(r.permission.name)) return { result: AuthorizeResult.ALLOW };
              if (!user) return { result: AuthorizeResult.DENY };
              const name = String(r.resourceRef ?? '').split('/').pop();
              const entity = entities.find(e => e.kind === 'Component' && e.metadata.name === name) as any;
              const owner = entity?.relations?.[0]?.targetRef;
              return { result: owner && MEMBERSHIP[user] === owner ? AuthorizeResult.ALLOW : AuthorizeResult.DENY };
            }),
          authorizeConditional: async (requests: any[]) => requests.map(() => ({ result: AuthorizeResult.DENY })),
        }),
      }),
    ],
  });
  const port = (backend.server.address() as AddressInfo).port;
  return { backend, port, url: `http://127.0.0.1:${port}`, sentNotifications };
}
