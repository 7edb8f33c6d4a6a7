import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import type { ArtifactUpload } from '@devplane/plugin-release-manager-common';
import request from 'supertest';
import { parseTrailers } from './git/commitMessage';
import { stopGpgAgent } from './git/Signer';
import { releaseManagerTestFeatures } from './testing';
import { realCommit, sourceLocation } from './testing/sourceRepos';
import { annotateManifest } from './push/annotate';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const alice = () => mockCredentials.user.header(ALICE);
const bob = () => mockCredentials.user.header(BOB);
const ci = () => mockCredentials.service.header();

const entities = [
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name: 'alice', namespace: 'default' },
    spec: { profile: { email: 'alice@bank.example', displayName: 'Alice' }, memberOf: ['payments'] },
  },
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name: 'bob', namespace: 'default' },
    spec: { profile: { email: 'bob@bank.example' }, memberOf: ['lending'] },
  },
];

function deployment(tag: string, replicas = 2) {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ledger
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: ledger
          image: registry.local/ledger:${tag}
`;
}

let shaCounter = 0;
/** The local git host of the backend started last: uploads claim real commits in it. */
let sourceHost: LocalGitHost;
function upload(
  options: { service?: string; branch?: string; envs?: string[]; tag?: string } = {},
): ArtifactUpload {
  const branch = options.branch ?? 'main';
  const service = options.service ?? 'ledger';
  // a real commit on the claimed branch: production verifies it in the source repo
  const sha = realCommit(sourceHost, service, branch, `commit ${++shaCounter}`);
  const manifests: Record<string, Record<string, string>> = {};
  for (const env of options.envs ?? ['dev', 'staging', 'prod']) {
    manifests[env] = {
      'deployment.yaml': deployment(options.tag ?? sha.slice(0, 10), env === 'prod' ? 3 : 1),
      'service.yaml': `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${service}\n`,
    };
  }
  return {
    spec: {
      id: `${branch.replace(/\//g, '-')}-${sha.slice(0, 10)}-bbbbbbbbbb`,
      service,
      namespace: 'payments',
      squad: 'payments',
      application: {
        branch,
        sha,
        authorName: 'Dev',
        authorEmail: 'dev@bank.example',
        message: `commit ${shaCounter}`,
        name: service,
      },
      ci: { jobUrl: 'https://ci.example/job/1' },
    },
    manifests,
  };
}

async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000) {
  const start = Date.now();
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() - start > timeoutMs) throw e;
      await new Promise(r => setTimeout(r, 50));
    }
  }
}

interface Harness {
  server: any;
  host: LocalGitHost;
  dataDir: string;
  send: jest.Mock;
  publish: jest.Mock;
  denied: Set<string>;
  stop: () => Promise<void>;
}

async function startBackend(options: {
  dataDir?: string;
  slackUrl?: string;
  send?: jest.Mock;
} = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'rm-plugin-')));
  sourceHost = new LocalGitHost({
    rootDir: path.join(dataDir, 'git'),
    baseUrl: 'http://localhost:7007/api/git-host/repos',
  });
  const send = options.send ?? jest.fn(async () => {});
  const publish = jest.fn(async () => {});
  /** `<permission>|<user>` pairs that are denied. */
  const denied = new Set<string>();
  const backend = await startTestBackend({
    features: releaseManagerTestFeatures({
      dataDir,
      releaseManager: {
        environments: [
          { name: 'dev' },
          { name: 'staging' },
          {
            name: 'prod',
            production: true,
            guardrails: { uploaders: ['external:test-service', 'user:default/alice'] },
          },
        ],
        statusWebhook: { principals: ['external:test-service'] },
        ...(options.slackUrl ? { slack: { webhooks: { environments: { prod: options.slackUrl } } } } : {}),
      },
      catalog: catalogServiceMock.factory({
        entities: [
          ...entities,
          ...['ledger', 'outside', 'rebuild', 'restore', 'rb', 'victim', 'idx', 'signed', 'adopted'].map(name => ({
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'Component',
            metadata: { name, namespace: 'default', annotations: sourceLocation(sourceHost, name) },
            spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
          })),
        ],
      }),
      send,
      publish,
      allow: (permission, user) => !denied.has(`${permission}|${user ?? 'service'}`),
    }),
  });
  const host = new LocalGitHost({
    rootDir: path.join(dataDir, 'git'),
    baseUrl: 'http://localhost:7007/api/git-host/repos',
  });
  return { server: backend.server, host, dataDir, send, publish, denied, stop: () => backend.stop() };
}

async function configHead(h: Harness): Promise<string> {
  return (await runGit(['rev-parse', 'main'], { cwd: h.host.repoPath('config') })).stdout.trim();
}

async function commitMessage(h: Harness, sha: string): Promise<string> {
  return (await runGit(['log', '-1', '--format=%B', sha], { cwd: h.host.repoPath('config') })).stdout;
}

describe('release manager plugin', () => {
  let h: Harness;
  const api = (p: string) => `/api/release-manager${p}`;

  beforeAll(async () => {
    h = await startBackend();
  });

  afterAll(async () => {
    await h.stop();
    await fs.rm(h.dataDir, { recursive: true, force: true });
  });

  it('serves environments, and refuses unauthenticated callers with 401', async () => {
    const res = await request(h.server).get(api('/environments')).set('Authorization', alice());
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { name: 'dev', production: false, order: 0 },
      { name: 'staging', production: false, order: 1 },
      { name: 'prod', production: true, order: 2 },
    ]);
    for (const [method, p] of [
      ['get', '/environments'],
      ['post', '/artifacts'],
      ['post', '/releases'],
      ['get', '/services/ledger/status'],
    ] as const) {
      const r = await (request(h.server) as any)[method](api(p))
        .set('Authorization', mockCredentials.none.header())
        .send({});
      expect(r.status).toBe(401);
    }
    const doc = await request(h.server).get(api('/openapi.json')).set('Authorization', mockCredentials.none.header());
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/artifacts', '/releases', '/promotions', '/rollbacks', '/status']),
    );
  });

  it('creates the config repo on the local git host on first start', async () => {
    expect(await h.host.exists('config')).toBe(true);
  });

  it('uploads artifacts with service credentials and lists them newest first, paged, filtered', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload());
      expect(res.status).toBe(201);
      expect(res.body.autoReleases).toEqual([]);
      ids.push(res.body.artifact.id);
    }
    const feature = await request(h.server)
      .post(api('/artifacts'))
      .set('Authorization', alice())
      .send(upload({ branch: 'feature/faster' }));
    expect(feature.status).toBe(201);
    expect(feature.body.artifact.createdBy).toBe('alice@bank.example');

    const page1 = await request(h.server)
      .get(api('/services/ledger/artifacts?limit=2'))
      .set('Authorization', alice());
    expect(page1.status).toBe(200);
    expect(page1.body.total).toBe(4);
    expect(page1.body.items.map((a: any) => a.id)).toEqual([feature.body.artifact.id, ids[2]]);
    const page2 = await request(h.server)
      .get(api(`/services/ledger/artifacts?limit=2&cursor=${page1.body.nextCursor}`))
      .set('Authorization', alice());
    expect(page2.body.items.map((a: any) => a.id)).toEqual([ids[1], ids[0]]);
    const filtered = await request(h.server)
      .get(api('/services/ledger/artifacts?branch=feature/faster'))
      .set('Authorization', alice());
    expect(filtered.body.items.map((a: any) => a.id)).toEqual([feature.body.artifact.id]);

    const one = await request(h.server)
      .get(api(`/services/ledger/artifacts/${ids[0]}`))
      .set('Authorization', alice());
    expect(one.status).toBe(200);
    expect(one.body.environments).toEqual(['dev', 'staging', 'prod']);

    const dup = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send({
      ...upload(),
      spec: one.body.spec,
    });
    expect(dup.status).toBe(409);
  });

  describe('bad input gets 400 with a clear message and nothing is written', () => {
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
`;
    const cases: Array<[string, () => any, RegExp]> = [
      ['path-escaping service', () => { const u = upload(); u.spec.service = '../evil'; return u; }, /service '\.\.\/evil' is invalid/],
      ['absolute namespace', () => { const u = upload(); u.spec.namespace = '/etc'; return u; }, /namespace/],
      ['NUL in service', () => { const u = upload(); u.spec.service = 'led\u0000ger'; return u; }, /service/],
      ['path-escaping artifact id', () => { const u = upload(); u.spec.id = '../../x'; return u; }, /artifact id/],
      ['encoded slash in artifact id', () => { const u = upload(); u.spec.id = 'main%2F..%2Fx'; return u; }, /artifact id/],
      ['path-escaping manifest name', () => { const u = upload(); u.manifests.dev = { '../../x.yaml': 'a: 1' }; return u; }, /manifest file name/],
      ['path-escaping environment key', () => { const u = upload(); u.manifests['..'] = { 'x.yaml': 'a: 1' }; return u; }, /environment/],
      ['unknown environment', () => { const u = upload(); u.manifests.qa = { 'x.yaml': 'a: 1' }; return u; }, /unknown environment 'qa'/],
      ['oversized manifest', () => { const u = upload(); u.manifests.dev = { 'big.yaml': `a: "${'x'.repeat(600 * 1024)}"` }; return u; }, /more than the limit/],
      ['YAML alias bomb', () => { const u = upload(); u.manifests.dev = { 'bomb.yaml': bomb }; return u; }, /rejected|alias/i],
      ['unknown top-level field', () => ({ ...upload(), releasedBy: 'ceo@bank.example' }), /unknown field\(s\) 'releasedBy'/],
      ['unknown spec field', () => { const u: any = upload(); u.spec.owner = 'x'; return u; }, /spec: unknown field/],
      ['malformed spec', () => { const u: any = upload(); u.spec.application.sha = 42; return u; }, /spec\.application\.sha/],
    ];

    it.each(cases)('upload: %s', async (_name, body, message) => {
      const before = await configHead(h);
      const countBefore = (
        await request(h.server).get(api('/services/ledger/artifacts')).set('Authorization', alice())
      ).body.total;
      const res = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(body());
      expect(res.status).toBe(400);
      expect(res.body.error.name).toBe('InputError');
      expect(res.body.error.message).toMatch(message);
      expect(await configHead(h)).toBe(before);
      const countAfter = (
        await request(h.server).get(api('/services/ledger/artifacts')).set('Authorization', alice())
      ).body.total;
      expect(countAfter).toBe(countBefore);
    });

    it.each([
      ['/services/a%2Fb/artifacts', /service 'a\/b' is invalid/],
      ['/services/%2E%2E/status', /service/],
      ['/services/ledger%00/releases', /service/],
      ['/services/ledger/artifacts/..%2F..%2Fetc', /artifact id/],
      ['/services/ledger/artifacts?limit=-1', /limit/],
      ['/services/ledger/diff?environment=..&artifactId=x', /environment/],
    ])('path and query: %s', async (p, message) => {
      const res = await request(h.server).get(api(p)).set('Authorization', alice());
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    });

    it('release bodies: spoofed releaser, unknown environment, bad names', async () => {
      const before = await configHead(h);
      const { body: list } = await request(h.server).get(api('/services/ledger/artifacts')).set('Authorization', alice());
      const artifactId = list.items[list.items.length - 1].id;
      for (const [body, message] of [
        [{ service: 'ledger', environment: 'dev', artifactId, releasedBy: 'ceo@bank.example' }, /unknown field\(s\) 'releasedBy'/],
        [{ service: 'ledger', environment: 'qa', artifactId }, /unknown environment 'qa'/],
        [{ service: '../ledger', environment: 'dev', artifactId }, /service/],
        [{ service: 'ledger', environment: 'dev', artifactId: '../x' }, /artifact id/],
      ] as const) {
        const res = await request(h.server).post(api('/releases')).set('Authorization', alice()).send(body);
        expect(res.status).toBe(400);
        expect(res.body.error.message).toMatch(message);
      }
      const promo = await request(h.server)
        .post(api('/promotions'))
        .set('Authorization', alice())
        .send({ service: 'ledger', fromEnvironment: 'dev', toEnvironment: 'prod', by: 'x' });
      expect(promo.status).toBe(400);
      expect(await configHead(h)).toBe(before);
    });
  });

  describe('releases', () => {
    let ids: string[];
    let featureId: string;

    beforeAll(async () => {
      const { body } = await request(h.server).get(api('/services/ledger/artifacts?limit=10')).set('Authorization', alice());
      featureId = body.items.find((a: any) => a.branch === 'feature/faster').id;
      ids = body.items.filter((a: any) => a.branch === 'main').map((a: any) => a.id).reverse();
    });

    it('releases to dev as one commit with the exact title and trailers, releaser from credentials', async () => {
      const res = await request(h.server)
        .post(api('/releases'))
        .set('Authorization', alice())
        .send({ service: 'ledger', environment: 'dev', artifactId: ids[0], reason: 'first deploy' });
      expect(res.status).toBe(200);
      expect(res.body.changed).toBe(true);
      const sha = res.body.release.id;
      expect(await configHead(h)).toBe(sha);
      const message = await commitMessage(h, sha);
      const { title, body, trailers } = parseTrailers(message);
      expect(title).toBe(`[dev/ledger] release ${ids[0]} by alice@bank.example`);
      expect(body).toBe('first deploy');
      expect(trailers).toEqual({
        Service: 'ledger',
        Environment: 'dev',
        'Artifact-ID': ids[0],
        'Artifact-released-by': 'alice@bank.example',
        'Artifact-created-by': 'dev@bank.example',
        'Release-intent': 'release',
        'Release-of-branch': 'main',
      });
      const artifactJson = JSON.parse(
        (await h.host.readFile('config', 'dev/releases/payments/ledger/artifact.json')).content.toString(),
      );
      expect(artifactJson.id).toBe(ids[0]);
      const manifest = (await h.host.readFile('config', 'dev/releases/payments/ledger/deployment.yaml')).content.toString();
      expect(manifest).toContain('replicas: 1');
      const { stdout: author } = await runGit(['log', '-1', '--format=%ae', sha], { cwd: h.host.repoPath('config') });
      expect(author.trim()).toBe('alice@bank.example');
    });

    it('releasing what already runs is a no-op that says so', async () => {
      const before = await configHead(h);
      const res = await request(h.server)
        .post(api('/releases'))
        .set('Authorization', alice())
        .send({ service: 'ledger', environment: 'dev', artifactId: ids[0] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ changed: false, message: `${ids[0]} is already running in dev; nothing to do` });
      expect(await configHead(h)).toBe(before);
    });

    it('refuses a feature branch in prod (branch restriction, server-side)', async () => {
      const before = await configHead(h);
      const verdict = await request(h.server)
        .get(api(`/services/ledger/verdict?environment=prod&artifactId=${featureId}`))
        .set('Authorization', alice());
      expect(verdict.body).toEqual({ allowed: false, reason: expect.stringMatching(/\^\(master\|main\)\$/) });
      const res = await request(h.server)
        .post(api('/releases'))
        .set('Authorization', alice())
        .send({ service: 'ledger', environment: 'prod', artifactId: featureId });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/branch 'feature\/faster' may not be released to prod/);
      expect(await configHead(h)).toBe(before);
    });

    it('denies production without the permission (403) while non-production still works', async () => {
      h.denied.add(`release-manager.promote.production|${BOB}`);
      const before = await configHead(h);
      const res = await request(h.server)
        .post(api('/releases'))
        .set('Authorization', bob())
        .send({ service: 'ledger', environment: 'prod', artifactId: ids[0] });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/release-manager\.promote\.production/);
      const verdict = await request(h.server)
        .get(api(`/services/ledger/verdict?environment=prod&artifactId=${ids[0]}`))
        .set('Authorization', bob());
      expect(verdict.body.allowed).toBe(false);
      expect(await configHead(h)).toBe(before);
      const dev = await request(h.server)
        .post(api('/releases'))
        .set('Authorization', bob())
        .send({ service: 'ledger', environment: 'staging', artifactId: ids[0] });
      expect(dev.status).toBe(200);
      expect(dev.body.release.releasedBy).toBe('bob@bank.example');
    });

    it('promotes what runs in staging to prod with the promotion trailer', async () => {
      const res = await request(h.server)
        .post(api('/promotions'))
        .set('Authorization', alice())
        .send({ service: 'ledger', fromEnvironment: 'staging', toEnvironment: 'prod' });
      expect(res.status).toBe(200);
      expect(res.body.release).toMatchObject({ environment: 'prod', artifactId: ids[0], intent: 'promote', promotedFrom: 'staging' });
      const { title, trailers } = parseTrailers(await commitMessage(h, res.body.release.id));
      expect(title).toBe(`[prod/ledger] release ${ids[0]} by alice@bank.example`);
      expect(trailers['Promoted-from-environment']).toBe('staging');
      expect(trailers['Release-intent']).toBe('promote');
    });

    it('rolls back to the previous artifact by default, and to any earlier one on request', async () => {
      for (const id of [ids[1], ids[2]]) {
        const r = await request(h.server)
          .post(api('/releases'))
          .set('Authorization', alice())
          .send({ service: 'ledger', environment: 'prod', artifactId: id });
        expect(r.body.changed).toBe(true);
      }
      const back = await request(h.server)
        .post(api('/rollbacks'))
        .set('Authorization', alice())
        .send({ service: 'ledger', environment: 'prod' });
      expect(back.status).toBe(200);
      expect(back.body.release).toMatchObject({ artifactId: ids[1], intent: 'rollback', rollbackOf: ids[2] });
      const { title, trailers } = parseTrailers(await commitMessage(h, back.body.release.id));
      expect(title).toBe(`[prod/ledger] rollback ${ids[1]} by alice@bank.example`);
      expect(trailers['Rollback-of-artifact-id']).toBe(ids[2]);
      expect(trailers['Release-intent']).toBe('rollback');

      const far = await request(h.server)
        .post(api('/rollbacks'))
        .set('Authorization', alice())
        .send({ service: 'ledger', environment: 'prod', artifactId: ids[0] });
      expect(far.body.release).toMatchObject({ artifactId: ids[0], rollbackOf: ids[1] });

      const status = await request(h.server).get(api('/services/ledger/status')).set('Authorization', alice());
      expect(status.body.map((s: any) => [s.environment, s.release?.artifactId])).toEqual([
        ['dev', ids[0]],
        ['staging', ids[0]],
        ['prod', ids[0]],
      ]);
      expect(status.body[2].artifact.id).toBe(ids[0]);

      const log = await request(h.server)
        .get(api('/services/ledger/releases?environment=prod&limit=2'))
        .set('Authorization', alice());
      expect(log.body.total).toBe(5);
      expect(log.body.items.map((r: any) => r.intent)).toEqual(['rollback', 'rollback']);
    });

    it('shows a manifest diff between what runs and a candidate', async () => {
      const res = await request(h.server)
        .get(api(`/services/ledger/diff?environment=dev&artifactId=${ids[1]}`))
        .set('Authorization', alice());
      expect(res.status).toBe(200);
      expect(res.body.fromArtifactId).toBe(ids[0]);
      const dep = res.body.files.find((f: any) => f.path === 'deployment.yaml');
      expect(dep.change).toBe('modified');
      expect(dep.patch).toMatch(/^--- a\/deployment\.yaml\n\+\+\+ b\/deployment\.yaml\n@@ /);
      expect(dep.patch).toMatch(/\n-\s+image: registry\.local\/ledger:\S+\n\+\s+image: registry\.local\/ledger:\S+/);
      expect(res.body.files.find((f: any) => f.path === 'service.yaml').change).toBe('unchanged');
    });

    it('records rollout status from cluster agents (service credentials only)', async () => {
      const report = { service: 'ledger', environment: 'prod', artifactId: ids[0], state: 'failed', ready: 1, desired: 3, message: 'CrashLoopBackOff', logLines: ['panic: boom'] };
      const asUser = await request(h.server).post(api('/status')).set('Authorization', alice()).send(report);
      expect(asUser.status).toBe(403);
      const res = await request(h.server).post(api('/status')).set('Authorization', ci()).send(report);
      expect(res.status).toBe(204);
      const status = await request(h.server).get(api('/services/ledger/status')).set('Authorization', alice());
      expect(status.body[2].release.rollout).toMatchObject({ state: 'failed', ready: 1, desired: 3, logLines: ['panic: boom'] });
      await eventually(() =>
        expect(h.send).toHaveBeenCalledWith(
          expect.objectContaining({
            recipients: { type: 'entity', entityRef: 'group:default/payments' },
            payload: expect.objectContaining({ severity: 'critical' }),
          }),
        ),
      );
      const unknown = await request(h.server).post(api('/status')).set('Authorization', ci()).send({ ...report, artifactId: 'nope-1' });
      expect(unknown.status).toBe(404);
    });

    it('notifies the owning group and signals on both channels', async () => {
      await eventually(() => {
        expect(h.send).toHaveBeenCalledWith(
          expect.objectContaining({
            recipients: { type: 'entity', entityRef: 'group:default/payments' },
            payload: expect.objectContaining({ title: expect.stringContaining(`Released ${ids[0]} to dev`) }),
          }),
        );
        const channels = h.publish.mock.calls.map((c: any[]) => c[0].channel);
        expect(channels).toEqual(expect.arrayContaining(['release-manager:ledger', 'release-manager']));
      });
    });

    it('lists a team\'s releases since a time', async () => {
      const res = await request(h.server)
        .get(api(`/teams/payments/releases?since=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`))
        .set('Authorization', alice());
      expect(res.status).toBe(200);
      expect(res.body.length).toBeGreaterThanOrEqual(7);
      expect(res.body.every((r: any) => r.service === 'ledger')).toBe(true);
      const none = await request(h.server).get(api('/teams/lending/releases')).set('Authorization', alice());
      expect(none.body).toEqual([]);
    });
  });

  describe('policies', () => {
    it('has the default production restriction, and auto-releases uploads', async () => {
      const res = await request(h.server).get(api('/services/ledger/policies')).set('Authorization', alice());
      expect(res.body).toEqual({
        service: 'ledger',
        autoReleases: [],
        branchRestrictions: [{ id: expect.any(String), branchRegex: '^(master|main)$', environment: 'prod' }],
        guardrails: expect.any(Array),
      });
      // the organisation guardrail is served with where it comes from (locked in the portal)
      expect(res.body.guardrails.find((g: any) => g.environment === 'prod')).toMatchObject({
        allowedBranches: '^(master|main)$',
        allowedBranchesSource: 'default for production environments',
        verifyBranch: true,
        uploaders: ['external:test-service', 'user:default/alice'],
      });
      const put = await request(h.server)
        .put(api('/services/ledger/policies/auto-releases'))
        .set('Authorization', alice())
        .send({ branch: 'main', environment: 'dev' });
      expect(put.status).toBe(200);
      expect(put.body.autoReleases).toEqual([
        { id: expect.any(String), branch: 'main', environment: 'dev', setBy: 'alice@bank.example' },
      ]);
      const file = JSON.parse((await h.host.readFile('config', 'policies/ledger.json')).content.toString());
      expect(file).toEqual({ service: 'ledger', autoReleases: put.body.autoReleases, branchRestrictions: put.body.branchRestrictions });

      const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload());
      expect(up.status).toBe(201);
      expect(up.body.autoReleases).toHaveLength(1);
      expect(up.body.autoReleases[0]).toMatchObject({ changed: true, release: { environment: 'dev', intent: 'auto-release' } });
      const { title, trailers } = parseTrailers(await commitMessage(h, up.body.autoReleases[0].release.id));
      expect(title).toBe(`[dev/ledger] auto release ${up.body.artifact.id} by external:test-service`);
      expect(trailers['Release-intent']).toBe('auto-release');
      // the auto-release names the person whose policy it runs on, and the uploader
      expect(trailers['Auto-release-policy-by']).toBe('alice@bank.example');
      expect(trailers['Artifact-uploaded-by']).toBe('external:test-service');
    });

    it('rejects conflicting policy pairs with a clear message', async () => {
      const before = await configHead(h);
      const bad = await request(h.server)
        .put(api('/services/ledger/policies/auto-releases'))
        .set('Authorization', alice())
        .send({ branch: 'feature/x', environment: 'prod' });
      expect(bad.status).toBe(409);
      expect(bad.body.error.message).toMatch(
        /branch 'feature\/x' may not be released to prod: the organisation guardrail \(default for production environments\)/,
      );
      await request(h.server)
        .put(api('/services/ledger/policies/auto-releases'))
        .set('Authorization', alice())
        .send({ branch: 'develop', environment: 'staging' })
        .expect(200);
      const restrict = await request(h.server)
        .put(api('/services/ledger/policies/branch-restrictions'))
        .set('Authorization', alice())
        .send({ branchRegex: '^main$', environment: 'staging' });
      expect(restrict.status).toBe(409);
      const badRegex = await request(h.server)
        .put(api('/services/ledger/policies/branch-restrictions'))
        .set('Authorization', alice())
        .send({ branchRegex: '([', environment: 'staging' });
      expect(badRegex.status).toBe(400);
      expect((await request(h.server).get(api('/services/ledger/policies')).set('Authorization', alice())).body.autoReleases).toHaveLength(2);
      expect(await configHead(h)).not.toBe(before); // only the valid auto-release was written
    });

    it('deletes a policy, and denies policy writes without permission', async () => {
      const { body } = await request(h.server).get(api('/services/ledger/policies')).set('Authorization', alice());
      const staging = body.autoReleases.find((p: any) => p.environment === 'staging');
      const del = await request(h.server).delete(api(`/services/ledger/policies/${staging.id}`)).set('Authorization', alice());
      expect(del.status).toBe(200);
      expect(del.body.autoReleases.map((p: any) => p.environment)).toEqual(['dev']);
      const missing = await request(h.server).delete(api(`/services/ledger/policies/${staging.id}`)).set('Authorization', alice());
      expect(missing.status).toBe(404);
      h.denied.add(`release-manager.policy.write|${BOB}`);
      const denied = await request(h.server)
        .put(api('/services/ledger/policies/branch-restrictions'))
        .set('Authorization', bob())
        .send({ branchRegex: '.*', environment: 'prod' });
      expect(denied.status).toBe(403);
    });
  });

  describe('an upload matching several auto-release policies', () => {
    it('releases into every environment, the commits going out in one push', async () => {
      const put = (environment: string) =>
        request(h.server)
          .put(api('/services/ledger/policies/auto-releases'))
          .set('Authorization', alice())
          .send({ branch: 'main', environment })
          .expect(200);
      await put('staging');
      const { body: policies } = await put('prod');
      expect(policies.autoReleases.map((p: any) => p.environment)).toEqual(expect.arrayContaining(['prod', 'staging']));
      // every update of the config repo's branch is one line of its reflog: one push, one line
      const bare = h.host.repoPath('config');
      await runGit(['config', 'core.logAllRefUpdates', 'always'], { cwd: bare });
      const reflog = async () =>
        (await runGit(['reflog', 'show', '--format=%H', 'refs/heads/main'], { cwd: bare }).catch(() => ({ stdout: '' }))).stdout
          .split('\n')
          .filter(Boolean);
      const head = await configHead(h);
      const before = (await reflog()).length;

      const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload());
      expect(up.status).toBe(201);
      // one result per policy, in the policies' order, each a release of this artifact
      expect(up.body.autoReleases.map((r: any) => [r.changed, r.release?.environment, r.release?.artifactId])).toEqual(
        policies.autoReleases.map((p: any) => [true, p.environment, up.body.artifact.id]),
      );
      const { stdout } = await runGit(['rev-list', `${head}..main`], { cwd: bare });
      const commits = stdout.split('\n').filter(Boolean);
      expect(commits.sort()).toEqual(up.body.autoReleases.map((r: any) => r.release.id).sort());
      expect((await reflog()).length - before).toBe(1);
      // in the policies' order, oldest first, one on top of the other
      const inOrder = (await runGit(['rev-list', '--reverse', `${head}..main`], { cwd: bare })).stdout.split('\n').filter(Boolean);
      expect(inOrder).toEqual(up.body.autoReleases.map((r: any) => r.release.id));
      // production's auto-release carries the policy author's authority, as it does alone
      const prod = up.body.autoReleases.find((r: any) => r.release.environment === 'prod');
      expect(parseTrailers(await commitMessage(h, prod.release.id)).trailers['Auto-release-policy-by']).toBe('alice@bank.example');

      for (const p of policies.autoReleases.filter((x: any) => x.environment !== 'dev')) {
        // back to the policies the tests after this one expect
        await request(h.server).delete(api(`/services/ledger/policies/${p.id}`)).set('Authorization', alice()).expect(200);
      }
    });
  });

  describe('several policy changes as one commit (PATCH /services/:service/policies)', () => {
    const svc = 'pol-one';
    const patch = (auth: string, body: unknown) =>
      request(h.server).patch(api(`/services/${svc}/policies`)).set('Authorization', auth).send(body as object);
    const count = async () =>
      Number((await runGit(['rev-list', '--count', 'main'], { cwd: h.host.repoPath('config') })).stdout.trim());

    it('refuses bad bodies, a missing permission and conflicting policies, writing nothing', async () => {
      const before = await configHead(h);
      for (const [body, status, message] of [
        [{}, 400, /nothing to change/],
        [{ autoReleases: [{ branch: 'main', environment: 'dev' }, { branch: 'x', environment: 'dev' }] }, 400, /autoReleases names environment 'dev' twice/],
        [{ autoReleases: [{ branch: 'main', environment: 'nope' }] }, 400, /nope/],
        [{ branchRestrictions: [{ branchRegex: '([', environment: 'prod' }] }, 400, /branchRegex/],
        [{ autoReleases: [{ branch: 'main', environment: 'dev' }], extra: 1 }, 400, /unknown field\(s\) 'extra'/],
        // the restriction in the same change forbids the auto-release: nothing of either is written
        [{ branchRestrictions: [{ branchRegex: '^release/', environment: 'staging' }], autoReleases: [{ branch: 'main', environment: 'staging' }] }, 409, /Conflicting policies/],
        [{ autoReleases: [{ branch: 'feature/x', environment: 'prod' }] }, 409, /organisation guardrail/],
      ] as const) {
        const r = await patch(alice(), body);
        expect({ body, status: r.status }).toEqual({ body, status });
        expect(r.body.error.message).toMatch(message);
      }
      // the production auto-release needs the production permission, checked before writing
      h.denied.add(`release-manager.promote.production|${BOB}`);
      const denied = await patch(bob(), { autoReleases: [{ branch: 'main', environment: 'dev' }, { branch: 'main', environment: 'prod' }] });
      expect(denied.status).toBe(403);
      expect(await configHead(h)).toBe(before);
    });

    it('writes a restriction and two auto-releases in one signed commit, as the user', async () => {
      const before = await count();
      const r = await patch(alice(), {
        branchRestrictions: [{ branchRegex: '^(master|main)$', environment: 'prod' }],
        autoReleases: [
          { branch: 'main', environment: 'dev' },
          { branch: 'main', environment: 'prod' },
        ],
      });
      expect(r.status).toBe(200);
      expect(await count()).toBe(before + 1);
      expect(r.body.autoReleases).toEqual([
        { id: expect.stringMatching(/^auto-release-/), branch: 'main', environment: 'dev', setBy: 'alice@bank.example' },
        { id: expect.stringMatching(/^auto-release-/), branch: 'main', environment: 'prod', setBy: 'alice@bank.example' },
      ]);
      const file = JSON.parse((await h.host.readFile('config', `policies/${svc}.json`)).content.toString());
      expect(file).toEqual({ service: svc, autoReleases: r.body.autoReleases, branchRestrictions: r.body.branchRestrictions });
      const message = await commitMessage(h, await configHead(h));
      expect(message.split('\n')[0]).toBe(
        `[policies/${svc}] restrict prod to branches ^(master|main)$, auto-release main to dev, auto-release main to prod by alice@bank.example`,
      );
      expect((await runGit(['cat-file', 'commit', 'main'], { cwd: h.host.repoPath('config') })).stdout).toContain('-----BEGIN PGP SIGNATURE-----');
      // the same changes again: nothing to write
      const again = await patch(alice(), { autoReleases: [{ branch: 'main', environment: 'dev' }] });
      expect(again.status).toBe(200);
      expect(await count()).toBe(before + 1);
    });
  });

  describe('concurrency', () => {
    it('N concurrent releases of different services lose nothing and keep history linear', async () => {
      const services = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
      const artifacts = await Promise.all(
        services.map(async service => {
          const r = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload({ service }));
          expect(r.status).toBe(201);
          return r.body.artifact.id as string;
        }),
      );
      const results = await Promise.all(
        services.map((service, i) =>
          request(h.server)
            .post(api('/releases'))
            .set('Authorization', alice())
            .send({ service, environment: 'staging', artifactId: artifacts[i] }),
        ),
      );
      expect(results.map(r => r.status)).toEqual(services.map(() => 200));
      expect(results.every(r => r.body.changed)).toBe(true);
      const cwd = h.host.repoPath('config');
      for (const [i, service] of services.entries()) {
        const { content } = await h.host.readFile('config', `staging/releases/payments/${service}/artifact.json`);
        expect(JSON.parse(content.toString()).id).toBe(artifacts[i]);
        const { stdout } = await runGit(['cat-file', '-e', results[i].body.release.id], { cwd }).then(
          () => ({ stdout: 'ok' }),
        );
        expect(stdout).toBe('ok');
      }
      const { stdout: mergesOut } = await runGit(['rev-list', '--merges', 'main'], { cwd });
      expect(mergesOut.trim()).toBe('');
    });

    it('an outside commit pushed to the config repo meanwhile is kept and the release lands on top', async () => {
      const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload({ service: 'outside' }));
      await h.host.commitFiles('config', { 'infra/flux.yaml': 'kind: Kustomization\n' }, { message: 'platform: flux tweak' });
      const res = await request(h.server)
        .post(api('/releases'))
        .set('Authorization', alice())
        .send({ service: 'outside', environment: 'dev', artifactId: up.body.artifact.id });
      expect(res.status).toBe(200);
      const { stdout } = await runGit(['log', '--format=%s', '-2', 'main'], { cwd: h.host.repoPath('config') });
      expect(stdout.split('\n').filter(Boolean)).toEqual([
        `[dev/outside] release ${up.body.artifact.id} by alice@bank.example`,
        'platform: flux tweak',
      ]);
    });
  });
});

describe('release manager plugin, fresh database on an existing config repo', () => {
  it('rebuilds the release log from git history when the database is empty', async () => {
    const first = await startBackend();
    const api = (p: string) => `/api/release-manager${p}`;
    const up = await request(first.server).post(api('/artifacts')).set('Authorization', ci()).send(upload({ service: 'rebuild' }));
    const released: string[] = [];
    for (const environment of ['dev', 'staging', 'prod']) {
      const r = await request(first.server)
        .post(api('/releases'))
        .set('Authorization', alice())
        .send({ service: 'rebuild', environment, artifactId: up.body.artifact.id, reason: `to ${environment}` });
      released.push(r.body.release.id);
    }
    const original = (await request(first.server).get(api('/services/rebuild/releases')).set('Authorization', alice())).body;
    await first.stop();

    // A new backend with an empty (in-memory) database on the same data directory.
    const second = await startBackend({ dataDir: first.dataDir });
    try {
      const rebuilt = await request(second.server).get(api('/services/rebuild/releases')).set('Authorization', alice());
      expect(rebuilt.status).toBe(200);
      expect(rebuilt.body.items.map((r: any) => r.id)).toEqual([...released].reverse());
      const strip = (r: any) => ({ ...r, rollout: undefined });
      expect(rebuilt.body.items.map(strip)).toEqual(original.items.map(strip));
      const status = await request(second.server).get(api('/services/rebuild/status')).set('Authorization', alice());
      expect(status.body.map((s: any) => s.release?.artifactId)).toEqual([
        up.body.artifact.id,
        up.body.artifact.id,
        up.body.artifact.id,
      ]);
    } finally {
      await second.stop();
      await fs.rm(first.dataDir, { recursive: true, force: true });
    }
  });
});

describe('release manager plugin, database and blob store lost', () => {
  it('restores artifacts from git history so a rollback to an earlier artifact works', async () => {
    const first = await startBackend();
    const api = (p: string) => `/api/release-manager${p}`;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const up = await request(first.server)
        .post(api('/artifacts'))
        .set('Authorization', ci())
        .send(upload({ service: 'restore', envs: ['dev', 'staging'] }));
      expect(up.status).toBe(201);
      ids.push(up.body.artifact.id);
      const r = await request(first.server)
        .post(api('/releases'))
        .set('Authorization', alice())
        .send({ service: 'restore', environment: 'dev', artifactId: up.body.artifact.id });
      expect(r.body.changed).toBe(true);
    }
    // The first artifact also ran in staging: its restored row merges both environments.
    await request(first.server)
      .post(api('/releases'))
      .set('Authorization', alice())
      .send({ service: 'restore', environment: 'staging', artifactId: ids[0] });
    const original = (await request(first.server).get(api(`/services/restore/artifacts/${ids[0]}`)).set('Authorization', alice())).body;
    await first.stop();

    // Database (and with it the blob store, table rm_blobs): the next backend starts on a fresh
    // (empty) in-memory database. The old blob directory is wiped too, in case anything still used it.
    await fs.rm(path.join(first.dataDir, 'release-manager', 'blobs'), { recursive: true, force: true });
    const second = await startBackend({ dataDir: first.dataDir });
    try {
      const back = await request(second.server)
        .post(api('/rollbacks'))
        .set('Authorization', alice())
        .send({ service: 'restore', environment: 'dev', artifactId: ids[0] });
      expect(back.status).toBe(200);
      expect(back.body.release).toMatchObject({ artifactId: ids[0], intent: 'rollback', rollbackOf: ids[1] });
      const { stdout: deployed } = await runGit(
        ['show', `${back.body.release.id}:dev/releases/payments/restore/deployment.yaml`],
        { cwd: second.host.repoPath('config') },
      );
      // what was released: the uploaded manifest with the release manager's workload annotations
      expect(deployed).toBe(
        annotateManifest('deployment.yaml', deployment(original.sha.slice(0, 10), 1), {
          service: 'restore',
          environment: 'dev',
          artifactId: ids[0],
        }),
      );

      const restored = await request(second.server).get(api(`/services/restore/artifacts/${ids[0]}`)).set('Authorization', alice());
      expect(restored.status).toBe(200);
      expect(restored.body).toMatchObject({
        id: ids[0],
        namespace: 'payments',
        environments: ['dev', 'staging'],
        spec: original.spec,
      });
      // The release commit's Artifact-created-by trailer.
      expect(restored.body.createdBy).toBe('dev@bank.example');

      // Nothing ran in prod, so there is nothing to restore for it.
      const prod = await request(second.server)
        .post(api('/releases'))
        .set('Authorization', alice())
        .send({ service: 'restore', environment: 'prod', artifactId: ids[0] });
      expect(prod.status).toBe(400);
    } finally {
      await second.stop();
      await fs.rm(first.dataDir, { recursive: true, force: true });
    }
  });
});

describe('release manager plugin, notification failures', () => {
  it('never fails the release; retries are bounded', async () => {
    const hits: string[] = [];
    const slack = http.createServer((req, res) => {
      let body = '';
      req.on('data', d => (body += d));
      req.on('end', () => {
        hits.push(body);
        res.statusCode = 500;
        res.end('no');
      });
    });
    await new Promise<void>(r => slack.listen(0, '127.0.0.1', () => r()));
    const port = (slack.address() as any).port;
    const send = jest.fn(async () => {
      throw new Error('notifications backend down');
    });
    const h = await startBackend({ slackUrl: `http://127.0.0.1:${port}/hook`, send });
    const api = (p: string) => `/api/release-manager${p}`;
    try {
      const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload());
      const res = await request(h.server)
        .post(api('/releases'))
        .set('Authorization', alice())
        .send({ service: 'ledger', environment: 'prod', artifactId: up.body.artifact.id });
      expect(res.status).toBe(200);
      expect(res.body.changed).toBe(true);
      await eventually(() => {
        expect(send).toHaveBeenCalledTimes(3);
        expect(hits).toHaveLength(3);
      });
      expect(JSON.parse(hits[0]).text).toContain(`Released ${up.body.artifact.id} to prod`);
      await new Promise(r => setTimeout(r, 1000));
      expect(send).toHaveBeenCalledTimes(3);
      expect(hits).toHaveLength(3);
    } finally {
      await h.stop();
      slack.close();
      await fs.rm(h.dataDir, { recursive: true, force: true });
    }
  });
});

/** Writes a commit straight into the bare repo (filesystem access: no git host, no hooks). */
async function commitIntoBareRepo(
  h: Harness,
  files: Record<string, string | null>,
  message: string,
  who = { name: 'Mallory', email: 'mallory@evil.example' },
): Promise<string> {
  const cwd = h.host.repoPath('config');
  const index = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'rm-idx-')), 'index');
  const env = { GIT_INDEX_FILE: index };
  await runGit(['read-tree', 'main'], { cwd, env });
  for (const [file, content] of Object.entries(files)) {
    if (content === null) {
      await runGit(['update-index', '--force-remove', file], { cwd, env });
    } else {
      const blob = (await runGit(['hash-object', '-w', '--stdin'], { cwd, input: content })).stdout.trim();
      await runGit(['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], { cwd, env });
    }
  }
  const tree = (await runGit(['write-tree'], { cwd, env })).stdout.trim();
  const commit = (
    await runGit(['commit-tree', tree, '-p', 'main'], {
      cwd,
      input: message,
      env: {
        GIT_AUTHOR_NAME: who.name,
        GIT_AUTHOR_EMAIL: who.email,
        GIT_COMMITTER_NAME: who.name,
        GIT_COMMITTER_EMAIL: who.email,
      },
    })
  ).stdout.trim();
  await runGit(['update-ref', 'refs/heads/main', commit], { cwd });
  return commit;
}

describe('release manager plugin, trust: signed commits and changes made outside it', () => {
  let h: Harness;
  const api = (p: string) => `/api/release-manager${p}`;
  const PLATFORM_ONLY = 'release-manager.outside-change.decide';

  beforeAll(async () => {
    h = await startBackend();
    h.denied.add(`${PLATFORM_ONLY}|${BOB}`);
  });
  afterAll(async () => {
    await h.stop();
    await fs.rm(h.dataDir, { recursive: true, force: true });
  });

  it('signs every commit; gpg verifies it with the key served at /signing-key only', async () => {
    const key = await request(h.server).get(api('/signing-key')).set('Authorization', mockCredentials.none.header());
    expect(key.status).toBe(200);
    expect(key.headers['content-type']).toMatch(/^text\/plain/);
    expect(key.text).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload({ service: 'signed' }));
    const rel = await request(h.server)
      .post(api('/releases'))
      .set('Authorization', alice())
      .send({ service: 'signed', environment: 'dev', artifactId: up.body.artifact.id });
    expect(rel.status).toBe(200);
    const gnupg = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-verify-'));
    try {
      execFileSync('gpg', ['--homedir', gnupg, '--batch', '--quiet', '--import'], { input: key.text });
      const cwd = h.host.repoPath('config');
      execFileSync('git', ['verify-commit', rel.body.release.id], { cwd, env: { ...process.env, GNUPGHOME: gnupg }, stdio: 'pipe' });
      // Flux (mode HEAD) checks the head commit: it is ours and verifies.
      execFileSync('git', ['verify-commit', 'main'], { cwd, env: { ...process.env, GNUPGHOME: gnupg }, stdio: 'pipe' });
    } finally {
      await stopGpgAgent(gnupg);
    }
  });

  it('a forged release written straight into the bare repo is "outside", never a release; writes are refused until platform decides', async () => {
    const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload({ service: 'victim' }));
    const id = up.body.artifact.id;
    await request(h.server).post(api('/releases')).set('Authorization', alice()).send({ service: 'victim', environment: 'dev', artifactId: id });
    const forgedSpec = { ...up.body.artifact.spec, id: 'main-ffffffffff-bbbbbbbbbb' };
    const forged = await commitIntoBareRepo(
      h,
      {
        'prod/releases/payments/victim/artifact.json': `${JSON.stringify(forgedSpec, null, 2)}\n`,
        'prod/releases/payments/victim/deployment.yaml': 'kind: Deployment\nmetadata:\n  name: miner\n',
      },
      `[prod/victim] release main-ffffffffff-bbbbbbbbbb by alice@bank.example\n\nService: victim\nEnvironment: prod\nArtifact-ID: main-ffffffffff-bbbbbbbbbb\nArtifact-released-by: alice@bank.example\nRelease-intent: release\n`,
    );
    await new Promise(r => setTimeout(r, 1100)); // the reader re-fetches at most once a second
    const status = await request(h.server).get(api('/services/victim/status')).set('Authorization', alice());
    const prod = status.body.find((s: any) => s.environment === 'prod');
    expect(prod.release).toBeUndefined();
    expect(prod.outsideChanges).toEqual([
      expect.objectContaining({
        commit: forged,
        pusher: 'Mallory <mallory@evil.example>',
        environments: ['prod'],
        signature: 'none',
        paths: ['prod/releases/payments/victim/artifact.json', 'prod/releases/payments/victim/deployment.yaml'],
      }),
    ]);
    const log = await request(h.server).get(api('/services/victim/releases')).set('Authorization', alice());
    expect(log.body.items.map((r: any) => r.id)).not.toContain(forged);
    expect(log.body.items.every((r: any) => r.environment === 'dev')).toBe(true);
    // Platform is told (notification to the platform group).
    await eventually(() =>
      expect(h.send).toHaveBeenCalledWith(
        expect.objectContaining({
          recipients: { type: 'entity', entityRef: 'group:default/platform' },
          payload: expect.objectContaining({ title: expect.stringContaining('changed outside the release manager') }),
        }),
      ),
    );

    // The release manager does not sign on top of it: 409 with the reason, nothing written.
    const head = await configHead(h);
    const refused = await request(h.server)
      .post(api('/releases'))
      .set('Authorization', alice())
      .send({ service: 'victim', environment: 'staging', artifactId: id });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/changed outside the release manager.*platform/);
    expect(await configHead(h)).toBe(head);

    // Deciding is for platform only; the decision names what the portal showed.
    const byBob = await request(h.server)
      .post(api('/outside-changes/decision'))
      .set('Authorization', bob())
      .send({ decision: 'revert', commits: [forged] });
    expect(byBob.status).toBe(403);
    const stale = await request(h.server)
      .post(api('/outside-changes/decision'))
      .set('Authorization', alice())
      .send({ decision: 'revert', commits: ['0'.repeat(40)] });
    expect(stale.status).toBe(409);
    expect(await configHead(h)).toBe(head);

    const revert = await request(h.server)
      .post(api('/outside-changes/decision'))
      .set('Authorization', alice())
      .send({ decision: 'revert', commits: [forged] });
    expect(revert.status).toBe(200);
    expect(revert.body).toMatchObject({ decision: 'revert', commits: [forged] });
    const cwd = h.host.repoPath('config');
    const { stdout: tree } = await runGit(['ls-tree', '-r', '--name-only', 'main', 'prod/releases/payments/victim'], { cwd });
    expect(tree.trim()).toBe('');
    const msg = await commitMessage(h, revert.body.commit);
    expect(parseTrailers(msg).trailers).toMatchObject({
      'Outside-change-decision': 'revert',
      'Outside-change-commit': forged,
      'Decided-by': 'alice@bank.example',
    });
    const after = await request(h.server).get(api('/services/victim/status')).set('Authorization', alice());
    expect(after.body.find((s: any) => s.environment === 'prod').outsideChanges).toBeUndefined();
    const ok = await request(h.server)
      .post(api('/releases'))
      .set('Authorization', alice())
      .send({ service: 'victim', environment: 'staging', artifactId: id });
    expect(ok.status).toBe(200);
  });

  it('adopting an unsigned policy change keeps the tree as it is and lifts the block', async () => {
    const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload({ service: 'adopted' }));
    await request(h.server).post(api('/releases')).set('Authorization', alice()).send({ service: 'adopted', environment: 'dev', artifactId: up.body.artifact.id });
    const policy = await commitIntoBareRepo(
      h,
      { 'policies/adopted.json': '{"service":"adopted","autoReleases":[],"branchRestrictions":[]}\n' },
      'hotfix policy by hand\n\nPolicy-changed-by: alice@bank.example\n',
      { name: 'Platform Pat', email: 'pat@bank.example' },
    );
    await new Promise(r => setTimeout(r, 1100));
    const pending = await request(h.server).get(api('/outside-changes')).set('Authorization', alice());
    expect(pending.body.map((c: any) => c.commit)).toEqual([policy]);
    const adopt = await request(h.server)
      .post(api('/outside-changes/decision'))
      .set('Authorization', alice())
      .send({ decision: 'adopt', commits: [policy] });
    expect(adopt.status).toBe(200);
    const { stdout } = await runGit(['show', 'main:policies/adopted.json'], { cwd: h.host.repoPath('config') });
    expect(stdout).toContain('"autoReleases":[]');
    expect((await request(h.server).get(api('/outside-changes')).set('Authorization', alice())).body).toEqual([]);
  });
});

describe('release manager plugin, rollback semantics and namespace moves', () => {
  it('a second rollback continues further back; a namespace change moves the folder in one commit', async () => {
    const h = await startBackend();
    const api = (p: string) => `/api/release-manager${p}`;
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(upload({ service: 'rb', envs: ['dev'] }));
        ids.push(up.body.artifact.id);
        await request(h.server).post(api('/releases')).set('Authorization', alice()).send({ service: 'rb', environment: 'dev', artifactId: up.body.artifact.id });
      }
      const first = await request(h.server).post(api('/rollbacks')).set('Authorization', alice()).send({ service: 'rb', environment: 'dev' });
      expect(first.body.release).toMatchObject({ artifactId: ids[1], rollbackOf: ids[2], intent: 'rollback' });
      const second = await request(h.server).post(api('/rollbacks')).set('Authorization', alice()).send({ service: 'rb', environment: 'dev' });
      expect(second.body.release).toMatchObject({ artifactId: ids[0], rollbackOf: ids[1] });
      const third = await request(h.server).post(api('/rollbacks')).set('Authorization', alice()).send({ service: 'rb', environment: 'dev' });
      expect(third.status).toBe(404);
      // Any earlier artifact can still be chosen.
      const chosen = await request(h.server).post(api('/rollbacks')).set('Authorization', alice()).send({ service: 'rb', environment: 'dev', artifactId: ids[2] });
      expect(chosen.body.release).toMatchObject({ artifactId: ids[2] });

      const moved = upload({ service: 'rb', envs: ['dev'] });
      moved.spec.namespace = 'lending';
      const up = await request(h.server).post(api('/artifacts')).set('Authorization', ci()).send(moved);
      const rel = await request(h.server).post(api('/releases')).set('Authorization', alice()).send({ service: 'rb', environment: 'dev', artifactId: up.body.artifact.id });
      expect(rel.status).toBe(200);
      const cwd = h.host.repoPath('config');
      const { stdout: files } = await runGit(['ls-tree', '-r', '--name-only', 'main', 'dev/releases'], { cwd });
      expect(files.split('\n').filter(f => f.includes('/rb/'))).toEqual([
        'dev/releases/lending/rb/artifact.json',
        'dev/releases/lending/rb/deployment.yaml',
        'dev/releases/lending/rb/service.yaml',
      ]);
      const { stdout: changed } = await runGit(['show', '--no-renames', '--name-status', '--format=', rel.body.release.id], { cwd });
      expect(changed).toContain('D\tdev/releases/payments/rb/artifact.json');
      const status = await request(h.server).get(api('/services/rb/status')).set('Authorization', alice());
      expect(status.body.find((s: any) => s.environment === 'dev').release).toMatchObject({ artifactId: up.body.artifact.id, namespace: 'lending' });
    } finally {
      await h.stop();
      await fs.rm(h.dataDir, { recursive: true, force: true });
    }
  });
});

describe('release manager plugin, index dropped mid-life', () => {
  it('rebuilds the same state and log from git and writes nothing (no commit, no notification)', async () => {
    const first = await startBackend();
    const api = (p: string) => `/api/release-manager${p}`;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const up = await request(first.server).post(api('/artifacts')).set('Authorization', ci()).send(upload({ service: 'idx' }));
      ids.push(up.body.artifact.id);
    }
    await request(first.server).put(api('/services/idx/policies/auto-releases')).set('Authorization', alice()).send({ branch: 'main', environment: 'dev' });
    for (const [environment, artifactId] of [['dev', ids[0]], ['staging', ids[0]], ['dev', ids[1]], ['prod', ids[0]]]) {
      await request(first.server).post(api('/releases')).set('Authorization', alice()).send({ service: 'idx', environment, artifactId });
    }
    await request(first.server).post(api('/rollbacks')).set('Authorization', alice()).send({ service: 'idx', environment: 'dev' });
    const read = async (h: Harness) => ({
      status: (await request(h.server).get(api('/services/idx/status')).set('Authorization', alice())).body,
      log: (await request(h.server).get(api('/services/idx/releases?limit=200')).set('Authorization', alice())).body,
      artifacts: (await request(h.server).get(api('/services/idx/artifacts')).set('Authorization', alice())).body,
    });
    const before = await read(first);
    const head = await configHead(first);
    await first.stop();

    const second = await startBackend({ dataDir: first.dataDir }); // empty database, blob store with it
    try {
      const after = await read(second);
      expect(after.log).toEqual(before.log);
      const strip = (s: any[]) => s.map(x => ({ ...x, artifact: x.artifact && { ...x.artifact, createdAt: undefined, createdBy: undefined } }));
      expect(strip(after.status)).toEqual(strip(before.status));
      expect(after.artifacts.items.map((a: any) => a.id).sort()).toEqual(before.artifacts.items.map((a: any) => a.id).sort());
      await new Promise(r => setTimeout(r, 3000)); // past the scheduled sync
      expect(await configHead(second)).toBe(head);
      expect(second.send).not.toHaveBeenCalled();
      expect(second.publish).not.toHaveBeenCalled();
    } finally {
      await second.stop();
      await fs.rm(first.dataDir, { recursive: true, force: true });
    }
  });
});
