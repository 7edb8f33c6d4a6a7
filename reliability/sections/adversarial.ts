// Adversarial inputs, table-driven, against the real HTTP routes (release-manager-backend,
// oncall-backend, git-host-backend) and the shuttle parser/URL guard. Every case must be a 4xx
// with a clear message, and nothing may be written (config repo HEAD, DB row counts).
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { mockCredentials } from '@backstage/backend-test-utils';
import { guardedGet, parseShuttleYaml, UnsafeUrlError } from '@devplane/plugin-catalog-backend-module-shuttle';
import { startBackend } from '../lib/backend';
import { assert, check, errorMessage, freshDatabase, request } from '../lib/harness';
import { Case, runCases, standardSnapshot } from '../lib/adversarial';
import { upload } from '../lib/fixtures';

const ALICE = mockCredentials.user.header('user:default/alice');
const MALLORY = mockCredentials.user.header('user:default/mallory');
const NONE = mockCredentials.none.header();
const SERVICE = mockCredentials.service.header();

const bomb = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'vars: { squad: *g }',
].join('\n');


export async function adversarial() {
  const S = 'adversarial';
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-adv-'));
  const db = await freshDatabase('rel_adv');
  const services = ['svc-00', 'svc-01'];
  const { backend, url } = await startBackend({
    dataDir,
    dbPrefix: db.prefix,
    services,
    extraConfig: {
      oncall: {
        rotations: [{ name: 'payments', members: ['alice'], handoffTime: '09:00', lengthDays: 7, start: '2024-01-01' }],
      },
    },
  });
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  const ocDb = db.knexFor(`${db.prefix}oncall`);
  const remote = path.join(dataDir, 'git', 'config.git');
  try {
    // Setup: a main and a feature artifact, main released to dev, feature released to staging.
    const main = upload('svc-00', 1);
    const feature = upload('svc-00', 2, 'feature-x');
    for (const a of [main, feature]) {
      const r = await request(url, 'POST', '/api/release-manager/artifacts', { auth: ALICE, body: a.body });
      assert(r.status === 201, `setup upload: ${r.status} ${errorMessage(r)}`);
    }
    for (const [a, env] of [[main, 'dev'], [feature, 'staging']] as const) {
      const r = await request(url, 'POST', '/api/release-manager/releases', {
        auth: ALICE,
        body: { service: 'svc-00', environment: env, artifactId: a.id },
      });
      assert(r.status === 200 || r.status === 201, `setup release: ${r.status} ${errorMessage(r)}`);
    }
    const pol = await request(url, 'GET', '/api/release-manager/services/svc-00/policies', { auth: ALICE });
    const policyId = pol.json?.branchRestrictions?.[0]?.id ?? pol.json?.autoReleases?.[0]?.id ?? 'none';

    const snapshot = standardSnapshot({ configRemote: remote, rmDb, ocDb });

    const bad = (patch: (b: any) => void, service = 'svc-00') => {
      const a = upload(service, Math.floor(Math.random() * 1e9));
      patch(a.body);
      return a.body;
    };
    const rm = '/api/release-manager';
    const cases: Case[] = [
      // --- path-escaping names in artifact uploads
      { name: 'upload: service ../etc', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.service = '../etc')), expect: 400 },
      { name: 'upload: service with slash', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.service = 'svc-00/x')), expect: 400 },
      { name: 'upload: service absolute path', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.service = '/etc/passwd')), expect: 400 },
      { name: 'upload: service encoded ..', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.service = '%2e%2e')), expect: 400 },
      { name: 'upload: service encoded slash', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.service = 'a%2Fb')), expect: 400 },
      { name: 'upload: service with NUL', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.service = 'svc\u0000x')), expect: 400 },
      { name: 'upload: service backslash', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.service = '..\\..\\x')), expect: 400 },
      { name: 'upload: namespace ../../x', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.namespace = '../../x')), expect: 400 },
      { name: 'upload: namespace NUL', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.namespace = 'pay\u0000')), expect: 400 },
      { name: 'upload: artifact id ../../x', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.id = '../../x')), expect: 400 },
      { name: 'upload: artifact id with slash', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.id = 'main/abc')), expect: 400 },
      { name: 'upload: artifact id NUL', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.id = 'main-\u0000')), expect: 400 },
      { name: 'upload: manifest file ../../evil.yaml', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests.dev = { '../../evil.yaml': 'x: 1' })), expect: 400 },
      { name: 'upload: manifest file absolute', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests.dev = { '/etc/evil.yaml': 'x: 1' })), expect: 400 },
      { name: 'upload: manifest file NUL', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests.dev = { 'a\u0000.yaml': 'x: 1' })), expect: 400 },
      { name: 'upload: manifest file artifact.json (reserved)', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests.dev = { 'artifact.json': '{}' })), expect: 400 },
      { name: 'upload: manifests for ../prod env', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests['../prod'] = { 'a.yaml': 'x: 1' })), expect: 400 },
      { name: 'upload: manifests for unknown env', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests.qa = { 'a.yaml': 'x: 1' })), expect: 400 },
      { name: 'upload: branch with ..', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.application.branch = '../../main')), expect: 400 },
      // --- malformed specs
      { name: 'upload: unknown spec field', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.evil = true)), expect: 400 },
      { name: 'upload: missing application', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => delete b.spec.application), expect: 400 },
      { name: 'upload: id is a number', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.id = 42)), expect: 400 },
      { name: 'upload: body is an array', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: [1, 2], expect: 400 },
      { name: 'upload: body is JSON null', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, raw: 'null', expect: 400 },
      { name: 'upload: malformed JSON', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, raw: '{"spec": {', expect: 400 },
      { name: 'upload: artifact id of 300 characters', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.id = `main-${'a'.repeat(295)}`)), expect: 400 },
      { name: 'upload: manifests not strings', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests.dev = { 'a.yaml': { x: 1 } })), expect: 400 },
      { name: 'upload: YAML alias bomb manifest', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests.dev = { 'deployment.yaml': bomb })), expect: 400 },
      { name: 'upload: oversized body (9 MiB)', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.manifests.dev = { 'a.yaml': `x: "${'A'.repeat(9 * 1024 * 1024)}"` })), expect: 413 },
      { name: 'upload: oversized commit message (1 MiB)', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: bad(b => (b.spec.application.message = 'm'.repeat(1024 * 1024))), expect: 400 },
      { name: 'upload: text/plain body', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, raw: 'spec=1', contentType: 'text/plain', expect: 400 },
      // --- spoofed identity
      { name: 'release: spoofed releasedBy in body', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00', environment: 'staging', artifactId: main.id, releasedBy: 'ceo@bank.example' }, expect: 400 },
      { name: 'release: spoofed actor in body', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00', environment: 'staging', artifactId: main.id, actor: { email: 'x' } }, expect: 400 },
      { name: 'upload: spoofed createdBy in body', method: 'POST', path: `${rm}/artifacts`, auth: ALICE, body: { ...bad(() => {}), createdBy: 'ceo@bank.example' }, expect: 400 },
      { name: 'promote: spoofed releasedBy', method: 'POST', path: `${rm}/promotions`, auth: ALICE, body: { service: 'svc-00', fromEnvironment: 'dev', toEnvironment: 'staging', releasedBy: 'x' }, expect: 400 },
      // --- release requests with bad names
      { name: 'release: environment ../prod', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00', environment: '../prod', artifactId: main.id }, expect: 400 },
      { name: 'release: unknown environment', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00', environment: 'qa', artifactId: main.id }, expect: [400, 404] },
      { name: 'release: service svc-00/../x', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00/../x', environment: 'dev', artifactId: main.id }, expect: 400 },
      { name: 'release: artifactId ../../x', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00', environment: 'dev', artifactId: '../../x' }, expect: 400 },
      { name: 'release: unknown artifact', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00', environment: 'dev', artifactId: 'main-ffffffffff-cccccccccc' }, expect: 404 },
      { name: 'release: environment NUL', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00', environment: 'dev\u0000', artifactId: main.id }, expect: 400 },
      // --- production of a feature branch (owner alice: permission yes, branch restriction no)
      { name: 'release: feature branch to prod', method: 'POST', path: `${rm}/releases`, auth: ALICE, body: { service: 'svc-00', environment: 'prod', artifactId: feature.id }, expect: [400, 403, 409] },
      { name: 'promote: staging (feature) to prod', method: 'POST', path: `${rm}/promotions`, auth: ALICE, body: { service: 'svc-00', fromEnvironment: 'staging', toEnvironment: 'prod' }, expect: [400, 403, 409] },
      { name: 'rollback: prod to feature artifact', method: 'POST', path: `${rm}/rollbacks`, auth: ALICE, body: { service: 'svc-00', environment: 'prod', artifactId: feature.id }, expect: [400, 403, 404, 409] },
      { name: 'policy: auto-release feature → prod (conflicts with restriction)', method: 'PUT', path: `${rm}/services/svc-00/policies/auto-releases`, auth: ALICE, body: { branch: 'feature-x', environment: 'prod' }, expect: [400, 409] },
      { name: 'policy: branch restriction with invalid regex', method: 'PUT', path: `${rm}/services/svc-00/policies/branch-restrictions`, auth: ALICE, body: { branchRegex: '([a-z', environment: 'prod' }, expect: 400 },
      // --- unauthenticated calls to every mutating route
      ...([
        ['POST', `${rm}/artifacts`, main.body],
        ['POST', `${rm}/releases`, { service: 'svc-00', environment: 'dev', artifactId: main.id }],
        ['POST', `${rm}/promotions`, { service: 'svc-00', fromEnvironment: 'dev', toEnvironment: 'staging' }],
        ['POST', `${rm}/rollbacks`, { service: 'svc-00', environment: 'dev' }],
        ['PUT', `${rm}/services/svc-00/policies/auto-releases`, { branch: 'main', environment: 'dev' }],
        ['PUT', `${rm}/services/svc-00/policies/branch-restrictions`, { branchRegex: '^main$', environment: 'prod' }],
        ['DELETE', `${rm}/services/svc-00/policies/${policyId}`, undefined],
        ['POST', `${rm}/status`, { service: 'svc-00', environment: 'dev', artifactId: main.id, state: 'succeeded' }],
        ['POST', '/api/oncall/entities/component/default/svc-00/incidents', { description: 'x', severity: 'critical' }],
        ['POST', '/api/oncall/incidents/00000000-0000-4000-8000-000000000000/acknowledge', {}],
        ['POST', '/api/oncall/incidents/00000000-0000-4000-8000-000000000000/resolve', {}],
      ] as const).map(([method, p, body]) => ({ name: `unauthenticated ${method} ${p.replace(/^\/api/, '')}`, method, path: p, auth: NONE, body, expect: 401 })),
      // --- signed in, but not an owner (mallory is in lending; svc-00 is owned by payments)
      { name: 'non-owner: release main to prod', method: 'POST', path: `${rm}/releases`, auth: MALLORY, body: { service: 'svc-00', environment: 'prod', artifactId: main.id }, expect: 403 },
      { name: 'non-owner: promote dev to prod', method: 'POST', path: `${rm}/promotions`, auth: MALLORY, body: { service: 'svc-00', fromEnvironment: 'dev', toEnvironment: 'prod' }, expect: 403 },
      { name: 'non-owner: rollback prod', method: 'POST', path: `${rm}/rollbacks`, auth: MALLORY, body: { service: 'svc-00', environment: 'prod', artifactId: main.id }, expect: 403 },
      { name: 'non-owner: put auto-release', method: 'PUT', path: `${rm}/services/svc-00/policies/auto-releases`, auth: MALLORY, body: { branch: 'main', environment: 'staging' }, expect: 403 },
      { name: 'non-owner: put branch restriction', method: 'PUT', path: `${rm}/services/svc-00/policies/branch-restrictions`, auth: MALLORY, body: { branchRegex: '.*', environment: 'prod' }, expect: 403 },
      { name: 'non-owner: delete policy', method: 'DELETE', path: `${rm}/services/svc-00/policies/${policyId}`, auth: MALLORY, expect: 403 },
      { name: 'user posts cluster status (service-only route)', method: 'POST', path: `${rm}/status`, auth: ALICE, body: { service: 'svc-00', environment: 'dev', artifactId: main.id, state: 'failed' }, expect: [401, 403] },
      // --- encoded separators and traversal in URL paths
      { name: 'GET artifacts of ..%2F..%2Fetc', method: 'GET', path: `${rm}/services/..%2F..%2Fetc/artifacts`, auth: ALICE, expect: 400 },
      { name: 'GET status of %2e%2e', method: 'GET', path: `${rm}/services/%2e%2e/status`, auth: ALICE, expect: 400 },
      { name: 'GET diff env ../prod', method: 'GET', path: `${rm}/services/svc-00/diff?environment=../prod&artifactId=${main.id}`, auth: ALICE, expect: 400 },
      { name: 'GET artifact id %2F', method: 'GET', path: `${rm}/services/svc-00/artifacts/main%2F..%2Fx`, auth: ALICE, expect: 400 },
      { name: 'GET artifacts limit=-1', method: 'GET', path: `${rm}/services/svc-00/artifacts?limit=-1`, auth: ALICE, expect: 400 },
      { name: 'GET artifacts bad cursor', method: 'GET', path: `${rm}/services/svc-00/artifacts?cursor=%00%00`, auth: ALICE, expect: 400 },
      { name: 'DELETE policy id ..%2F..%2Fx', method: 'DELETE', path: `${rm}/services/svc-00/policies/..%2F..%2Fx`, auth: ALICE, expect: [400, 404] },
      { name: 'PUT policy for service %2e%2e%2fetc', method: 'PUT', path: `${rm}/services/%2e%2e%2fetc/policies/auto-releases`, auth: ALICE, body: { branch: 'main', environment: 'dev' }, expect: 400 },
      // --- on-call
      { name: 'oncall: trigger without description', method: 'POST', path: '/api/oncall/entities/component/default/svc-00/incidents', auth: ALICE, body: { severity: 'critical' }, expect: 400 },
      { name: 'oncall: trigger oversized description', method: 'POST', path: '/api/oncall/entities/component/default/svc-00/incidents', auth: ALICE, body: { description: 'x'.repeat(200_000), severity: 'critical' }, expect: [400, 413] },
      { name: 'oncall: spoofed triggeredBy', method: 'POST', path: '/api/oncall/entities/component/default/svc-00/incidents', auth: ALICE, body: { description: 'x', severity: 'critical', triggeredBy: 'user:default/ceo' }, expect: 400 },
      { name: 'oncall: bad severity', method: 'POST', path: '/api/oncall/entities/component/default/svc-00/incidents', auth: ALICE, body: { description: 'x', severity: 'apocalyptic' }, expect: 400 },
      { name: 'oncall: entity name ..%2F..%2Fx', method: 'GET', path: '/api/oncall/entities/component/default/..%2F..%2Fx/oncall', auth: ALICE, expect: [400, 404] },
      { name: 'oncall: entity name NUL', method: 'GET', path: '/api/oncall/entities/component/default/a%00b/oncall', auth: ALICE, expect: [400, 404] },
      { name: 'oncall: resolve non-uuid incident', method: 'POST', path: '/api/oncall/incidents/..%2F..%2Fx/resolve', auth: ALICE, body: {}, expect: [400, 404] },
      { name: 'oncall: service (not user) triggers', method: 'POST', path: '/api/oncall/entities/component/default/svc-00/incidents', auth: SERVICE, body: { description: 'x', severity: 'critical' }, expect: [401, 403] },
      // --- git host
      { name: 'git-host: blob ../../etc/passwd (raw)', method: 'GET', path: '/api/git-host/repos/config/blob/main/../../../../etc/passwd', expect: [400, 404] },
      { name: 'git-host: blob %2e%2e%2f traversal', method: 'GET', path: '/api/git-host/repos/config/blob/main/%2e%2e%2f%2e%2e%2fetc%2fpasswd', expect: [400, 404] },
      { name: 'git-host: repo ..%2F..', method: 'GET', path: '/api/git-host/repos/..%2F..%2Fetc/blob/main/passwd', expect: [400, 404] },
      { name: 'git-host: repo NUL', method: 'GET', path: '/api/git-host/repos/con%00fig/blob/main/README.md', expect: [400, 404] },
      { name: 'git-host: smart HTTP repo ..%2Fconfig', method: 'GET', path: '/api/git-host/repos/..%2Fconfig.git/info/refs?service=git-upload-pack', expect: [400, 404] },
      { name: 'git-host: receive-pack advertisement on the config repo', method: 'GET', path: '/api/git-host/repos/config.git/info/refs?service=git-receive-pack', expect: 403 },
      { name: 'git-host: receive-pack POST to the config repo', method: 'POST', path: '/api/git-host/repos/config.git/git-receive-pack', raw: '0000', contentType: 'application/x-git-receive-pack-request', expect: 403 },
      { name: 'git-host: ref with ..', method: 'GET', path: '/api/git-host/repos/config/blob/..%2F..%2Fmain/README.md', expect: [400, 404] },
    ];

    await runCases(S, url, cases.map(c => ({ ...c, auth: c.auth ?? ALICE })), snapshot);

    // --- shuttle parser and URL guard (no HTTP route: a rejection with a reason)
    const shuttleCases: [string, string][] = [
      ['alias bomb', bomb],
      ['oversized file', `vars:\n  squad: payments\n  pad: "${'x'.repeat(70 * 1024)}"\n`],
      ['invalid YAML', 'vars: [squad: payments\n'],
      ['squad is a number', 'vars:\n  squad: 42\n'],
      ['plan is a number', 'plan: 5\nvars:\n  squad: payments\n'],
      ['document is a list', '- a\n- b\n'],
      ['squad path escape', 'vars:\n  squad: ../../admins\n'],
      ['multiple documents', 'vars: {squad: a}\n---\nvars: {squad: b}\n'],
    ];
    for (const [name, text] of shuttleCases) {
      await check(S, `shuttle parser: ${name}`, async () => {
        const r = parseShuttleYaml(text) as any;
        assert(!r.ok, `accepted: ${String(JSON.stringify(r.file)).slice(0, 100)}`);
        assert(typeof r.reason === 'string' && r.reason.length > 8, 'no reason');
        return r.reason.slice(0, 90);
      });
    }
    // A trusted loopback server redirecting to internal addresses: each hop must be refused
    // before any connection leaves loopback (169.254/10/ ... are refused by address check).
    const redirector = http.createServer((req, res) => {
      const to = decodeURIComponent((req.url ?? '/').slice(1));
      res.writeHead(302, { Location: to });
      res.end();
    });
    await new Promise<void>(r => redirector.listen(0, '127.0.0.1', () => r()));
    const rport = (redirector.address() as AddressInfo).port;
    try {
      for (const target of [
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/shuttle.yaml',
        'http://[::1]:1/shuttle.yaml',
        'http://localhost:1/shuttle.yaml',
        'file:///etc/passwd',
        'http://0.0.0.0:1/x',
      ]) {
        await check(S, `shuttle URL redirect to ${target}`, async () => {
          const e = await guardedGet(`http://127.0.0.1:${rport}/${encodeURIComponent(target)}`, {
            maxBytes: 65536,
            trustedHosts: [`127.0.0.1:${rport}`],
            timeoutMs: 3000,
          }).then(
            () => undefined,
            err => err,
          );
          assert(e instanceof UnsafeUrlError, `not refused as unsafe: ${e?.message ?? 'followed'}`);
          return e.message.slice(0, 90);
        });
      }
    } finally {
      redirector.close();
    }
  } finally {
    await backend.stop();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
