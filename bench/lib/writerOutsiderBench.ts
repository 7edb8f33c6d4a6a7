// The config repo writer against a continuous outside committer (issue 12): two GitOpsWriters
// (separate clones and database connections, as two replicas have; one PostgreSQL advisory push
// lock, as plugin.ts wires it on PostgreSQL), each signing its commits and asking the release
// manager's outside-change gate (HistoryReader.assertWritable and gatedPath on its own clone, as
// ReleaseManager wires them), `clients` concurrent writers each releasing its own service, while an outsider pushes
// an unrelated unsigned commit every `everyMs` to the same bare remote (the racing section's
// outside committer). Baseline: the same writes in the same run without the outsider.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase, gitOut } from '../../reliability/lib/harness';
import { sharedSigningKey } from '../../reliability/lib/replicas';
import { initRemote, outsideCommitter } from '../../reliability/sections/racing';
import { GitOpsWriter } from '../../plugins/release-manager-backend/src/git/GitOpsWriter';
import { PostgresAdvisoryLock } from '../../plugins/release-manager-backend/src/git/PushLock';
import { OpenPgpCommitSigner } from '../../plugins/release-manager-backend/src/git/Signer';
import { gatedPath, HistoryReader } from '../../plugins/release-manager-backend/src/history/HistoryReader';

export interface WriterOutsiderRun {
  outsiderEveryMs?: number;
  releases: number;
  seconds: number;
  perSecond: number;
  failed: number;
  /** First failure messages (distinct). */
  failures: string[];
  pushes: number;
  rejectedPushes: number;
  outsidePushed: number;
  outsideRejected: number;
  lost: number;
  linear: boolean;
}

async function run(o: {
  releases: number;
  clientsPerWriter: number;
  outsiderEveryMs?: number;
  privateKey: string;
}): Promise<WriterOutsiderRun> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-writer-outsider-'));
  const remote = path.join(root, 'config.git');
  await initRemote(remote);
  const signer = OpenPgpCommitSigner.fromSecretKey(o.privateKey);
  const db = await freshDatabase('bench_wo');
  const writers = await Promise.all(
    ['a', 'b'].map(async name => {
      const pushLock = new PostgresAdvisoryLock(db.knexFor(db.name), `release-manager:config-repo:${remote}#main`);
      const w = await GitOpsWriter.create({ workDir: path.join(root, name), remoteUrl: remote, pushLock });
      const reader = new HistoryReader({ cwd: w.workDir, ref: w.originRef, signer, resolveRef: ref => w.resolveRef(ref) });
      w.configureTrust({ signer, gate: tip => reader.assertWritable(tip), gatedPath });
      return w;
    }),
  );
  const outsider = o.outsiderEveryMs ? outsideCommitter(remote, path.join(root, 'outsider'), 100_000, o.outsiderEveryMs) : undefined;
  try {
    // Let the outsider get going before the writers start.
    if (outsider) await new Promise(r => setTimeout(r, 1000));
    const clients = writers.length * o.clientsPerWriter;
    const failures: string[] = [];
    let next = 0;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const w = writers[c % writers.length];
        while (next < o.releases) {
          const i = next++;
          const rel = `dev/releases/ns/svc-${String(c).padStart(2, '0')}/artifact.json`;
          try {
            await w.write({
              apply: async tree => {
                await tree.writeFile(rel, `{"id":"build-${i}"}\n`);
                return {
                  result: i,
                  commit: { message: `[dev] release svc-${c} build-${i}\n\nService: svc-${c}\n`, paths: [rel] },
                };
              },
            });
          } catch (e: any) {
            failures.push(String(e?.message ?? e).slice(0, 160));
          }
        }
      }),
    );
    const seconds = (Date.now() - t0) / 1000;
    const outside = outsider ? await outsider.stop() : { pushed: 0, rejected: 0 };
    const log = (await gitOut(remote, ['log', '--format=%s', 'main'])).split('\n');
    const landed = log.filter(s => s.startsWith('[dev] release ')).length;
    const merges = (await gitOut(remote, ['rev-list', '--merges', 'main'])).trim();
    const ok = o.releases - failures.length;
    return {
      outsiderEveryMs: o.outsiderEveryMs,
      releases: o.releases,
      seconds,
      perSecond: ok / seconds,
      failed: failures.length,
      failures: [...new Set(failures)].slice(0, 3),
      pushes: writers.reduce((n, w) => n + w.stats.pushes, 0),
      rejectedPushes: writers.reduce((n, w) => n + w.stats.rejectedPushes, 0),
      outsidePushed: outside.pushed,
      outsideRejected: outside.rejected,
      lost: Math.max(0, ok - landed),
      linear: merges === '',
    };
  } finally {
    await outsider?.stop().catch(() => undefined);
    for (const w of writers) w.close();
    await db.drop();
    await fs.rm(root, { recursive: true, force: true });
  }
}

/** Baseline (no outsider) and the measured run (outsider every `everyMs`), same writers and load. */
export async function runWriterOutsiderBench(options: {
  releases: number;
  clientsPerWriter: number;
  everyMs: number;
  /** Only the run with the outsider (to profile the writer). */
  skipBaseline?: boolean;
}) {
  const keyDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-writer-key-'));
  try {
    const { privateKey } = await sharedSigningKey(keyDir);
    const common = { releases: options.releases, clientsPerWriter: options.clientsPerWriter, privateKey };
    const baseline = options.skipBaseline ? undefined : await run(common);
    const measured = await run({ ...common, outsiderEveryMs: options.everyMs });
    return { baseline, measured };
  } finally {
    await fs.rm(keyDir, { recursive: true, force: true });
  }
}
