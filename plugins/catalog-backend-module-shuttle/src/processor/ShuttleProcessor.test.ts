import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { Entity } from '@backstage/catalog-model';
import { AlphaEntity } from '@backstage/catalog-model/alpha';
import { CatalogProcessorResult } from '@backstage/plugin-catalog-node';
import { LocalGitHost, LocalGitHostUrlReader } from '@devplane/plugin-git-host-node';
import { ShuttleProcessor } from './ShuttleProcessor';
import { ShuttleFileReader } from '../shuttle/ShuttleFileReader';
import { ShuttleSettings } from '../settings';

const fixture = (name: string) =>
  fs.readFileSync(path.join(__dirname, '..', '__fixtures__', name), 'utf8');

const BASE = 'http://localhost:7007/api/git-host/repos';
let tmp: string;
let host: LocalGitHost;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shuttle-proc-'));
  host = new LocalGitHost({ rootDir: tmp, baseUrl: BASE });
  const repo = (name: string, shuttle?: string) =>
    host.createRepo(name, {
      files: { 'README.md': `# ${name}\n`, ...(shuttle !== undefined ? { 'shuttle.yaml': shuttle } : {}) },
    });
  await repo('payment-gateway', fixture('plan-path.yaml'));
  await repo('loan-engine', fixture('plan-false.yaml'));
  await repo('kyc-checker', fixture('plan-git-ref.yaml'));
  await repo('no-shuttle');
  await repo('bad-yaml', fixture('bad-yaml.yaml'));
  await repo('alias-bomb', fixture('alias-bomb.yaml'));
  await repo('oversized', `plan: false\nvars:\n  squad: payments\n  x: "${'y'.repeat(70_000)}"\n`);
  await repo('wrong-types', fixture('wrong-types.yaml'));
  await repo('ghost-squad', 'plan: false\nvars:\n  squad: ghosts\n');
  await repo('merge-keys', 'plan: false\nvars:\n  base: &base { squad: lending, service: merge-keys }\n  <<: *base\n');
  await repo('extra-field', 'plan: false\nversion: 2\nvars:\n  squad: payments\n');
}, 60_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const GROUPS = new Set(['group:default/payments', 'group:default/lending', 'group:default/onboarding', 'group:platform/payments-team']);
const groups = { has: async (ref: string) => GROUPS.has(ref.replace(/^group:(?!.*\/)/, 'group:default/').toLowerCase()) };

function setup(settings: Partial<ShuttleSettings> = {}, trustedHosts: string[] = []) {
  const reader = new ShuttleFileReader({
    urlReader: new LocalGitHostUrlReader(host) as any,
    isTrustedReaderUrl: url => host.handles(url),
    trustedHosts,
  });
  return { reader, processor: new ShuttleProcessor({ reader, groups, settings }) };
}

function component(repo: string, spec: Record<string, any> = {}, annotations: Record<string, string> = {}): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: repo,
      annotations: {
        'backstage.io/managed-by-location': `url:${BASE}/${repo}/blob/main/catalog-info.yaml`,
        ...annotations,
      },
    },
    spec: { type: 'service', lifecycle: 'production', ...spec },
  };
}

const locationOf = (repo: string) => ({ type: 'url', target: `${BASE}/${repo}/blob/main/catalog-info.yaml` });

async function run(p: ShuttleProcessor, entity: Entity, location = locationOf(entity.metadata.name)) {
  const emitted: CatalogProcessorResult[] = [];
  const out = await p.preProcessEntity(entity, location, r => emitted.push(r), location);
  const errors = emitted.flatMap(r => (r.type === 'error' ? [r.error] : []));
  return { out, errors, emitted };
}

describe('ShuttleProcessor', () => {
  it('takes owner, system, plan, namespace and service from shuttle.yaml (plan as path)', async () => {
    const { processor } = setup();
    const { out, errors } = await run(processor, component('payment-gateway'));
    expect(errors).toEqual([]);
    expect(out.spec).toMatchObject({ owner: 'group:payments', system: 'banking-core' });
    expect(out.metadata.annotations).toMatchObject({
      'devplane.io/shuttle-plan': '../the-plan',
      'devplane.io/kubernetes-namespace': 'payments',
      'devplane.io/shuttle-service': 'payment-gateway',
      'devplane.io/shuttle-squad': 'payments',
      'devplane.io/shuttle-file': `${BASE}/payment-gateway/blob/main/shuttle.yaml`,
    });
  });

  it('plan: false, namespace falls back to the squad, system from domain when configured', async () => {
    const plain = await run(setup().processor, component('loan-engine'));
    expect(plain.out.spec).toMatchObject({ owner: 'group:lending' });
    expect(plain.out.spec?.system).toBeUndefined();
    expect(plain.out.metadata.annotations).toMatchObject({
      'devplane.io/shuttle-plan': 'false',
      'devplane.io/kubernetes-namespace': 'lending',
    });
    const withDomain = await run(setup({ systemFromDomain: true }).processor, component('loan-engine'));
    expect(withDomain.out.spec?.system).toBe('banking-core');
  });

  it('git plan with #ref becomes an annotation and a link; reads source-location first', async () => {
    const entity = component('kyc-checker', {}, {
      'backstage.io/source-location': `url:${BASE}/kyc-checker/tree/main/`,
      'backstage.io/managed-by-location': 'url:https://elsewhere.example/x/blob/main/catalog-info.yaml',
    });
    const { out, errors } = await run(setup().processor, entity, { type: 'url', target: 'https://elsewhere.example/x/blob/main/catalog-info.yaml' });
    expect(errors).toEqual([]);
    expect(out.spec?.owner).toBe('group:onboarding');
    expect(out.metadata.annotations?.['devplane.io/shuttle-plan']).toBe(
      'https://github.com/lunarway/shuttle-example-go-plan.git#v1.2.0',
    );
    expect(out.metadata.annotations?.['devplane.io/kubernetes-namespace']).toBe('kyc');
    expect(out.metadata.links).toEqual([
      { url: 'https://github.com/lunarway/shuttle-example-go-plan/tree/v1.2.0', title: 'Shuttle plan', type: 'shuttle-plan' },
    ]);
  });

  it('what catalog-info.yaml states explicitly wins, unless override is on', async () => {
    const explicit = component('payment-gateway', { owner: 'group:lending', system: 'other-system' }, {
      'devplane.io/kubernetes-namespace': 'pg-ns',
    });
    const kept = await run(setup().processor, explicit);
    expect(kept.errors).toEqual([]);
    expect(kept.out.spec).toMatchObject({ owner: 'group:lending', system: 'other-system' });
    expect(kept.out.metadata.annotations?.['devplane.io/kubernetes-namespace']).toBe('pg-ns');

    const overridden = await run(setup({ override: true }).processor, explicit);
    expect(overridden.out.spec).toMatchObject({ owner: 'group:payments', system: 'banking-core' });
    expect(overridden.out.metadata.annotations?.['devplane.io/kubernetes-namespace']).toBe('payments');
  });

  it('maps squads to groups through configuration', async () => {
    const { out, errors } = await run(
      setup({ squadGroups: { payments: 'group:platform/payments-team' } }).processor,
      component('payment-gateway'),
    );
    expect(errors).toEqual([]);
    expect(out.spec?.owner).toBe('group:platform/payments-team');
  });

  it('a repo without shuttle.yaml is left alone, without errors', async () => {
    const entity = component('no-shuttle', { owner: 'group:payments' });
    const { out, emitted } = await run(setup().processor, entity);
    expect(emitted).toEqual([]);
    expect(out).toEqual(entity);
  });

  it('ignores kinds it does not handle and entities not from a repo', async () => {
    const { processor } = setup();
    const group: Entity = { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'g' }, spec: {} };
    expect((await run(processor, group, locationOf('payment-gateway'))).out).toBe(group);
    const fileEntity: Entity = { ...component('x'), metadata: { name: 'x' } };
    expect((await run(processor, fileEntity, { type: 'file', target: '/tmp/catalog-info.yaml' })).out).toBe(fileEntity);
  });

  it.each([
    ['bad-yaml', /invalid YAML: /],
    ['alias-bomb', /possible alias bomb/],
    ['oversized', /larger than the limit of 65536 bytes/],
    ['wrong-types', /'plan' must be a path, a git URL or false, not a number/],
  ])('%s → input error with the file URL and the reason', async (repo, why) => {
    const { out, errors } = await run(setup().processor, component(repo));
    expect(errors).toHaveLength(1);
    expect(errors[0].name).toBe('InputError');
    expect(errors[0].message).toContain(`Invalid shuttle.yaml at ${BASE}/${repo}/blob/main/shuttle.yaml: `);
    expect(errors[0].message).toMatch(why);
    expect(out.spec?.owner).toBeUndefined();
  });

  it('an unknown squad is reported and not invented as owner', async () => {
    const { out, errors } = await run(setup().processor, component('ghost-squad'));
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe(
      `Unknown squad in shuttle.yaml at ${BASE}/ghost-squad/blob/main/shuttle.yaml: vars.squad 'ghosts' maps to group:ghosts, which is not a Group in the catalog`,
    );
    expect(out.spec?.owner).toBeUndefined();
    // An explicit owner in catalog-info.yaml is not blocked by a stale squad.
    const explicit = await run(setup().processor, component('ghost-squad', { owner: 'group:payments' }));
    expect(explicit.errors).toEqual([]);
    expect(explicit.out.spec?.owner).toBe('group:payments');
  });

  it('a shuttle file with merge keys gives the right owner', async () => {
    const { out, errors } = await run(setup().processor, component('merge-keys'));
    expect(errors).toEqual([]);
    expect(out.spec?.owner).toBe('group:lending');
    expect(out.metadata.annotations?.['devplane.io/shuttle-service']).toBe('merge-keys');
  });

  it('an unknown top-level field is a warning on the entity, not an error', async () => {
    const { out, errors } = await run(setup().processor, component('extra-field'));
    expect(errors).toEqual([]);
    expect(out.spec?.owner).toBe('group:payments');
    const message = `shuttle.yaml at ${BASE}/extra-field/blob/main/shuttle.yaml: unknown top-level field 'version': shuttle refuses fields other than 'plan', 'vars', 'scripts' (put shared values under 'vars', or anchors inside it)`;
    expect(out.metadata.annotations?.['devplane.io/shuttle-warnings']).toBe(message);
    expect((out as AlphaEntity).status?.items).toEqual([{ type: 'devplane.io/shuttle', level: 'warning', message }]);
    // a clean file carries neither
    const clean = await run(setup().processor, component('loan-engine'));
    expect(clean.out.metadata.annotations?.['devplane.io/shuttle-warnings']).toBeUndefined();
    expect((clean.out as AlphaEntity).status).toBeUndefined();
  });

  it('a duplicate vars.service found by discovery is a processing error on the entity', async () => {
    const dup = component('merge-keys', {}, {
      'devplane.io/shuttle-duplicate-service': `merge-keys ${BASE}/other/blob/main/shuttle.yaml`,
    });
    const { errors } = await run(setup().processor, dup);
    expect(errors).toHaveLength(1);
    expect(errors[0].name).toBe('InputError');
    expect(errors[0].message).toBe(
      `Duplicate vars.service 'merge-keys' in ${BASE}/merge-keys/blob/main/shuttle.yaml: ${BASE}/other/blob/main/shuttle.yaml declares it too; each service needs its own name (this repository is shown as 'merge-keys' until it has one)`,
    );
  });

  it('unchanged files are answered from the ETag cache without re-parsing', async () => {
    const { processor, reader } = setup();
    for (let i = 0; i < 3; i++) await run(processor, component('payment-gateway'));
    expect(reader.stats).toMatchObject({ reads: 3, parses: 1, notModified: 2 });
    await host.commitFiles('payment-gateway', { 'shuttle.yaml': fixture('plan-path.yaml').replace('squad: payments', 'squad: lending') }, { message: 'move' });
    const after = await run(processor, component('payment-gateway'));
    expect(after.out.spec?.owner).toBe('group:lending');
    expect(reader.stats.parses).toBe(2);
    await host.commitFiles('payment-gateway', { 'shuttle.yaml': fixture('plan-path.yaml') }, { message: 'back' });
  });
});

describe('ShuttleProcessor: URLs outside the trusted readers', () => {
  let server: http.Server;
  let origin: string;
  const redirects: Record<string, string> = {
    '/org/loopback/blob/main/shuttle.yaml': 'http://127.0.0.1:1/secret',
    '/org/metadata/blob/main/shuttle.yaml': 'http://169.254.169.254/latest/meta-data/',
    '/org/private/blob/main/shuttle.yaml': 'http://10.1.2.3/shuttle.yaml',
    '/org/mapped/blob/main/shuttle.yaml': 'http://[::ffff:127.0.0.1]:9/x',
    '/org/hop/blob/main/shuttle.yaml': '/org/ok/blob/main/shuttle.yaml',
  };
  let hits: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url!);
      if (redirects[req.url!]) {
        res.writeHead(302, { location: redirects[req.url!] }).end();
      } else if (req.url === '/org/always304/blob/main/shuttle.yaml') {
        res.writeHead(304).end(); // a broken host: 304 even without If-None-Match
      } else if (req.url === '/org/ok/blob/main/shuttle.yaml') {
        if (req.headers['if-none-match'] === '"v1"') res.writeHead(304).end();
        else res.writeHead(200, { etag: '"v1"' }).end('plan: false\nvars:\n  squad: payments\n');
      } else res.writeHead(404).end();
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise(r => server.close(r)));
  beforeEach(() => {
    hits = [];
  });

  const external = (url: string) => {
    const e = component('ext');
    e.metadata.annotations = { 'backstage.io/source-location': `url:${url}` };
    return e;
  };

  it.each([
    ['loopback', '127.0.0.1'],
    ['metadata', '169.254.169.254'],
    ['private', '10.1.2.3'],
    ['mapped', '::ffff:7f00:1'],
  ])('refuses a redirect to an internal address (%s)', async (name, addr) => {
    const { processor } = setup({}, [new URL(origin).host]);
    const url = `${origin}/org/${name}/tree/main/`;
    const { errors, out } = await run(processor, external(url), { type: 'url', target: url });
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toContain(`Invalid shuttle.yaml at ${origin}/org/${name}/blob/main/shuttle.yaml: refused http://`);
    expect(errors[0].message).toContain(`resolves to internal address ${addr} `);
    expect(out.spec?.owner).toBeUndefined();
    expect(hits).toEqual([`/org/${name}/blob/main/shuttle.yaml`]);
  });

  it('refuses source locations that point at internal addresses directly', async () => {
    const { processor } = setup();
    for (const url of ['http://127.0.0.1:9/org/x/tree/main/', 'http://169.254.169.254/org/x/tree/main/', 'http://10.0.0.7/org/x/tree/main/']) {
      const { errors } = await run(processor, external(url), { type: 'url', target: url });
      expect(errors[0].message).toMatch(/refused .* resolves to internal address/);
    }
    expect(hits).toEqual([]);
  });

  it('refuses names that resolve to internal addresses', async () => {
    const reader = new ShuttleFileReader({
      urlReader: {} as any,
      isTrustedReaderUrl: () => false,
      resolve: async () => ['93.184.216.34', '10.9.9.9'],
    });
    const processor = new ShuttleProcessor({ reader, groups });
    const url = 'https://rebind.example/org/x/tree/main/';
    const { errors } = await run(processor, external(url), { type: 'url', target: url });
    expect(errors[0].message).toContain('rebind.example resolves to internal address 10.9.9.9');
  });

  it('a 304 without a validator is an error, not a loop', async () => {
    const { processor } = setup({}, [new URL(origin).host]);
    const url = `${origin}/org/always304/tree/main/`;
    const { errors } = await run(processor, external(url), { type: 'url', target: url });
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toContain('answered 304 Not Modified to a request without a validator');
    expect(hits).toEqual(['/org/always304/blob/main/shuttle.yaml']);
  });

  it('follows same-host redirects on a trusted host and uses ETags', async () => {
    const { processor, reader } = setup({}, [new URL(origin).host]);
    const url = `${origin}/org/hop/tree/main/`;
    const first = await run(processor, external(url), { type: 'url', target: url });
    expect(first.errors).toEqual([]);
    expect(first.out.spec?.owner).toBe('group:payments');
    await run(processor, external(url), { type: 'url', target: url });
    expect(reader.stats).toMatchObject({ parses: 1, notModified: 1 });
  });
});
