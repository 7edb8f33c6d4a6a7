// Upstream faults: loopback stand-ins for Slack incoming webhooks (429, 500, timeouts, 404
// `no_team`) and PagerDuty Events/REST (429 then 202, 500s, timeouts), and a config remote that
// is unreachable. Releases are never blocked or failed by a notification failure, retries are
// bounded (stand-in hits are counted), a double trigger opens one incident, and an unreachable
// config remote is a clear 5xx within a bounded time with nothing written to the database.
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { mockCredentials } from '@backstage/backend-test-utils';
import { startBackend } from '../lib/backend';
import { assert, check, errorMessage, freshDatabase, gitOut, request, sleep } from '../lib/harness';
import { upload } from '../lib/fixtures';

const ALICE = mockCredentials.user.header('user:default/alice');
const RM = '/api/release-manager';

/** Loopback stand-in for Slack webhooks and the PagerDuty Events v2 and REST APIs. */
async function startStandIn() {
  const hits = new Map<string, number>();
  const hit = (k: string) => hits.set(k, (hits.get(k) ?? 0) + 1);
  /** PagerDuty's model: one incident per dedup_key. */
  const incidents = new Map<string, { routingKey: string; summary: string; events: number }>();
  const seenKeys = new Set<string>();
  const held = new Set<http.ServerResponse>();
  let oncallsCalls = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      let body: any = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        body = {};
      }
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      if (url.startsWith('/slack/')) {
        const kind = url.slice('/slack/'.length);
        hit(`slack ${kind}`);
        if (kind === '429') return json(429, { ok: false, error: 'rate_limited' }, { 'retry-after': '1' });
        if (kind === '500') return json(500, { ok: false, error: 'internal_error' });
        if (kind === 'no_team') {
          res.writeHead(404, { 'content-type': 'text/plain' });
          return res.end('no_team');
        }
        if (kind === 'timeout') return void held.add(res); // never answers
        return json(200, { ok: true });
      }
      if (url === '/pd-events/v2/enqueue') {
        const key = String(body.routing_key);
        hit(`pd enqueue ${key}`);
        if (key === 'rk-down') return json(500, { status: 'error', message: 'internal error' });
        if (key === 'rk-slow') return void held.add(res);
        const dedup = String(body.dedup_key);
        if (key === 'rk-flaky' && !seenKeys.has(dedup)) {
          seenKeys.add(dedup);
          return json(429, { status: 'throttled', message: 'Requests for this service are arriving too quickly' });
        }
        const inc = incidents.get(dedup) ?? { routingKey: key, summary: body.payload?.summary, events: 0 };
        inc.events++;
        incidents.set(dedup, inc);
        return json(202, { status: 'success', message: 'Event processed', dedup_key: dedup });
      }
      if (url.startsWith('/pd-rest/oncalls')) {
        hit('pd rest oncalls');
        if (oncallsCalls++ === 0) return json(429, { error: { message: 'Rate Limit Exceeded' } });
        return json(200, {
          oncalls: [
            {
              escalation_level: 1,
              start: null,
              end: null,
              user: { id: 'PUSER1', summary: 'Alice', name: 'Alice', email: 'alice@bank.example' },
            },
          ],
          more: false,
        });
      }
      if (url.startsWith('/pd-rest/incidents')) {
        hit('pd rest incidents');
        return json(200, { incidents: [], more: false });
      }
      return json(404, { error: 'unknown stand-in route' });
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    incidents,
    count: (k: string) => hits.get(k) ?? 0,
    close: async () => {
      for (const r of held) r.destroy();
      server.closeAllConnections?.();
      await new Promise<void>(r => server.close(() => r()));
    },
  };
}

export async function upstream() {
  const S = 'upstream';
  const stand = await startStandIn();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-up-'));
  const db = await freshDatabase('rel_up');
  const services = ['svc-00', 'svc-01', 'svc-02', 'svc-03'];
  const pd = (id: string, policy?: string) => ({
    'pagerduty.com/service-id': id,
    ...(policy ? { 'pagerduty.com/escalation-policy-id': policy } : {}),
  });
  const { backend, url } = await startBackend({
    dataDir,
    dbPrefix: db.prefix,
    services,
    annotations: { 'svc-01': pd('PSVC1', 'PPOL1'), 'svc-02': pd('PSVC2'), 'svc-03': pd('PSVC3') },
    extraConfig: {
      releaseManager: {
        slack: {
          webhooks: {
            environments: {
              dev: `${stand.url}/slack/429`,
              staging: `${stand.url}/slack/500`,
              prod: `${stand.url}/slack/timeout`,
            },
            squads: { payments: `${stand.url}/slack/no_team` },
          },
        },
      },
      oncall: {
        pagerduty: {
          apiToken: 'stand-in-token',
          apiBaseUrl: `${stand.url}/pd-rest`,
          eventsBaseUrl: `${stand.url}/pd-events`,
          services: {
            PSVC1: { routingKey: 'rk-flaky', escalationPolicyId: 'PPOL1' },
            PSVC2: { routingKey: 'rk-down' },
            PSVC3: { routingKey: 'rk-slow' },
          },
        },
      },
    },
  });
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  const remote = path.join(dataDir, 'git', 'config.git');
  const releases = async () => Number((await rmDb('rm_releases').count({ c: '*' }))[0].c);
  try {
    const arts = [1, 2, 3, 4].map(n => upload('svc-00', 7000 + n));
    for (const a of arts) {
      const r = await request(url, 'POST', `${RM}/artifacts`, { auth: ALICE, body: a.body });
      assert(r.status === 201, `setup upload: ${r.status} ${errorMessage(r)}`);
    }

    // PagerDuty timeouts take the provider's bounded retries (4 × 10 s + backoff): run alongside.
    const slowTrigger = request(url, 'POST', '/api/oncall/entities/component/default/svc-03/incidents', {
      auth: ALICE,
      body: { description: 'ledger stuck', severity: 'critical' },
      timeoutMs: 90_000,
    }).then(
      r => r,
      e => e as Error,
    );

    // --- Slack ---------------------------------------------------------------
    const envs = ['dev', 'staging', 'prod'];
    const releaseAnswers: { env: string; status: number; changed?: boolean; ms: number; msg: string }[] = [];
    await check(S, 'releases to dev/staging/prod succeed while every Slack webhook fails (429, 500, timeout, 404 no_team)', async () => {
      for (const env of envs) {
        const r = await request(url, 'POST', `${RM}/releases`, {
          auth: ALICE,
          body: { service: 'svc-00', environment: env, artifactId: arts[0].id },
        });
        releaseAnswers.push({ env, status: r.status, changed: r.json?.changed, ms: r.ms, msg: errorMessage(r) });
      }
      const bad = releaseAnswers.filter(a => a.status !== 200 || a.changed !== true);
      assert(bad.length === 0, `blocked: ${bad.map(b => `${b.env} ${b.status} ${b.msg}`).join('; ')}`);
      const slowest = Math.max(...releaseAnswers.map(a => a.ms));
      assert(slowest < 5000, `a release waited ${slowest} ms for notifications`);
      return `answered in ${releaseAnswers.map(a => `${a.env} ${a.ms} ms`).join(', ')}`;
    });
    await check(S, 'Slack retries are bounded (≤ 3 attempts per message; 404 no_team and timeouts included)', async () => {
      // Each release sends one message to its environment's webhook and one to the squad's.
      // Wait until nothing new arrived for 7 s (longer than one 5 s timeout plus the backoff).
      let last = '';
      let stableSince = Date.now();
      for (let i = 0; i < 40 && Date.now() - stableSince < 7000; i++) {
        const now = JSON.stringify([...stand.hits].filter(([k]) => k.startsWith('slack')));
        if (now !== last) stableSince = Date.now();
        last = now;
        await sleep(1000);
      }
      const c = (k: string) => stand.count(`slack ${k}`);
      assert(c('429') >= 1 && c('429') <= 3, `429 webhook hit ${c('429')} times for 1 message`);
      assert(c('500') >= 1 && c('500') <= 3, `500 webhook hit ${c('500')} times for 1 message`);
      assert(c('timeout') >= 1 && c('timeout') <= 3, `timeout webhook hit ${c('timeout')} times for 1 message`);
      assert(c('no_team') >= 3 && c('no_team') <= 9, `no_team webhook hit ${c('no_team')} times for 3 messages`);
      return `hits: 429 ×${c('429')}, 500 ×${c('500')}, timeout ×${c('timeout')}, no_team ×${c('no_team')} (3 messages)`;
    }, 50_000);

    // --- PagerDuty -------------------------------------------------------------
    const trigger = (svc: string, description: string) =>
      request(url, 'POST', `/api/oncall/entities/component/default/${svc}/incidents`, {
        auth: ALICE,
        body: { description, severity: 'critical' },
        timeoutMs: 60_000,
      });
    await check(S, 'PagerDuty Events 429 then 202: the trigger succeeds after one retry', async () => {
      const r = await trigger('svc-01', 'payments failing');
      assert(r.status === 201, `${r.status} ${errorMessage(r)}`);
      const n = stand.count('pd enqueue rk-flaky');
      assert(n === 2, `enqueue hit ${n} times (want 429 + 202 = 2)`);
      return `201 in ${r.ms} ms, 2 enqueue calls`;
    });
    await check(S, 'a double trigger opens no duplicate incident', async () => {
      const r = await trigger('svc-01', 'payments failing');
      assert(r.status === 200 || r.status === 201, `${r.status} ${errorMessage(r)}`);
      const forService = [...stand.incidents.values()].filter(i => i.routingKey === 'rk-flaky');
      assert(forService.length === 1, `${forService.length} incidents at the PagerDuty stand-in`);
      return `${r.status}, deduplicated=${r.json?.deduplicated}; stand-in holds 1 incident (${forService[0].events} events with one dedup_key)`;
    });
    await check(S, 'PagerDuty Events 500s: a clear 5xx after bounded retries', async () => {
      const r = await trigger('svc-02', 'kyc down');
      const n = stand.count('pd enqueue rk-down');
      assert(r.status >= 500 && r.status <= 504, `status ${r.status} ${errorMessage(r)}`);
      assert(/PagerDuty/i.test(errorMessage(r)), `unclear message: ${errorMessage(r)}`);
      assert(n >= 2 && n <= 4, `enqueue hit ${n} times`);
      assert(r.ms < 20_000, `took ${r.ms} ms`);
      return `${r.status} in ${r.ms} ms after ${n} attempts: ${errorMessage(r).slice(0, 100)}`;
    });
    await check(S, 'PagerDuty REST 429 then 200: who is on call still answers', async () => {
      const r = await request(url, 'GET', '/api/oncall/entities/component/default/svc-01/oncall', { auth: ALICE });
      assert(r.status === 200, `${r.status} ${errorMessage(r)}`);
      assert(JSON.stringify(r.json).includes('alice@bank.example'), `on-call person missing: ${r.text.slice(0, 200)}`);
      const n = stand.count('pd rest oncalls');
      assert(n === 2, `/oncalls hit ${n} times`);
      return `200 in ${r.ms} ms, /oncalls hit ${n} times`;
    });
    await check(S, 'PagerDuty Events timeouts: a clear 5xx within a bounded time', async () => {
      const r = await slowTrigger;
      assert(!(r instanceof Error), `no answer: ${(r as Error).message}`);
      const n = stand.count('pd enqueue rk-slow');
      assert(r.status >= 500 && r.status <= 504, `status ${r.status} ${errorMessage(r)}`);
      assert(n >= 1 && n <= 4, `enqueue hit ${n} times`);
      return `${r.status} after ${n} attempts: ${errorMessage(r).slice(0, 100)}`;
    }, 100_000);

    // --- config remote unreachable ------------------------------------------------
    await check(S, 'config remote unreachable: a clear 5xx within a bounded time, nothing written to the database', async () => {
      const before = await releases();
      const head = (await gitOut(remote, ['rev-parse', 'HEAD'])).trim();
      await fs.rename(remote, `${remote}.away`);
      let r;
      try {
        r = await request(url, 'POST', `${RM}/releases`, {
          auth: ALICE,
          body: { service: 'svc-00', environment: 'dev', artifactId: arts[1].id },
          timeoutMs: 60_000,
        });
      } finally {
        await fs.rename(`${remote}.away`, remote);
      }
      assert(r.status >= 500 && r.status <= 504, `status ${r.status} ${errorMessage(r)}`);
      assert(/config repo/i.test(errorMessage(r)), `unclear message: ${errorMessage(r)}`);
      assert(r.ms < 15_000, `took ${r.ms} ms`);
      assert((await releases()) === before, 'a release row was written');
      assert((await gitOut(remote, ['rev-parse', 'HEAD'])).trim() === head, 'the remote moved');
      // Once the remote is back, the same release goes through.
      const again = await request(url, 'POST', `${RM}/releases`, {
        auth: ALICE,
        body: { service: 'svc-00', environment: 'dev', artifactId: arts[1].id },
      });
      assert(again.status === 200 && again.json?.changed === true, `after recovery: ${again.status} ${errorMessage(again)}`);
      return `${r.status} in ${r.ms} ms: ${errorMessage(r).slice(0, 140)}; recovered afterwards`;
    });
  } finally {
    await backend.stop();
    await stand.close();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
