/*
 * Four-eyes approvals, break-glass and freeze windows (issue 14), through the REST API.
 *
 * Real components: the control plane's permission policy (./permissionPolicy) in the permission
 * backend, the catalog backend reading the demo organisation (catalog-info/org.yaml: anna.jensen
 * and mikkel.holm in payments, sofie.larsen in lending, kasper.nissen in platform), the local git
 * host and the release manager with its GitOps writer and SQLite database (a file, so the test can
 * age a request the way the clock would). Stand-ins only for the notification/signal sinks
 * (recorded) and the sign-in claims (ownership refs looked up in the catalog as the auth backend
 * does at sign-in).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { runGit } from '@devplane/plugin-git-host-node';
import request from 'supertest';
import { startReleaseManagerBackend } from './__testUtils__/releaseManagerBackend';

jest.setTimeout(180_000);

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
spec: { type: service, lifecycle: production, owner: group:default/payments, system: payments }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: card-vault }
spec: { type: service, lifecycle: production, owner: group:default/payments, system: vault }
`;

let shaCounter = 0;
function artifact(service: string, authorEmail = 'dev@bank.example') {
  const sha = `${(++shaCounter).toString(16).padStart(10, '0')}${'a'.repeat(
    30,
  )}`;
  const deployment = (replicas: number) =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${service}\n  labels:\n    build: "${shaCounter}"\nspec:\n  replicas: ${replicas}\n`;
  return {
    spec: {
      id: `main-${sha.slice(0, 10)}-bbbbbbbbbb`,
      service,
      namespace: 'payments',
      squad: 'payments',
      application: {
        branch: 'main',
        sha,
        authorName: 'Dev',
        authorEmail,
        message: `change ${shaCounter}`,
        name: service,
      },
    },
    manifests: {
      dev: { 'deployment.yaml': deployment(1) },
      staging: { 'deployment.yaml': deployment(2) },
      prod: { 'deployment.yaml': deployment(3) },
    },
  };
}

describe('four-eyes approvals, break-glass and freeze windows (real policy, real git host)', () => {
  let server: any;
  let dataDir: string;
  let stop: () => Promise<void>;
  const notifications: Array<{ recipients: any; payload: any }> = [];

  const api = (p: string) => `/api/release-manager${p}`;
  const as = (user: string) => mockCredentials.user.header(user);
  const post = (user: string, p: string, body: object) =>
    request(server).post(api(p)).set('Authorization', as(user)).send(body);
  const get = (user: string, p: string) =>
    request(server).get(api(p)).set('Authorization', as(user));
  const head = async () =>
    (
      await runGit(['rev-parse', 'HEAD'], {
        cwd: path.join(dataDir, 'git', 'config.git'),
      })
    ).stdout.trim();
  const trailersOf = async (sha: string) => {
    const out = (
      await runGit(['log', '-1', '--format=%(trailers:only,unfold)', sha], {
        cwd: path.join(dataDir, 'git', 'config.git'),
      })
    ).stdout;
    const t: Record<string, string> = {};
    for (const line of out.split('\n').filter(Boolean)) {
      const i = line.indexOf(': ');
      t[line.slice(0, i)] = line.slice(i + 2);
    }
    return t;
  };
  const upload = async (body: ReturnType<typeof artifact>) => {
    const res = await request(server)
      .post(api('/artifacts'))
      .set('Authorization', mockCredentials.service.header())
      .send(body);
    expect(res.status).toBe(201);
    return body.spec.id;
  };
  /** An artifact uploaded and released to dev (non-production: no approval). */
  const inDev = async (service: string, authorEmail?: string) => {
    const id = await upload(artifact(service, authorEmail));
    const res = await post(ANNA, '/releases', {
      service,
      environment: 'dev',
      artifactId: id,
    });
    expect(res.status).toBe(200);
    expect(res.body.changed).toBe(true);
    return id;
  };
  /** Ages a request the way the clock would (the release manager's own SQLite file). */
  const expireInDatabase = async (id: string) => {
    const db = new Database(
      path.join(dataDir, 'sqlite', 'release-manager.sqlite'),
    );
    try {
      db.prepare(
        'update rm_approval_requests set expires_at = ? where id = ?',
      ).run(new Date(Date.now() - 1000).toISOString(), id);
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    const now = Date.now();
    // ownership comes from the catalog: wait for the services and the people
    const backend = await startReleaseManagerBackend({
      services: SERVICES,
      waitFor: ['component/default/payment-gateway', 'component/default/card-vault', 'user/default/mikkel.holm'],
      actions: true,
      onNotification: n => notifications.push(n),
      releaseManager: {
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
        freezeWindows: [
          // in force now, for the vault system only
          {
            id: 'vault-change-freeze',
            title: 'Vault key rotation',
            systems: ['vault'],
            start: `${new Date(now - 3600_000).toISOString().slice(0, 16)}Z`,
            end: `${new Date(now + 2 * 86400_000).toISOString().slice(0, 16)}Z`,
          },
        ],
      },
    });
    server = backend.server;
    dataDir = backend.dataDir;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('turns a prod promotion into a pending request that a second payments developer approves', async () => {
    const id = await inDev('payment-gateway');
    const before = await head();
    notifications.length = 0;
    const asked = await post(ANNA, '/promotions', {
      service: 'payment-gateway',
      fromEnvironment: 'dev',
      toEnvironment: 'prod',
      reason: 'ship the fix',
    });
    expect(asked.status).toBe(202);
    expect(asked.body.changed).toBe(false);
    const r = asked.body.approval;
    expect(r).toMatchObject({
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: id,
      intent: 'promote',
      promotedFrom: 'dev',
      requestedBy: 'anna.jensen@example.com',
      status: 'pending',
      environmentCommit: '',
      verdict: { allowed: true },
    });
    expect(r.diff.files).toEqual([
      expect.objectContaining({ path: 'deployment.yaml', change: 'added' }),
    ]);
    expect(await head()).toBe(before); // a request, not a change
    // the owning squad is notified
    await new Promise(res => setTimeout(res, 100));
    expect(
      notifications.some(
        n =>
          n.recipients.entityRef === 'group:default/payments' &&
          /asks for approval/.test(n.payload.title),
      ),
    ).toBe(true);

    // what each person sees
    const mine = await get(MIKKEL, '/approvals?mine=true');
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((x: any) => x.id)).toContain(r.id);
    expect(
      (await get(ANNA, '/approvals?mine=true')).body.items.map(
        (x: any) => x.id,
      ),
    ).not.toContain(r.id);
    const annaView = await get(ANNA, `/approvals/${r.id}`);
    expect(annaView.body.canApprove).toEqual({
      allowed: false,
      reason: expect.stringMatching(/you asked for this change/),
    });
    const sofieView = await get(SOFIE, `/approvals/${r.id}`);
    expect(sofieView.body.canApprove).toEqual({
      allowed: false,
      reason: expect.stringMatching(
        /permission release-manager\.promote\.production/,
      ),
    });

    const approved = await post(MIKKEL, `/approvals/${r.id}/approve`, {
      comment: 'diff reviewed',
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      changed: true,
      release: {
        environment: 'prod',
        artifactId: id,
        approvedBy: 'mikkel.holm@example.com',
      },
    });
    const sha = await head();
    expect(sha).not.toBe(before);
    expect(await trailersOf(sha)).toMatchObject({
      'Artifact-ID': id,
      'Artifact-released-by': 'anna.jensen@example.com',
      'Approved-by': 'mikkel.holm@example.com',
      'Approval-request': r.id,
      'Release-intent': 'promote',
    });
    expect((await get(ANNA, `/approvals/${r.id}`)).body).toMatchObject({
      status: 'approved',
      decidedBy: 'mikkel.holm@example.com',
      releaseId: sha,
    });
    // decided once: a second approval writes nothing
    const again = await post(MIKKEL, `/approvals/${r.id}/approve`, {});
    expect(again.status).toBe(409);
    expect(await head()).toBe(sha);
  });

  it("refuses the requester's own approval, a non-owner's, and the artifact author's, writing nothing", async () => {
    const id = await inDev('payment-gateway', 'mikkel.holm@example.com');
    const asked = await post(ANNA, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: id,
    });
    expect(asked.status).toBe(202);
    const rid = asked.body.approval.id;
    const before = await head();
    const own = await post(ANNA, `/approvals/${rid}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/someone else must approve/);
    const lending = await post(SOFIE, `/approvals/${rid}/approve`, {});
    expect(lending.status).toBe(403);
    expect(lending.body.error.message).toMatch(
      /release-manager\.promote\.production/,
    );
    const author = await post(MIKKEL, `/approvals/${rid}/approve`, {});
    expect(author.status).toBe(403);
    expect(author.body.error.message).toMatch(/you wrote the commit/);
    // the approver never comes from the body
    const forged = await post(KASPER, `/approvals/${rid}/approve`, {
      approvedBy: 'mikkel.holm@example.com',
    });
    expect(forged.status).toBe(400);
    expect(forged.body.error.message).toMatch(
      /unknown field\(s\) 'approvedBy'/,
    );
    const forgedRelease = await post(ANNA, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: id,
      approvedBy: 'x@y',
    });
    expect(forgedRelease.status).toBe(400);
    expect(await head()).toBe(before);
    expect((await get(ANNA, `/approvals/${rid}`)).body.status).toBe('pending');
    // a lending developer may not reject it either; the requester may withdraw it
    expect(
      (await post(SOFIE, `/approvals/${rid}/reject`, { comment: 'no' })).status,
    ).toBe(403);
    expect((await post(ANNA, `/approvals/${rid}/reject`, {})).status).toBe(400);
    const withdrawn = await post(ANNA, `/approvals/${rid}/reject`, {
      comment: 'wrong artifact',
    });
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({
      status: 'rejected',
      decisionComment: 'withdrawn by the requester: wrong artifact',
    });
    expect((await post(KASPER, `/approvals/${rid}/approve`, {})).status).toBe(
      409,
    );
    expect(await head()).toBe(before);
  });

  it('answers 409 stale when prod moved since the request, and 410 when it expired; nothing written', async () => {
    const first = await inDev('payment-gateway');
    const stale = await post(ANNA, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: first,
    });
    expect(stale.status).toBe(202);
    const expiring = await post(ANNA, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: first,
    });
    expect(expiring.status).toBe(202);
    // platform breaks glass with another artifact: prod moves
    const other = await inDev('payment-gateway');
    const glass = await post(KASPER, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: other,
      breakGlass: { reason: 'card payments down, hotfix' },
    });
    expect(glass.status).toBe(200);
    const moved = await head();
    expect(await trailersOf(moved)).toMatchObject({
      'Break-glass': 'card payments down, hotfix',
      'Artifact-released-by': 'kasper.nissen@example.com',
    });
    expect((await trailersOf(moved))['Approved-by']).toBeUndefined();

    const res = await post(
      MIKKEL,
      `/approvals/${stale.body.approval.id}/approve`,
      {},
    );
    expect(res.status).toBe(409);
    expect(res.body.error.name).toBe('ApprovalStaleError');
    expect(await head()).toBe(moved);
    expect(
      (await get(MIKKEL, `/approvals/${stale.body.approval.id}`)).body.status,
    ).toBe('stale');

    await expireInDatabase(expiring.body.approval.id);
    const late = await post(
      MIKKEL,
      `/approvals/${expiring.body.approval.id}/approve`,
      {},
    );
    expect(late.status).toBe(410);
    expect(late.body.error.name).toBe('ApprovalExpiredError');
    expect(await head()).toBe(moved);
  });

  it('keeps break-glass to platform and requires its reason', async () => {
    const id = await inDev('payment-gateway');
    const before = await head();
    const blank = await post(KASPER, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: id,
      breakGlass: { reason: '  ' },
    });
    expect(blank.status).toBe(400);
    expect(blank.body.error.message).toMatch(/breakGlass\.reason/);
    const missing = await post(KASPER, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: id,
      breakGlass: {},
    });
    expect(missing.status).toBe(400);
    // an owner without the platform role who asks for break-glass still needs a second person
    const owner = await post(ANNA, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: id,
      breakGlass: { reason: 'urgent' },
    });
    expect(owner.status).toBe(202);
    expect(owner.body.approval.breakGlass).toBe('urgent');
    expect(await head()).toBe(before);
  });

  it('refuses a release inside a freeze window; break-glass goes through flagged, by platform or with a second person', async () => {
    const windows = await get(ANNA, '/freeze-windows?service=card-vault');
    expect(windows.status).toBe(200);
    expect(windows.body).toEqual([
      expect.objectContaining({
        id: 'vault-change-freeze',
        current: expect.any(Object),
      }),
    ]);
    expect(
      (await get(ANNA, '/freeze-windows?service=payment-gateway')).body,
    ).toEqual([]);

    const id = await inDev('card-vault');
    const before = await head();
    const refused = await post(ANNA, '/releases', {
      service: 'card-vault',
      environment: 'prod',
      artifactId: id,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(
      /freeze window vault-change-freeze/,
    );
    expect(await head()).toBe(before);

    // the owner with a reason: a request a second person approves, recorded as break-glass in the window
    const asked = await post(ANNA, '/releases', {
      service: 'card-vault',
      environment: 'prod',
      artifactId: id,
      breakGlass: { reason: 'rotate the leaked key' },
    });
    expect(asked.status).toBe(202);
    expect(await head()).toBe(before);
    const approved = await post(
      MIKKEL,
      `/approvals/${asked.body.approval.id}/approve`,
      {},
    );
    expect(approved.status).toBe(200);
    const sha = await head();
    expect(await trailersOf(sha)).toMatchObject({
      'Approved-by': 'mikkel.holm@example.com',
      'Break-glass': 'rotate the leaked key',
      'Freeze-window': 'vault-change-freeze',
    });

    // platform with a reason: written at once
    const next = await inDev('card-vault');
    const glass = await post(KASPER, '/releases', {
      service: 'card-vault',
      environment: 'prod',
      artifactId: next,
      breakGlass: { reason: 'second rotation' },
    });
    expect(glass.status).toBe(200);
    expect(glass.body.message).toMatch(/BREAK-GLASS: second rotation/);
    expect(await trailersOf(await head())).toMatchObject({
      'Break-glass': 'second rotation',
      'Freeze-window': 'vault-change-freeze',
    });
    // the release log carries the flag
    const log = await get(
      ANNA,
      '/services/card-vault/releases?environment=prod',
    );
    expect(log.status).toBe(200);
  });

  it('lets platform approve through the actions registry with the same checks', async () => {
    const id = await inDev('payment-gateway');
    const asked = await post(ANNA, '/releases', {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: id,
    });
    expect(asked.status).toBe(202);
    const before = await head();
    const refused = await request(server)
      .post(
        api('/.backstage/actions/v1/actions/release-manager:approve/invoke'),
      )
      .set('Authorization', as(ANNA))
      .send({ id: asked.body.approval.id });
    expect(refused.status).toBe(403);
    expect(await head()).toBe(before);
    const ok = await request(server)
      .post(
        api('/.backstage/actions/v1/actions/release-manager:approve/invoke'),
      )
      .set('Authorization', as(KASPER))
      .send({ id: asked.body.approval.id });
    expect(ok.status).toBe(200);
    expect(await trailersOf(await head())).toMatchObject({
      'Approved-by': 'kasper.nissen@example.com',
      'Artifact-ID': id,
    });
  });
});
