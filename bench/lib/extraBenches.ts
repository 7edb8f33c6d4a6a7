/* eslint-disable no-console */
// Benches that the plugins do not ship themselves, built on the plugins' own code:
// artifact listing (ReleaseManagerStore),
// on-call upstream calls through the real oncall-backend route. Used by scripts/bench-all.js.
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import knexFactory, { Knex } from 'knex';
import { ReleaseManagerStore } from '../../plugins/release-manager-backend/src/database/ReleaseManagerStore';
import { oncallPlugin } from '../../plugins/oncall-backend/src/plugin';
import {
  REST_TOKEN,
  ROUTING_KEY,
  pdOnCall,
  startFakePagerDuty,
} from '../../plugins/oncall-backend/src/__testUtils__/fakePagerDuty';

const round = (n: number) => Math.round(n * 100) / 100;
export function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const noopServices = [
  createServiceFactory({ service: notificationService, deps: {}, factory: () => ({ send: async () => {} }) }),
  createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
];

export const PG_URL = process.env.DEVPLANE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';

/** Creates a fresh PostgreSQL database; returns its knex config, or undefined when unreachable. */
export async function freshPostgres(prefix: string): Promise<{ connection: string; drop: () => Promise<void> } | undefined> {
  const admin = knexFactory({ client: 'pg', connection: `${PG_URL}/postgres`, pool: { min: 0, max: 1 } });
  const name = `${prefix}_${Date.now().toString(36)}_${process.pid}`;
  try {
    await admin.raw(`CREATE DATABASE "${name}"`);
  } catch (e) {
    await admin.destroy();
    console.warn(`PostgreSQL unavailable (${(e as Error).message}); skipping`);
    return undefined;
  }
  return {
    connection: `${PG_URL}/${name}`,
    drop: async () => {
      await admin.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
      await admin.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Artifact listing with N artifacts in the store.

export interface ListingBenchResult {
  database: string;
  artifacts: number;
  pageSize: number;
  samples: number;
  baseline: { p50Ms: number; p99Ms: number };
  firstPage: { p50Ms: number; p99Ms: number };
  deepPage: { p50Ms: number; p99Ms: number };
  branchFilter: { p50Ms: number; p99Ms: number };
}

export async function runListingBench(options: {
  artifacts?: number;
  samples?: number;
  pageSize?: number;
  database: 'sqlite' | 'postgres';
}): Promise<ListingBenchResult | undefined> {
  const total = options.artifacts ?? 10_000;
  const samples = options.samples ?? 200;
  const pageSize = options.pageSize ?? 50;
  let knex: Knex;
  let drop = async () => {};
  if (options.database === 'postgres') {
    const pg = await freshPostgres('rm_listing_bench');
    if (!pg) return undefined;
    knex = knexFactory({ client: 'pg', connection: pg.connection, pool: { min: 1, max: 5 } });
    drop = pg.drop;
  } else {
    knex = knexFactory({ client: 'better-sqlite3', connection: ':memory:', useNullAsDefault: true });
  }
  try {
    const store = await ReleaseManagerStore.create({
      database: { getClient: async () => knex, migrations: { skip: false } } as any,
    });
    // 10,000 artifacts of one service (the worst case for its listing) + 1,000 of another.
    const mk = (service: string, i: number) => {
      const sha = i.toString(16).padStart(10, '0').padEnd(40, 'c');
      const branch = i % 10 === 0 ? 'feature-x' : 'main';
      return {
        spec: {
          id: `${branch}-${sha.slice(0, 10)}-bbbbbbbbbb`,
          service,
          namespace: 'bench',
          squad: 'payments',
          application: { branch, sha, authorName: 'Dev', authorEmail: 'dev@bench.local', message: `build ${i}`, name: service },
        },
        environments: ['dev', 'staging', 'prod'],
        createdBy: 'external:ci',
      } as any;
    };
    const work: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < total; i++) work.push(() => store.insertArtifact(mk('listed', i)));
    for (let i = 0; i < 1000; i++) work.push(() => store.insertArtifact(mk('other', i)));
    for (let i = 0; i < work.length; i += 50) await Promise.all(work.slice(i, i + 50).map(f => f()));

    const time = async (fn: () => Promise<unknown>) => {
      const out: number[] = [];
      for (let i = 0; i < samples + 5; i++) {
        const t0 = performance.now();
        await fn();
        if (i >= 5) out.push(performance.now() - t0);
      }
      return { p50Ms: round(pct(out, 50)), p99Ms: round(pct(out, 99)) };
    };
    // Baseline: the same page as one raw indexed query, without the count and row mapping.
    const baseline = await time(() =>
      knex('rm_artifacts').where({ service: 'listed' }).orderBy('seq', 'desc').limit(pageSize + 1),
    );
    const firstPage = await time(() => store.listArtifacts('listed', { limit: pageSize }));
    // A cursor 100 pages deep.
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      cursor = (await store.listArtifacts('listed', { limit: pageSize, cursor })).nextCursor;
    }
    const deepPage = await time(() => store.listArtifacts('listed', { limit: pageSize, cursor }));
    const branchFilter = await time(() => store.listArtifacts('listed', { limit: pageSize, branch: 'feature-x' }));
    const check = await store.listArtifacts('listed', { limit: pageSize });
    if (check.items.length !== pageSize || check.total !== total) {
      throw new Error(`listing returned ${check.items.length} items of ${check.total}, expected ${pageSize} of ${total}`);
    }
    return {
      database: options.database === 'postgres' ? 'PostgreSQL' : 'SQLite',
      artifacts: total,
      pageSize,
      samples,
      baseline,
      firstPage,
      deepPage,
      branchFilter,
    };
  } finally {
    await knex.destroy();
    await drop();
  }
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// On-call: page views through the real route, PagerDuty stand-in counting upstream calls.

export async function runOncallBench(options: { views?: number; seconds?: number; policies?: number }) {
  const views = options.views ?? 1000;
  const seconds = options.seconds ?? 60;
  const policies = options.policies ?? 3;
  const pd = await startFakePagerDuty();
  const entities: any[] = [];
  for (let p = 0; p < policies; p++) {
    const id = `PPOL${p}`;
    pd.oncalls[id] = [pdOnCall({ level: 1, userId: `PUSER${p}`, name: `User ${p}`, start: null, policyId: id })];
    // Two services per policy: the cache is per escalation policy, not per page.
    for (const n of [0, 1]) {
      entities.push({
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: {
          name: `svc-${p}-${n}`,
          namespace: 'default',
          annotations: {
            'pagerduty.com/escalation-policy-id': id,
            'pagerduty.com/service-id': `PSVC${p}`,
          },
        },
        spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
        relations: [{ type: 'ownedBy', targetRef: 'group:default/payments' }],
      });
    }
  }
  const backend = await startTestBackend({
    features: [
      oncallPlugin,
      mockServices.rootConfig.factory({
        data: {
          oncall: {
            pagerduty: {
              apiToken: REST_TOKEN,
              apiBaseUrl: pd.url,
              eventsBaseUrl: pd.url,
              services: Object.fromEntries(
                Array.from({ length: policies }, (_, p) => [`PSVC${p}`, { routingKey: ROUTING_KEY }]),
              ),
            },
          },
        },
      }),
      catalogServiceMock.factory({ entities }),
      ...noopServices,
    ],
  });
  try {
    const port = (backend.server.address() as AddressInfo).port;
    const header = mockCredentials.user.header('user:default/alice');
    const latencies: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < views; i++) {
      const due = t0 + (i / views) * seconds * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise(r => setTimeout(r, wait));
      const e = entities[i % entities.length];
      inflight.push(
        (async () => {
          const s = performance.now();
          const res = await fetch(
            `http://127.0.0.1:${port}/api/oncall/entities/component/default/${e.metadata.name}/oncall`,
            { headers: { Authorization: header }, signal: AbortSignal.timeout(10_000) },
          ).catch(() => undefined);
          if (!res || res.status !== 200) errors++;
          else await res.json();
          latencies.push(performance.now() - s);
        })(),
      );
    }
    await Promise.all(inflight);
    const wallMs = performance.now() - t0;
    const oncallCalls = pd.calls.filter(c => c.path === '/oncalls');
    const perPolicy = Array.from({ length: policies }, (_, p) =>
      oncallCalls.filter(c => c.query.get('escalation_policy_ids[]') === `PPOL${p}`).length,
    );
    const minutes = wallMs / 60_000;
    return {
      views,
      seconds: Math.round(wallMs / 1000),
      policies,
      services: entities.length,
      errors,
      upstreamOncallCalls: oncallCalls.length,
      upstreamIncidentCalls: pd.calls.filter(c => c.path === '/incidents').length,
      perPolicy,
      maxPerPolicyPerMinute: round(Math.max(...perPolicy) / Math.max(1, minutes)),
      // Without a cache every view would cost one /oncalls call.
      uncachedCalls: views,
      p50Ms: round(pct(latencies, 50)),
      p99Ms: round(pct(latencies, 99)),
    };
  } finally {
    await backend.stop();
    await pd.close();
  }
}
