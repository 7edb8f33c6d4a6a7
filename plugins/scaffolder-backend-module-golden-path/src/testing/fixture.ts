import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AuthService,
  BackstageCredentials,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { CatalogApi } from '@backstage/catalog-client';
import { InMemoryCatalogClient } from '@backstage/catalog-client/testUtils';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { GoldenPathDeps } from '../lib/deps';
import { ReleaseManagerClient } from '../lib/releaseManager';
import { RepoHosts } from '../lib/repoHosts';
import { ServiceKind } from '../lib/names';
import {
  startReleaseManagerStandIn,
  StandInOptions,
} from './releaseManagerStandIn';
import { startRealReleaseManager, TEST_USERS } from './realReleaseManager';

type Entity = NonNullable<Awaited<ReturnType<CatalogApi['getEntityByRef']>>>;

const group = (name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name, namespace: 'default' },
  spec: { type: 'squad', children: [] },
});

/** The demo organisation's catalog, as far as the golden path looks at it. */
export const DEMO_ENTITIES: Entity[] = [
  ...['payments', 'lending', 'onboarding', 'platform'].map(group),
  ...['banking-core', 'customer-onboarding'].map(name => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'System',
    metadata: { name, namespace: 'default' },
    spec: { owner: 'platform' },
  })),
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'ledger', namespace: 'default' },
    spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
  },
];

/**
 * Minimal AuthService: tokens name the principal, so the stand-in can tell a service call from
 * one made on behalf of the user.
 */
export function fakeAuth(): AuthService {
  const own: BackstageCredentials = {
    $$type: '@backstage/BackstageCredentials',
    principal: { type: 'service', subject: 'plugin:scaffolder' },
  } as BackstageCredentials;
  return {
    getOwnServiceCredentials: async () => own,
    getPluginRequestToken: async ({ onBehalfOf, targetPluginId }: any) => {
      const p = onBehalfOf.principal;
      const who = p.type === 'user' ? p.userEntityRef : p.subject;
      return { token: `fake:${p.type}:${who}:${targetPluginId}` };
    },
  } as unknown as AuthService;
}

/** Renders a skeleton folder like fetch:template does for `${{ values.x }}` and `| dump`. */
export async function renderSkeleton(
  kind: ServiceKind,
  values: Record<string, string>,
  targetDir: string,
  skeletonsDir = resolvePackagePath(
    '@devplane/plugin-scaffolder-backend-module-golden-path',
    '../../templates/golden-path/skeletons',
  ),
) {
  const src = path.join(skeletonsDir, kind);
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(src, rel), {
      withFileTypes: true,
    })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) {
        await walk(r);
      } else {
        const text = await fs.readFile(path.join(src, r), 'utf8');
        const out = text.replace(
          /\$\{\{\s*values\.(\w+)\s*(\|\s*dump\s*)?\}\}/g,
          (_, k, dump) =>
            dump ? JSON.stringify(values[k] ?? '') : values[k] ?? '',
        );
        await fs.mkdir(path.dirname(path.join(targetDir, r)), {
          recursive: true,
        });
        await fs.writeFile(path.join(targetDir, r), out);
      }
    }
  };
  await walk('');
}

/** Locations the fake catalog knows (catalog:register adds them in real life). */
export class FakeLocations {
  readonly byTarget = new Map<
    string,
    { id: string; type: string; target: string; entityRef: string }
  >();
  readonly removed: string[] = [];
  /** What `addLocation` registers a target as (the component the catalog will process). */
  onRegister?: (
    target: string,
  ) => { name: string; owner: string; delayMs?: number } | undefined;
  /** Makes the next `addLocation` fail with this error. */
  failNextAdd?: Error;
  /** Components the "catalog" has processed from registered locations. */
  readonly components = new Map<string, Entity>();
  /**
   * Registers a location. With `component`, the catalog "processes" it into a Component owned
   * by `component.owner` after `component.delayMs`.
   */
  add(
    target: string,
    component?: { name: string; owner: string; delayMs?: number },
  ) {
    if (component) {
      // as the catalog processes it: owner from shuttle.yaml, the location it came from
      const entity: Entity = {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: {
          name: component.name,
          namespace: 'default',
          annotations: {
            'backstage.io/managed-by-location': `url:${target}`,
            'backstage.io/managed-by-origin-location': `url:${target}`,
          },
        },
        spec: {
          type: 'service',
          lifecycle: 'experimental',
          owner: component.owner,
        },
        relations: [{ type: 'ownedBy', targetRef: component.owner }],
      };
      const ref = `component:default/${component.name}`;
      if (component.delayMs) {
        setTimeout(
          () => this.components.set(ref, entity),
          component.delayMs,
        ).unref();
      } else {
        this.components.set(ref, entity);
      }
    }
    const id = `loc-${this.byTarget.size + 1}`;
    const loc = {
      id,
      type: 'url',
      target,
      entityRef: `location:default/${id}`,
    };
    this.byTarget.set(target, loc);
    return loc;
  }
}

/**
 * A temporary local git host (with an existing `ledger` repo and a `config` repo), the demo
 * catalog in memory and a release manager stand-in. Call `close()` when done.
 */
export async function createGoldenPathFixture(
  options: {
    standIn?: StandInOptions;
    /**
     * Use the real release-manager-backend (in a test backend sharing this git host, so pushes
     * reach its push path) instead of the stand-in.
     */
    realReleaseManager?: boolean;
  } = {},
) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'golden-path-'));
  const gitHost = new LocalGitHost({
    rootDir: path.join(root, 'git'),
    baseUrl: 'http://localhost:7007/api/git-host/repos',
  });
  await fs.mkdir(gitHost.rootDir, { recursive: true });
  await gitHost.createRepo('ledger', { files: { 'README.md': '# ledger\n' } });
  const inMemory = new InMemoryCatalogClient({
    entities: options.realReleaseManager
      ? [...DEMO_ENTITIES, ...(TEST_USERS as Entity[])]
      : DEMO_ENTITIES,
  });
  const locations = new FakeLocations();
  let standIn: Awaited<ReturnType<typeof startReleaseManagerStandIn>>;
  let auth: AuthService;
  if (options.realReleaseManager) {
    const real = await startRealReleaseManager({
      gitHost,
      dataDir: path.join(root, 'release-manager'),
      lookup: async ref =>
        locations.components.get(ref) ?? (await inMemory.getEntityByRef(ref)),
    });
    auth = real.auth;
    standIn = {
      baseUrl: real.baseUrl,
      close: real.stop,
      requests: [],
      policies: new Map(),
    } as any;
  } else {
    await gitHost.createRepo('config', {
      files: { 'README.md': '# config repo\n' },
    });
    standIn = await startReleaseManagerStandIn({
      ...options.standIn,
      configRepo: { gitHost, name: 'config' },
    });
    auth = fakeAuth();
  }
  const deps: GoldenPathDeps = {
    repoHosts: new RepoHosts(gitHost),
    catalog: {
      api: {
        getEntities: req => inMemory.getEntities(req),
        getEntityByRef: async ref =>
          (await inMemory.getEntityByRef(ref)) ??
          locations.components.get(String(ref)),
        getLocationByRef: async ref =>
          locations.byTarget.get(ref.replace(/^url:/, '')),
        addLocation: async ({ target, type }) => {
          if (locations.failNextAdd) {
            const e = locations.failNextAdd;
            locations.failNextAdd = undefined;
            throw e;
          }
          if (locations.byTarget.has(target)) {
            throw new Error(`Location ${type}:${target} already exists`);
          }
          const location = locations.add(
            target,
            locations.onRegister?.(target),
          );
          return { location, entities: [], exists: false } as any;
        },
        removeLocationById: async id => {
          for (const [target, loc] of locations.byTarget) {
            if (loc.id === id) locations.byTarget.delete(target);
          }
          locations.removed.push(id);
        },
      },
      token: async () => undefined,
    },
    releaseManager: new ReleaseManagerClient({
      discovery: {
        getBaseUrl: async () => standIn.baseUrl,
        getExternalBaseUrl: async () => standIn.baseUrl,
      },
      auth,
    }),
    appBaseUrl: 'http://localhost:3000',
  };
  const workspace = path.join(root, 'workspace');
  await fs.mkdir(workspace, { recursive: true });
  return {
    root,
    workspace,
    gitHost,
    standIn,
    deps,
    locations,
    close: async () => {
      await standIn.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

export type GoldenPathFixture = Awaited<
  ReturnType<typeof createGoldenPathFixture>
>;
