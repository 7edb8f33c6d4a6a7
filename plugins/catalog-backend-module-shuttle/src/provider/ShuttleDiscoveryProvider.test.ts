import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { mockServices } from '@backstage/backend-test-utils';
import { EntityProviderMutation } from '@backstage/plugin-catalog-node';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { ShuttleDiscoveryProvider } from './ShuttleDiscoveryProvider';
import { GitHubOrgRepoSource, LocalGitHostRepoSource } from './sources';
import { ConfigReader } from '@backstage/config';

const BASE = 'http://localhost:7007/api/git-host/repos';
const fixture = (name: string) =>
  fs.readFileSync(path.join(__dirname, '..', '__fixtures__', name), 'utf8');

function connection() {
  const mutations: EntityProviderMutation[] = [];
  return {
    mutations,
    conn: { applyMutation: async (m: EntityProviderMutation) => void mutations.push(m), refresh: async () => {} },
  };
}

describe('ShuttleDiscoveryProvider on a real local git host', () => {
  let tmp: string;
  let host: LocalGitHost;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shuttle-disc-'));
    host = new LocalGitHost({ rootDir: tmp, baseUrl: BASE });
    await host.createRepo('payment-gateway', { files: { 'shuttle.yaml': fixture('plan-path.yaml') } });
    await host.createRepo('kyc-checker', { files: { 'shuttle.yaml': fixture('plan-git-ref.yaml'), 'src/main.go': 'package main\n' } });
    await host.createRepo('team/unnamed', { files: { 'shuttle.yaml': 'plan: false\nvars:\n  squad: platform\n' } });
    await host.createRepo('has-catalog-info', {
      files: { 'shuttle.yaml': fixture('plan-false.yaml'), 'catalog-info.yaml': 'kind: Component\n' },
    });
    await host.createRepo('no-shuttle', { files: { 'README.md': 'hi\n' } });
    await host.createRepo('broken', { files: { 'shuttle.yaml': fixture('alias-bomb.yaml') } });
    await host.createRepo('empty');
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('emits Components for repos with shuttle.yaml and no catalog-info.yaml (full mutation)', async () => {
    const provider = new ShuttleDiscoveryProvider({ source: new LocalGitHostRepoSource(host), logger: mockServices.logger.mock() });
    expect(provider.getProviderName()).toBe('shuttle-discovery:git-host');
    const { conn, mutations } = connection();
    await provider.connect(conn);
    const result = await provider.refresh();
    expect(result).toEqual({ scanned: 7, emitted: 4, invalid: 1, parsed: 4, failed: 0, duplicates: 0 });
    expect(mutations).toHaveLength(1);
    const m = mutations[0];
    if (m.type !== 'full') throw new Error('expected full mutation');
    const byName = Object.fromEntries(m.entities.map(d => [d.entity.metadata.name, d]));
    expect(Object.keys(byName).sort()).toEqual(['broken', 'kyc-checker', 'payment-gateway', 'team-unnamed']);

    const pg = byName['payment-gateway'];
    expect(pg.locationKey).toBe(`shuttle:${BASE}/payment-gateway/blob/main/shuttle.yaml`);
    expect(pg.entity).toMatchObject({
      kind: 'Component',
      spec: { type: 'service', lifecycle: 'production', owner: 'group:payments', system: 'banking-core' },
      metadata: {
        annotations: {
          'backstage.io/managed-by-location': `url:${BASE}/payment-gateway/blob/main/shuttle.yaml`,
          'backstage.io/managed-by-origin-location': `url:${BASE}/payment-gateway/blob/main/shuttle.yaml`,
          'backstage.io/source-location': `url:${BASE}/payment-gateway/tree/main/`,
          'devplane.io/shuttle-plan': '../the-plan',
          'devplane.io/kubernetes-namespace': 'payments',
          'devplane.io/shuttle-service': 'payment-gateway',
        },
      },
    });
    expect(byName['kyc-checker'].entity.metadata.links?.[0].url).toBe(
      'https://github.com/lunarway/shuttle-example-go-plan/tree/v1.2.0',
    );
    expect(byName['team-unnamed'].entity.spec?.owner).toBe('group:platform');
    // Invalid file: a bare Component, so the processor's error lands on it.
    expect(byName.broken.entity.spec?.owner).toBeUndefined();
    expect(byName.broken.entity.metadata.annotations?.['backstage.io/source-location']).toBe(`url:${BASE}/broken/tree/main/`);
  });

  it('re-parses only changed files and drops repos that gained a catalog-info.yaml', async () => {
    const provider = new ShuttleDiscoveryProvider({ source: new LocalGitHostRepoSource(host), logger: mockServices.logger.mock() });
    const { conn, mutations } = connection();
    await provider.connect(conn);
    await provider.refresh();
    expect((await provider.refresh()).parsed).toBe(0);
    await host.commitFiles('team/unnamed', { 'catalog-info.yaml': 'kind: Component\n' }, { message: 'register' });
    await host.commitFiles('payment-gateway', { 'shuttle.yaml': fixture('plan-path.yaml').replace('squad: payments', 'squad: lending') }, { message: 'handover' });
    const third = await provider.refresh();
    expect(third).toMatchObject({ emitted: 3, parsed: 1 });
    const last = mutations[mutations.length - 1] as Extract<EntityProviderMutation, { type: 'full' }>;
    expect(last.entities.map(e => e.entity.metadata.name).sort()).toEqual(['broken', 'kyc-checker', 'payment-gateway']);
    expect(last.entities.find(e => e.entity.metadata.name === 'payment-gateway')!.entity.spec?.owner).toBe('group:lending');
  });
});

describe('ShuttleDiscoveryProvider: failures and duplicates', () => {
  let tmp: string;
  let host: LocalGitHost;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shuttle-disc2-'));
    host = new LocalGitHost({ rootDir: tmp, baseUrl: BASE });
    await host.createRepo('ledger', { files: { 'shuttle.yaml': 'plan: false\nvars:\n  squad: payments\n  service: ledger\n' } });
    await host.createRepo('ledger-v2', { files: { 'shuttle.yaml': 'plan: false\nvars:\n  squad: lending\n  service: ledger\n' } });
    await host.createRepo('kyc', { files: { 'shuttle.yaml': 'plan: false\nvars:\n  squad: onboarding\n' } });
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a duplicate vars.service is provided under its repo name, marked for the processor to report', async () => {
    const provider = new ShuttleDiscoveryProvider({ source: new LocalGitHostRepoSource(host), logger: mockServices.logger.mock() });
    const { conn, mutations } = connection();
    await provider.connect(conn);
    expect(await provider.refresh()).toMatchObject({ emitted: 3, duplicates: 1 });
    const m = mutations[0] as Extract<EntityProviderMutation, { type: 'full' }>;
    const byName = Object.fromEntries(m.entities.map(d => [d.entity.metadata.name, d.entity]));
    expect(Object.keys(byName).sort()).toEqual(['kyc', 'ledger', 'ledger-v2']);
    expect(byName.ledger.spec?.owner).toBe('group:payments');
    expect(byName['ledger-v2'].spec?.owner).toBe('group:lending');
    expect(byName['ledger-v2'].metadata.annotations?.['devplane.io/shuttle-duplicate-service']).toBe(
      `ledger ${BASE}/ledger/blob/main/shuttle.yaml`,
    );
    expect(byName.ledger.metadata.annotations?.['devplane.io/shuttle-duplicate-service']).toBeUndefined();
  });

  it('a repository that cannot be read does not abort the run and keeps its last known entity', async () => {
    const source = new LocalGitHostRepoSource(host);
    const provider = new ShuttleDiscoveryProvider({ source, logger: mockServices.logger.mock() });
    const { conn, mutations } = connection();
    await provider.connect(conn);
    await provider.refresh();
    await host.commitFiles('kyc', { 'shuttle.yaml': 'plan: false\nvars:\n  squad: platform\n' }, { message: 'move' });
    const realRead = host.readBlob.bind(host);
    const spy = jest.spyOn(host, 'readBlob').mockImplementation(async (repo: string, sha: string) => {
      if (repo === 'kyc') throw new Error('object file is corrupt');
      return realRead(repo, sha);
    });
    try {
      const second = await provider.refresh();
      expect(second).toMatchObject({ failed: 1, emitted: 3 });
      const last = mutations[mutations.length - 1] as Extract<EntityProviderMutation, { type: 'full' }>;
      // still there, with what was known before the unreadable change
      expect(last.entities.find(e => e.entity.metadata.name === 'kyc')!.entity.spec?.owner).toBe('group:onboarding');
    } finally {
      spy.mockRestore();
    }
    await provider.refresh();
    const last = mutations[mutations.length - 1] as Extract<EntityProviderMutation, { type: 'full' }>;
    expect(last.entities.find(e => e.entity.metadata.name === 'kyc')!.entity.spec?.owner).toBe('group:platform');
  });
});

describe('GitHubOrgRepoSource against a local stand-in of the GitHub REST API', () => {
  let server: http.Server;
  let api: string;
  const seen: { url: string; auth?: string }[] = [];
  const flaky = { status: 409 };
  const shuttle = Buffer.from('plan: false\nvars:\n  squad: payments\n  service: ledger\n').toString('base64');

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      const json = (body: unknown, status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const u = new URL(req.url!, 'http://x');
      // GitHub App: installations (app JWT) and an installation access token for acme
      if (req.method === 'GET' && u.pathname === '/app/installations') {
        return json([{ id: 77, account: { login: 'acme' }, suspended_by: null }]);
      }
      if (req.method === 'POST' && u.pathname === '/app/installations/77/access_tokens') {
        return json(
          { token: 'ghs_acme', expires_at: new Date(Date.now() + 3600_000).toISOString(), repository_selection: 'all' },
          201,
        );
      }
      if (u.pathname === '/orgs/acme/repos') {
        const page = Number(u.searchParams.get('page'));
        const all = [
          ...Array.from({ length: 99 }, (_, i) => ({ name: `filler-${i}`, default_branch: 'main' })),
          { name: 'ledger', default_branch: 'trunk' },
          { name: 'registered', default_branch: 'main' },
          { name: 'old', default_branch: 'main', archived: true },
        ];
        return json(all.slice((page - 1) * 100, page * 100));
      }
      if (u.pathname === '/repos/acme/ledger/git/trees/trunk') return json({ tree: [{ path: 'shuttle.yaml', type: 'blob', sha: 'abc123' }] });
      if (u.pathname === '/repos/acme/registered/git/trees/main') {
        return json({ tree: [{ path: 'shuttle.yaml', type: 'blob', sha: 'def' }, { path: 'catalog-info.yaml', type: 'blob', sha: 'fed' }] });
      }
      if (u.pathname === '/repos/acme/ledger/git/blobs/abc123') return json({ content: shuttle, encoding: 'base64' });
      if (u.pathname === '/repos/acme/filler-7/git/trees/main') {
        return json({ message: 'Server Error' }, flaky.status);
      }
      if (u.pathname.startsWith('/repos/acme/filler-')) return json({ message: 'Git Repository is empty.' }, 409);
      return json({ message: 'Not Found' }, 404);
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise(r => server.close(r)));

  it('pages through the org, reads integration token and API URL from config, emits Components', async () => {
    const source = GitHubOrgRepoSource.fromConfig(
      new ConfigReader({
        integrations: { github: [{ host: 'github.example.com', apiBaseUrl: api, token: 'ghp_test' }] },
        catalog: { providers: { shuttle: { source: 'github', github: { host: 'github.example.com', org: 'acme' } } } },
      }),
    );
    const provider = new ShuttleDiscoveryProvider({ source, logger: mockServices.logger.mock() });
    const { conn, mutations } = connection();
    await provider.connect(conn);
    const result = await provider.refresh();
    expect(result).toMatchObject({ scanned: 101, emitted: 1 });
    const m = mutations[0] as Extract<EntityProviderMutation, { type: 'full' }>;
    expect(m.entities[0].entity).toMatchObject({
      metadata: {
        name: 'ledger',
        annotations: { 'backstage.io/managed-by-location': 'url:https://github.example.com/acme/ledger/blob/trunk/shuttle.yaml' },
      },
      spec: { owner: 'group:payments' },
    });
    expect(seen.every(s => s.auth === 'Bearer ghp_test')).toBe(true);
    expect(seen.filter(s => s.url.startsWith('/orgs/acme/repos')).map(s => s.url)).toEqual([
      '/orgs/acme/repos?per_page=100&page=1',
      '/orgs/acme/repos?per_page=100&page=2',
    ]);
  });

  it('authenticates as a GitHub App through Backstage integration credentials', async () => {
    seen.length = 0;
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const source = GitHubOrgRepoSource.fromConfig(
      new ConfigReader({
        integrations: {
          github: [
            {
              host: 'github.example.com',
              apiBaseUrl: api,
              apps: [
                {
                  appId: 1,
                  privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }),
                  clientId: 'Iv1.x',
                  clientSecret: 's',
                  webhookSecret: 'w',
                },
              ],
            },
          ],
        },
        catalog: { providers: { shuttle: { source: 'github', github: { host: 'github.example.com', org: 'acme' } } } },
      }),
    );
    const found = await source.discover();
    expect(found.candidates.map(c => c.repo)).toEqual(['ledger']);
    const orgCalls = seen.filter(s => s.url.startsWith('/orgs/') || s.url.startsWith('/repos/'));
    expect(orgCalls.length).toBeGreaterThan(100);
    expect(orgCalls.every(s => s.auth === 'Bearer ghs_acme')).toBe(true);
    expect(seen.find(s => s.url === '/app/installations')?.auth).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/i);
  });

  it.each([500, 403])('one repository answering %s does not abort the run', async status => {
    flaky.status = status;
    try {
      const source = new GitHubOrgRepoSource({ org: 'acme', host: 'github.example.com', apiBaseUrl: api });
      const found = await source.discover();
      expect(found.candidates.map(c => c.repo)).toEqual(['ledger']);
      expect(found.failed).toEqual([
        { repo: 'filler-7', reason: `GitHub /repos/acme/filler-7/git/trees/main answered HTTP ${status}` },
      ]);
    } finally {
      flaky.status = 409;
    }
  });
});
