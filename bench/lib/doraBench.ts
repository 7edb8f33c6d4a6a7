/* eslint-disable no-console */
// Issue 14's measured part: DORA metrics over 100,000 production releases in the release index.
// The index (ReleaseManagerStore on SQLite in memory, its real migrations) holds `releases`
// release rows with their artifacts, spread over the last 90 days across `services` services.
// Timed over HTTP against an express app mounting the real DORA router (createDoraRouter →
// DoraService → store query + computeDora): `GET /dora?service=<one>&days=90`, one request at a
// time, services taken round-robin. Baseline in the same run: the same store query's rows sent
// as JSON by a route on the same app (`GET /rows?service=`), i.e. a plain index read without
// the metrics. Incidents come from an in-process source (the on-call backend is not started):
// 1 incident per 50 releases of each service, generated; every 20th release of a service is a rollback.
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import express from 'express';
import knexFactory from 'knex';
import type { DoraIncident } from '../../plugins/release-manager-common/src/dora';
import { ReleaseManagerStore } from '../../plugins/release-manager-backend/src/database/ReleaseManagerStore';
import { DEFAULT_ENVIRONMENTS } from '../../plugins/release-manager-backend/src/config';
import { DoraService } from '../../plugins/release-manager-backend/src/service/DoraService';
import { createDoraRouter } from '../../plugins/release-manager-backend/src/service/doraRouter';
import { stats } from '../../plugins/release-manager-backend/src/bench/promotionBench';

const silent: any = { error() {}, warn() {}, info() {}, debug() {}, child: () => silent };
const DAY = 86_400_000;

export interface DoraBenchOptions {
  releases: number;
  services: number;
  samples: number;
}

export async function runDoraBench(o: DoraBenchOptions) {
  const knex = knexFactory({ client: 'better-sqlite3', connection: ':memory:', useNullAsDefault: true });
  const store = await ReleaseManagerStore.create({
    database: { getClient: async () => knex, migrations: { skip: false } } as any,
  });
  const now = Date.now();
  const names = Array.from({ length: o.services }, (_, i) => `svc-${String(i).padStart(4, '0')}`);
  const incidents = new Map<string, DoraIncident[]>();
  const t0 = performance.now();
  const artifacts: any[] = [];
  const releases: any[] = [];
  for (let i = 0; i < o.releases; i++) {
    const service = names[i % o.services];
    // spread evenly over 90 days, oldest first
    const releasedAt = now - 90 * DAY + Math.floor(((i + 0.5) / o.releases) * 90 * DAY);
    const artifactId = `main-${i.toString(16).padStart(10, '0')}-aaaaaaaaaa`;
    // every service: its every 20th release is a rollback, every 50th is followed by an incident
    const nth = Math.floor(i / o.services);
    const rollback = nth % 20 === 19;
    if (!rollback) {
      artifacts.push({
        service,
        artifact_id: artifactId,
        namespace: 'bench',
        squad: `squad-${i % 10}`,
        branch: 'main',
        sha: i.toString(16).padStart(40, '0'),
        message: 'change',
        author_name: 'Dev',
        author_email: 'dev@bench.local',
        ci_job_url: null,
        created_by: 'external:ci',
        created_at: new Date(releasedAt - 600_000).toISOString(),
        environments: '["prod"]',
        spec: '{}',
        source_committed_at: new Date(releasedAt - 3_600_000 - (i % 7) * 1_800_000).toISOString(),
      });
    }
    releases.push({
      id: i.toString(16).padStart(40, '0'),
      config_repo: 'bench',
      service,
      environment: 'prod',
      namespace: 'bench',
      artifact_id: artifactId,
      intent: rollback ? 'rollback' : 'release',
      released_by: 'alice@bench.local',
      released_at: new Date(releasedAt).toISOString(),
      branch: 'main',
      promoted_from: null,
      rollback_of: null,
      reason: null,
      commit_title: 'bench',
      commit_seq: i,
    });
    if (nth % 50 === 25) {
      const list = incidents.get(service) ?? [];
      list.push({
        id: `inc-${i}`,
        service,
        openedAt: new Date(releasedAt + 3_600_000).toISOString(),
        resolvedAt: new Date(releasedAt + 5_400_000).toISOString(),
      });
      incidents.set(service, list);
    }
  }
  for (let i = 0; i < artifacts.length; i += 500) await knex('rm_artifacts').insert(artifacts.slice(i, i + 500));
  for (let i = 0; i < releases.length; i += 500) await knex('rm_releases').insert(releases.slice(i, i + 500));
  const seedSeconds = Math.round((performance.now() - t0) / 100) / 10;

  const dora = new DoraService({
    store,
    configRepoKey: 'bench',
    environments: DEFAULT_ENVIRONMENTS,
    failureWindowHours: 24,
    ensureSynced: async () => {},
    incidents: { incidentsSince: async service => incidents.get(service) ?? [] },
    logger: silent,
  });
  const app = express();
  app.use(
    await createDoraRouter({
      dora,
      store,
      httpAuth: { credentials: async () => ({}) } as any,
      auth: {} as any,
      catalog: { getEntities: async () => ({ items: [] }) } as any,
      logger: silent,
    }),
  );
  app.get('/rows', async (req, res) => {
    const service = String(req.query.service);
    res.json(await store.doraReleases('bench', [service], ['prod'], new Date(now - 91 * DAY).toISOString()));
  });
  const server = http.createServer(app);
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const get = async (url: string) => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  // warm up both paths
  for (let i = 0; i < 5; i++) {
    await get(`${base}/dora?service=${names[i]}&days=90`);
    await get(`${base}/rows?service=${names[i]}`);
  }
  const doraMs: number[] = [];
  const rowsMs: number[] = [];
  let perService = 0;
  let deployments = 0;
  for (let i = 0; i < o.samples; i++) {
    const service = names[i % names.length];
    // interleaved, alternating order: load spikes hit both alike
    const order = i % 2 === 0 ? ['dora', 'rows'] : ['rows', 'dora'];
    for (const which of order) {
      const s = performance.now();
      if (which === 'dora') {
        const report = await get(`${base}/dora?service=${service}&days=90`);
        deployments = report.metrics.deploymentFrequency.deployments;
        doraMs.push(performance.now() - s);
      } else {
        perService = (await get(`${base}/rows?service=${service}`)).length;
        rowsMs.push(performance.now() - s);
      }
    }
  }
  // a squad page: the services whose artifacts name squad-0 (a tenth of all)
  const squadMs: number[] = [];
  for (let i = 0; i < Math.max(5, Math.floor(o.samples / 10)); i++) {
    const s = performance.now();
    await get(`${base}/dora?squad=squad-${i % 10}&days=90`);
    squadMs.push(performance.now() - s);
  }
  await new Promise(r => server.close(() => r(undefined)));
  await knex.destroy();
  return {
    releases: o.releases,
    services: o.services,
    releasesPerService: perService,
    deploymentsPerService: deployments,
    seedSeconds,
    dora: stats(doraMs),
    baseline: stats(rowsMs),
    squad: { ...stats(squadMs), services: o.services / 10 },
  };
}
