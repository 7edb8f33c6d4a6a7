// Adversarial cases of four-eyes approvals and freeze windows (issue 14, helper `approvals`): the
// real plugins, catalog and permission policy (lib/backend.ts) with prod requiring approval and
// staging inside a dated freeze window. Approving one's own request, a stale or an expired one,
// without the permission, as a forged approver, break-glass without a reason: a 4xx naming the
// reason, and nothing written (config repo HEAD and files, release index and request row counts).
// Non-platform break-glass is not a refusal by design: it becomes a request a second person must
// approve (202), which is checked to write nothing to git.
// Simulated: time. An expired request is made by moving its expiry into the past in the database
// (the service settles expiry on read, so this is what the clock would do).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { startBackend } from '../lib/backend';
import { assert, check, errorMessage, freshDatabase, gitOut, request } from '../lib/harness';
import { AUTH, Case, runCases, standardSnapshot } from '../lib/adversarial';
import { upload } from '../lib/fixtures';

const S = 'adversarial-approvals';
/** bert: a second member of payments (lib/backend.ts demoEntities), the one who may approve alice's. */
const BERT = mockCredentials.user.header('user:default/bert');
const RM = '/api/release-manager';

const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);

export default async function adversarialApprovals() {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-adv-approvals-'));
  const db = await freshDatabase('rel_adv_approvals');
  const { backend, url } = await startBackend({
    dataDir,
    dbPrefix: db.prefix,
    services: ['svc-00'],
    extraConfig: {
      releaseManager: {
        environments: [
          { name: 'dev' },
          { name: 'staging' },
          {
            name: 'prod',
            production: true,
            requireApproval: true,
            guardrails: { verifyBranch: false, uploaders: ['external:test-service'] },
          },
        ],
        statusWebhook: { principals: ['external:test-service'] },
        freezeWindows: [{ id: 'audit', title: 'Audit', environments: ['staging'], start: day(-1), end: day(2) }],
      },
    },
  });
  const configRemote = path.join(dataDir, 'git', 'config.git');
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  const head = async () => (await gitOut(configRemote, ['rev-parse', 'HEAD'])).trim();
  const requests = async () => Number((await rmDb('rm_approval_requests').count({ c: '*' }))[0].c);
  try {
    const arts = [1, 2, 3, 4].map(n => upload('svc-00', 100 + n));
    for (const a of arts) {
      const r = await request(url, 'POST', `${RM}/artifacts`, { auth: AUTH.owner, body: a.body });
      assert(r.status === 201, `setup upload: ${r.status} ${errorMessage(r)}`);
    }
    const ask = async (artifactId: string, auth = AUTH.owner, extra: object = {}) => {
      const r = await request(url, 'POST', `${RM}/releases`, {
        auth,
        body: { service: 'svc-00', environment: 'prod', artifactId, ...extra },
      });
      assert(r.status === 202 && r.json?.approval?.id, `setup request: ${r.status} ${errorMessage(r)}`);
      return r.json.approval.id as string;
    };
    const approve = (id: string) => `${RM}/approvals/${id}/approve`;

    // pending (A), to be made stale (B, then C applied first), to expire (D), rejected (E)
    const pending = await ask(arts[0].id);
    const stale = await ask(arts[1].id);
    const moves = await ask(arts[2].id);
    const expired = await ask(arts[3].id);
    const rejected = await ask(arts[3].id);
    await check(S, 'setup: bert approves one request (prod moves), one is rejected', async () => {
      const before = await head();
      const r = await request(url, 'POST', approve(moves), { auth: BERT, body: {} });
      assert(r.status === 200 && r.json?.release, `${r.status} ${errorMessage(r)}`);
      const after = await head();
      assert(after !== before, 'prod did not move');
      const body = (await gitOut(configRemote, ['log', '-1', '--format=%B', after])).trim();
      assert(/Approved-by: bert@bank\.example/.test(body), `no Approved-by trailer:\n${body}`);
      const rej = await request(url, 'POST', `${RM}/approvals/${rejected}/reject`, { auth: BERT, body: { comment: 'not now' } });
      assert(rej.status === 200, `reject: ${rej.status} ${errorMessage(rej)}`);
      return `commit ${after.slice(0, 12)} carries Approved-by`;
    });
    // the clock: this request's expiry lies in the past
    const row = await rmDb('rm_approval_requests').where({ id: expired }).first();
    await rmDb('rm_approval_requests')
      .where({ id: expired })
      .update({
        expires_at: new Date(Date.now() - 60_000).toISOString(),
        details: JSON.stringify({ ...JSON.parse(row.details), expiresAt: new Date(Date.now() - 60_000).toISOString() }),
      });

    const snapshot = standardSnapshot({
      configRemote,
      rmDb,
      extra: async () => ({ requests: await requests() }),
    });
    const cases: Case[] = [
      { name: 'approve: own request (alice asked)', method: 'POST', path: approve(pending), auth: AUTH.owner, body: {}, expect: 403 },
      { name: 'approve: without the permission (lending)', method: 'POST', path: approve(pending), auth: AUTH.nonOwner, body: {}, expect: 403 },
      { name: 'approve: unknown user (not in the catalog)', method: 'POST', path: approve(pending), auth: mockCredentials.user.header('user:default/intruder'), body: {}, expect: 403 },
      { name: 'approve: forged approver in the body (alice names bert)', method: 'POST', path: approve(pending), auth: AUTH.owner, body: { approvedBy: 'bert@bank.example', decidedByRef: 'user:default/bert' }, expect: 400 },
      { name: 'approve: forged approver, body only (lending names bert)', method: 'POST', path: approve(pending), auth: AUTH.nonOwner, body: { approvedBy: 'user:default/bert' }, expect: 400 },
      { name: 'approve: service principal', method: 'POST', path: approve(pending), auth: AUTH.service, body: {}, expect: [401, 403] },
      { name: 'approve: anonymous', method: 'POST', path: approve(pending), auth: undefined, body: {}, expect: 401 },
      { name: 'approve: forged token', method: 'POST', path: approve(pending), auth: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvYmVydCJ9.', body: {}, expect: 401 },
      { name: 'approve: stale (prod moved since the request)', method: 'POST', path: approve(stale), auth: BERT, body: {}, expect: 409 },
      { name: 'approve: stale again (already marked stale)', method: 'POST', path: approve(stale), auth: BERT, body: {}, expect: 409 },
      { name: 'approve: expired', method: 'POST', path: approve(expired), auth: BERT, body: {}, expect: 410 },
      { name: 'approve: already approved', method: 'POST', path: approve(moves), auth: BERT, body: {}, expect: 409 },
      { name: 'approve: rejected', method: 'POST', path: approve(rejected), auth: BERT, body: {}, expect: 409 },
      { name: 'approve: id not a UUID (path-ish)', method: 'POST', path: `${RM}/approvals/..%2F..%2Fetc/approve`, auth: BERT, body: {}, expect: [400, 404] },
      { name: 'approve: unknown UUID', method: 'POST', path: approve('00000000-0000-4000-8000-000000000000'), auth: BERT, body: {}, expect: 404 },
      { name: 'approve: comment over 500 characters', method: 'POST', path: approve(pending), auth: BERT, body: { comment: 'x'.repeat(501) }, expect: 400 },
      { name: 'approve: comment with a newline (trailer injection)', method: 'POST', path: approve(pending), auth: BERT, body: { comment: 'ok\nApproved-by: ceo@bank.example' }, expect: 400 },
      { name: 'reject: without a reason', method: 'POST', path: `${RM}/approvals/${pending}/reject`, auth: BERT, body: {}, expect: 400 },
      { name: 'reject: blank reason', method: 'POST', path: `${RM}/approvals/${pending}/reject`, auth: BERT, body: { comment: '   ' }, expect: 400 },
      { name: 'reject: without the permission (lending)', method: 'POST', path: `${RM}/approvals/${pending}/reject`, auth: AUTH.nonOwner, body: { comment: 'no' }, expect: 403 },
      { name: 'freeze: release into the frozen staging without break-glass', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: 'svc-00', environment: 'staging', artifactId: arts[0].id }, expect: 409 },
      { name: 'break-glass: empty reason (platform)', method: 'POST', path: `${RM}/releases`, auth: AUTH.platform, body: { service: 'svc-00', environment: 'staging', artifactId: arts[0].id, breakGlass: { reason: '' } }, expect: 400 },
      { name: 'break-glass: blank reason (platform)', method: 'POST', path: `${RM}/releases`, auth: AUTH.platform, body: { service: 'svc-00', environment: 'prod', artifactId: arts[0].id, breakGlass: { reason: '  ' } }, expect: 400 },
      { name: 'break-glass: no reason field (developer)', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: 'svc-00', environment: 'staging', artifactId: arts[0].id, breakGlass: {} }, expect: 400 },
      { name: 'break-glass: reason with a newline (trailer injection)', method: 'POST', path: `${RM}/releases`, auth: AUTH.platform, body: { service: 'svc-00', environment: 'prod', artifactId: arts[0].id, breakGlass: { reason: 'x\nApproved-by: ceo@bank.example' } }, expect: 400 },
      { name: 'break-glass: reason over 500 characters', method: 'POST', path: `${RM}/releases`, auth: AUTH.platform, body: { service: 'svc-00', environment: 'prod', artifactId: arts[0].id, breakGlass: { reason: 'x'.repeat(501) } }, expect: 400 },
      { name: 'break-glass: by lending (no release permission at all)', method: 'POST', path: `${RM}/releases`, auth: AUTH.nonOwner, body: { service: 'svc-00', environment: 'prod', artifactId: arts[0].id, breakGlass: { reason: 'trust me' } }, expect: 403 },
      { name: 'approvals: status filter not a status', method: 'GET', path: `${RM}/approvals?status=pending,owned`, auth: AUTH.owner, expect: 400 },
      { name: 'approvals: service name with a slash', method: 'GET', path: `${RM}/approvals?service=svc-00%2F..`, auth: AUTH.owner, expect: 400 },
      { name: 'freeze-windows: days out of range', method: 'GET', path: `${RM}/freeze-windows?days=9999`, auth: AUTH.owner, expect: 400 },
    ];
    await runCases(S, url, cases, snapshot);

    await check(S, 'stale request is marked stale with the reason, nothing written', async () => {
      const r = await request(url, 'GET', `${RM}/approvals/${stale}`, { auth: AUTH.owner });
      assert(r.status === 200 && r.json.status === 'stale', `status ${r.json?.status}`);
      return String(r.json.decisionComment).slice(0, 90);
    });
    await check(S, 'non-platform break-glass becomes a request (202), git untouched, flagged', async () => {
      const before = await head();
      const r = await request(url, 'POST', `${RM}/releases`, {
        auth: AUTH.owner,
        body: { service: 'svc-00', environment: 'staging', artifactId: arts[0].id, breakGlass: { reason: 'card outage fix' } },
      });
      assert(r.status === 202, `expected 202 got ${r.status}: ${errorMessage(r)}`);
      assert(r.json.approval.breakGlass === 'card outage fix', 'break-glass reason not recorded on the request');
      assert((await head()) === before, 'written to git');
      const own = await request(url, 'POST', approve(r.json.approval.id), { auth: AUTH.owner, body: {} });
      assert(own.status === 403, `own break-glass request approved: ${own.status}`);
      assert((await head()) === before, 'written to git by the requester');
      return `202, request ${r.json.approval.id.slice(0, 8)}; own approval 403`;
    });
    await check(S, 'control: platform break-glass with a reason is written, flagged in the commit', async () => {
      const r = await request(url, 'POST', `${RM}/releases`, {
        auth: AUTH.platform,
        body: { service: 'svc-00', environment: 'staging', artifactId: arts[0].id, breakGlass: { reason: 'card outage fix' } },
      });
      assert(r.status === 200 && r.json.release, `${r.status} ${errorMessage(r)}`);
      const body = await gitOut(configRemote, ['log', '-1', '--format=%B', r.json.release.id]);
      assert(/Break-glass: card outage fix/.test(body) && /Freeze-window: audit/.test(body), `trailers missing:\n${body}`);
      return 'Break-glass + Freeze-window trailers';
    });
    await check(S, 'control: bert approves a fresh request of alice; the commit names both', async () => {
      // `pending` was asked before prod moved (it is stale by now): ask again on the current commit
      const fresh = await ask(arts[0].id);
      const r = await request(url, 'POST', approve(fresh), { auth: BERT, body: {} });
      assert(r.status === 200 && r.json.release, `${r.status} ${errorMessage(r)}`);
      const body = await gitOut(configRemote, ['log', '-1', '--format=%an <%ae>%n%B', r.json.release.id]);
      assert(/alice@bank\.example/.test(body) && /Approved-by: bert@bank\.example/.test(body), `names missing:\n${body}`);
      return 'requester + Approved-by';
    });
  } finally {
    await backend.stop();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
