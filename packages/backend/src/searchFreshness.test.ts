import http from 'node:http';
import { AddressInfo } from 'node:net';
import { Entity } from '@backstage/catalog-model';
import { ConflictError } from '@backstage/errors';
import { mockServices } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  CATALOG_INDEX_TASK,
  SearchFreshness,
  TECHDOCS_INDEX_TASK,
  parseEventStream,
  techdocsSyncBuilder,
} from './searchFreshness';

const component = (name: string, etag: string, docs = false): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    etag,
    annotations: docs ? { 'backstage.io/techdocs-ref': 'dir:.' } : {},
  },
  spec: {},
});

describe('SearchFreshness', () => {
  let entities: Entity[];
  let triggered: string[];
  let busy: Set<string>;
  let built: string[];
  let freshness: SearchFreshness;
  let clock: number;
  let failDocs: boolean;

  beforeEach(() => {
    entities = [component('org-only', 'e1')];
    triggered = [];
    busy = new Set();
    built = [];
    clock = 0;
    failDocs = false;
    freshness = new SearchFreshness({
      catalog: catalogServiceMock.mock({ getEntities: async () => ({ items: entities }) }),
      auth: mockServices.auth(),
      logger: mockServices.logger.mock(),
      scheduler: {
        triggerTask: async (id: string) => {
          if (busy.has(id)) throw new ConflictError(`Task ${id} is currently running`);
          triggered.push(id);
        },
      },
      buildDocs: async e => {
        if (failDocs) throw new Error('mkdocs: command not found');
        built.push(e.metadata.name);
        triggered.push(`build:${e.metadata.name}`);
        return true;
      },
      now: () => clock,
      retryFailedMs: 60_000,
    });
  });

  it('re-indexes the catalog when services arrive after the first index run, and only then', async () => {
    expect((await freshness.tick()).catalog).toBe(true);
    triggered = [];
    expect(await freshness.tick()).toEqual({ catalog: false, techdocs: false, built: [] });
    expect(triggered).toEqual([]);

    // ingestion of the git-hosted services a little later
    entities = [...entities, component('payment-gateway', 'p1', true)];
    const r = await freshness.tick();
    expect(r).toEqual({ catalog: true, techdocs: true, built: ['component:default/payment-gateway'] });
    // the catalog is re-indexed before the (slow) docs build, the docs right after it
    expect(triggered).toEqual([CATALOG_INDEX_TASK, 'build:payment-gateway', TECHDOCS_INDEX_TASK]);
    expect(built).toEqual(['payment-gateway']);

    // an edited entity is a change too; its docs are rebuilt, the others are not
    triggered = [];
    entities = [component('org-only', 'e2'), component('payment-gateway', 'p1', true)];
    expect((await freshness.tick()).catalog).toBe(true);
    expect(built).toEqual(['payment-gateway']);
    expect(triggered).toEqual([CATALOG_INDEX_TASK]);
  });

  it('retries a trigger that met a running index task on the next tick', async () => {
    busy.add(CATALOG_INDEX_TASK);
    expect((await freshness.tick()).catalog).toBe(false);
    expect(triggered).toEqual([]);
    busy.clear();
    expect((await freshness.tick()).catalog).toBe(true);
    expect(triggered).toEqual([CATALOG_INDEX_TASK]);
  });

  it('does not rebuild failing docs on every tick, and retries them after the pause', async () => {
    entities = [component('svc', 's1', true)];
    failDocs = true;
    expect((await freshness.tick()).techdocs).toBe(false);
    failDocs = false;
    clock = 30_000;
    expect((await freshness.tick()).built).toEqual([]);
    clock = 61_000;
    expect((await freshness.tick()).built).toEqual(['component:default/svc']);
    expect(triggered).toEqual([CATALOG_INDEX_TASK, 'build:svc', TECHDOCS_INDEX_TASK]);
  });
});

describe('techdocsSyncBuilder', () => {
  let server: http.Server;
  let requests: Array<{ url?: string; auth?: string }>;
  let reply: string;

  beforeEach(async () => {
    requests = [];
    server = http.createServer((req, res) => {
      requests.push({ url: req.url, auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(reply);
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(() => new Promise(resolve => server.close(resolve)));

  const builder = () =>
    techdocsSyncBuilder({
      discovery: {
        getBaseUrl: async () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/techdocs`,
        getExternalBaseUrl: async () => '',
      },
      auth: mockServices.auth(),
    });

  it('calls the sync endpoint of the entity with a service token and reads the finish event', async () => {
    reply = 'event: log\ndata: "building"\n\nevent: finish\ndata: {"updated":true}\n\n';
    await expect(builder()(component('payment-gateway', 'x', true))).resolves.toBe(true);
    expect(requests[0].url).toBe('/api/techdocs/sync/default/component/payment-gateway');
    expect(requests[0].auth).toMatch(/^Bearer .+/);
    reply = 'event: finish\ndata: {"updated":false}\n\n';
    await expect(builder()(component('payment-gateway', 'x', true))).resolves.toBe(false);
  });

  it('fails with the build error TechDocs reported', async () => {
    reply = 'event: log\ndata: "x"\n\nevent: error\ndata: "Failed to generate docs"\n\n';
    await expect(builder()(component('svc', 'x', true))).rejects.toThrow('Failed to generate docs');
  });
});

describe('parseEventStream', () => {
  it('splits events and parses JSON data', () => {
    expect(parseEventStream('event: finish\ndata: {"updated":true}\n\n: comment\n\ndata: plain\n\n')).toEqual([
      { event: 'finish', data: { updated: true } },
      { event: 'message', data: 'plain' },
    ]);
  });
});
