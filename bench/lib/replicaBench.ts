// Two replicas on separate data directories, one PostgreSQL, one config remote: release throughput
// with `clientsPerReplica` clients on each replica, every client releasing its own service (distinct
// services), against one replica with the same number of clients per replica as the baseline.
// Also checked: 0 lost, 0 duplicated, linear history.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { freshDatabase, gitOut, request } from '../../reliability/lib/harness';
import { upload } from '../../reliability/lib/fixtures';
import { releaseCommits, Replica, sharedSigningKey, startReplica } from '../../reliability/lib/replicas';
import { initRemote } from '../../reliability/sections/racing';

const ALICE = mockCredentials.user.header('user:default/alice');

export interface ThroughputRun {
  replicas: number;
  clients: number;
  releases: number;
  seconds: number;
  perSecond: number;
  errors: number;
  lost: number;
  duplicated: number;
  linear: boolean;
}

async function run(replicaCount: number, clientsPerReplica: number, releasesPerClient: number): Promise<ThroughputRun> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-replicas-'));
  const db = await freshDatabase('bench_rep');
  const remote = path.join(root, 'remote', 'config.git');
  await initRemote(remote);
  const clients = replicaCount * clientsPerReplica;
  const replicas: Replica[] = [];
  const signing = await sharedSigningKey(root);
  try {
    for (let i = 0; i < replicaCount; i++) {
      replicas.push(
        await startReplica({
          dataDir: path.join(root, `replica-${i}`),
          dbPrefix: db.prefix,
          services: clients,
          extraConfig: { releaseManager: { configRepo: { url: remote, branch: 'main' }, signing } },
        }),
      );
    }
    const services = Array.from({ length: clients }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    // Artifacts first (not timed), uploaded to the replica that will release them.
    const plan = services.map((service, c) =>
      Array.from({ length: releasesPerClient }, (_, k) => ({ service, art: upload(service, 10_000 + c * 1000 + k) })),
    );
    for (let c = 0; c < clients; c++) {
      const url = replicas[c % replicaCount].url;
      for (const p of plan[c]) {
        const r = await request(url, 'POST', '/api/release-manager/artifacts', { auth: ALICE, body: p.art.body });
        if (r.status !== 201) throw new Error(`upload ${p.art.id}: ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
    const answers: { service: string; id: string; ok: boolean }[] = [];
    // REPLICA_CPU_PROF_WINDOW_DIR (replica.ts): profile the replicas during the timed phase only.
    const profileWindow = () => {
      if (process.env.REPLICA_CPU_PROF_WINDOW_DIR) for (const r of replicas) r.proc.kill('SIGUSR2');
    };
    profileWindow();
    const t0 = Date.now();
    await Promise.all(
      plan.map(async (releases, c) => {
        const url = replicas[c % replicaCount].url;
        for (const p of releases) {
          const r = await request(url, 'POST', '/api/release-manager/releases', {
            auth: ALICE,
            body: { service: p.service, environment: 'dev', artifactId: p.art.id },
            timeoutMs: 120_000,
          });
          answers.push({ service: p.service, id: p.art.id, ok: r.status === 200 && r.json?.changed === true });
        }
      }),
    );
    const seconds = (Date.now() - t0) / 1000;
    profileWindow();
    if (process.env.REPLICA_CPU_PROF_WINDOW_DIR) await new Promise(res => setTimeout(res, 2000));
    const commits = await releaseCommits(remote);
    let lost = 0;
    let duplicated = 0;
    for (const a of answers) {
      const n = commits.filter(c => c.service === a.service && c.artifactId === a.id && c.environment === 'dev').length;
      if (a.ok && n === 0) lost++;
      if (n > 1 || (!a.ok && n > 0)) duplicated++;
    }
    const merges = (await gitOut(remote, ['rev-list', '--merges', 'HEAD'])).trim();
    const ok = answers.filter(a => a.ok).length;
    return {
      replicas: replicaCount,
      clients,
      releases: answers.length,
      seconds,
      perSecond: ok / seconds,
      errors: answers.length - ok,
      lost,
      duplicated,
      linear: merges === '',
    };
  } finally {
    await Promise.all(replicas.map(r => r.stop()));
    await db.drop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

/** Baseline (one replica) and the measured run (two replicas on separate data directories). */
export async function runReplicaBench(options: { clientsPerReplica: number; releasesPerClient: number }) {
  const baseline = await run(1, options.clientsPerReplica, options.releasesPerClient);
  const measured = await run(2, options.clientsPerReplica, options.releasesPerClient);
  return { baseline, measured };
}
