import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServiceFactory, coreServices } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import {
  CatalogProcessor,
  CatalogProcessorResult,
  EntityProvider,
  EntityProviderMutation,
  catalogProcessingExtensionPoint,
} from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { LocalGitHost, LocalGitHostUrlReader, gitHostServiceRef } from '@devplane/plugin-git-host-node';
import catalogModuleShuttle from './index';

const BASE = 'http://localhost:7007/api/git-host/repos';

const group = (name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name, namespace: 'default' },
  spec: { type: 'team', children: [] },
});

describe('catalogModuleShuttle wired into a backend', () => {
  let tmp: string;
  let host: LocalGitHost;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shuttle-mod-'));
    host = new LocalGitHost({ rootDir: tmp, baseUrl: BASE });
    await host.createRepo('ledger', {
      files: {
        'catalog-info.yaml': 'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ledger\nspec:\n  type: service\n  lifecycle: production\n',
        'shuttle.yaml': 'plan: false\nvars:\n  squad: payments\n  service: ledger\n  system: banking-core\n',
      },
    });
    await host.createRepo('orphan', { files: { 'shuttle.yaml': 'plan: ../plan\nvars:\n  squad: nobody\n' } });
    await host.createRepo('discovered', { files: { 'shuttle.yaml': 'plan: ../plan\nvars:\n  squad: payments\n  service: discovered\n' } });
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('registers the processor and the scheduled discovery provider', async () => {
    const processors: CatalogProcessor[] = [];
    const providers: EntityProvider[] = [];
    const scheduler = mockServices.scheduler();
    const catalog = catalogServiceMock.mock({
      getEntities: jest.fn(async () => ({ items: [group('payments'), group('lending')] })),
    });

    const backend = await startTestBackend({
      extensionPoints: [
        [
          catalogProcessingExtensionPoint,
          {
            addProcessor: (...p: any[]) => processors.push(...p.flat()),
            addEntityProvider: (...p: any[]) => providers.push(...p.flat()),
          },
        ],
      ],
      features: [
        catalogModuleShuttle,
        catalog.factory,
        (scheduler as any).factory({ skipTaskRunOnStartup: true }),
        createServiceFactory({ service: gitHostServiceRef, deps: {}, factory: () => host }),
        createServiceFactory({
          service: coreServices.urlReader,
          deps: {},
          factory: () => new LocalGitHostUrlReader(host) as any,
        }),
        mockServices.rootConfig.factory({
          data: {
            backend: { baseUrl: 'http://localhost:7007' },
            catalog: { providers: { shuttle: { schedule: { frequency: { minutes: 1 }, timeout: { minutes: 2 } } } } },
          },
        }),
      ],
    });

    try {
      expect(processors.map(p => p.getProcessorName())).toEqual(['ShuttleProcessor']);
      expect(providers.map(p => p.getProviderName())).toEqual(['shuttle-discovery:git-host']);

      // Processor: the catalog-info.yaml without owner gets the squad; unknown squads are errors.
      const processor = processors[0];
      const run = async (repo: string, entity: Entity) => {
        const location = { type: 'url', target: `${BASE}/${repo}/blob/main/catalog-info.yaml` };
        const emitted: CatalogProcessorResult[] = [];
        const out = await processor.preProcessEntity!(entity, location, r => emitted.push(r), location, {} as any);
        return { out, emitted };
      };
      const ledger: Entity = {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name: 'ledger' },
        spec: { type: 'service', lifecycle: 'production' },
      };
      const ok = await run('ledger', ledger);
      expect(ok.emitted).toEqual([]);
      expect(ok.out.spec).toMatchObject({ owner: 'group:payments', system: 'banking-core' });
      expect(catalog.getEntities).toHaveBeenCalledWith(
        expect.objectContaining({ filter: { kind: 'Group' } }),
        expect.objectContaining({ credentials: expect.anything() }),
      );

      const orphan = await run('orphan', { ...ledger, metadata: { name: 'orphan' } });
      expect(orphan.emitted).toHaveLength(1);
      expect(orphan.emitted[0]).toMatchObject({ type: 'error' });
      expect((orphan.emitted[0] as any).error.message).toContain(
        `${BASE}/orphan/blob/main/shuttle.yaml: vars.squad 'nobody' maps to group:nobody, which is not a Group in the catalog`,
      );

      // Provider: scheduled on connect, runs through the scheduler.
      const mutations: EntityProviderMutation[] = [];
      await providers[0].connect({ applyMutation: async m => void mutations.push(m), refresh: async () => {} });
      const tasks = await scheduler.getScheduledTasks();
      expect(tasks.map(t => t.id)).toEqual(['shuttle-discovery:git-host:refresh']);
      await scheduler.triggerTask('shuttle-discovery:git-host:refresh');
      expect(mutations).toHaveLength(1);
      const m = mutations[0] as Extract<EntityProviderMutation, { type: 'full' }>;
      expect(m.entities.map(e => e.entity.metadata.name).sort()).toEqual(['discovered', 'orphan']);
    } finally {
      await backend.stop();
    }
  });
});
