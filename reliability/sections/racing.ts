// Racing replicas: two backend processes on one PostgreSQL database and one config remote,
// an outside committer pushing every 100 ms, N promotions across M services.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { runGit } from '@devplane/plugin-git-host-node';
import { assert, check, counters, errorMessage, freshDatabase, gitOut, request, sleep } from '../lib/harness';
import { upload } from '../lib/fixtures';
import { dbAgreesWithGit, releaseCommits, startReplica } from '../lib/replicas';

const ALICE = mockCredentials.user.header('user:default/alice');

/** Pushes an unrelated file every 100 ms until stopped (bounded: at most `max` commits). */
export function outsideCommitter(remote: string, dir: string, max = 3000) {
  let stop = false;
  let pushed = 0;
  let rejected = 0;
  const done = (async () => {
    await runGit(['clone', '--quiet', remote, dir]);
    await runGit(['config', 'user.email', 'outsider@bank.example'], { cwd: dir });
    await runGit(['config', 'user.name', 'Outsider'], { cwd: dir });
    for (let i = 0; i < max && !stop; i++) {
      await fs.mkdir(path.join(dir, 'outside'), { recursive: true });
      await fs.writeFile(path.join(dir, 'outside', `note-${i}.txt`), `outside commit ${i}\n`);
      await runGit(['add', '-A'], { cwd: dir });
      await runGit(['commit', '--quiet', '-m', `outside commit ${i}`], { cwd: dir });
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          await runGit(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: dir });
          pushed++;
          break;
        } catch {
          rejected++;
          await runGit(['pull', '--quiet', '--rebase', 'origin', 'main'], { cwd: dir });
        }
      }
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      stop = true;
      await done;
      return { pushed, rejected };
    },
  };
}

export async function racing(options: { promotions: number; services: number }) {
  const S = 'racing replicas';
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-race-'));
  const db = await freshDatabase('rel_race');
  const remote = path.join(dataDir, 'git', 'config.git');
  const a = await startReplica({ dataDir, dbPrefix: db.prefix, services: options.services });
  const b = await startReplica({ dataDir, dbPrefix: db.prefix, services: options.services });
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  try {
    const services = Array.from({ length: options.services }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    const plan = Array.from({ length: options.promotions }, (_, i) => {
      const service = services[i % services.length];
      return { service, environment: ['dev', 'staging'][Math.floor(i / services.length) % 2], art: upload(service, 1000 + i) };
    });
    // Uploads alternate between the replicas.
    for (let i = 0; i < plan.length; i += 10) {
      await Promise.all(
        plan.slice(i, i + 10).map(async (p, k) => {
          const r = await request([a, b][k % 2].url, 'POST', '/api/release-manager/artifacts', { auth: ALICE, body: p.art.body });
          if (r.status !== 201) throw new Error(`upload ${p.art.id}: ${r.status} ${errorMessage(r)}`);
        }),
      );
    }
    const committer = outsideCommitter(remote, path.join(dataDir, 'outsider'));
    const answers: { status: number; changed?: boolean; msg: string }[] = [];
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, c) => {
        while (next < plan.length) {
          const idx = next++;
          const p = plan[idx];
          const r = await request([a, b][c % 2].url, 'POST', '/api/release-manager/releases', {
            auth: ALICE,
            body: { service: p.service, environment: p.environment, artifactId: p.art.id },
            timeoutMs: 120_000,
          });
          answers[idx] = { status: r.status, changed: r.json?.changed, msg: errorMessage(r) };
        }
      }),
    );
    const wall = Date.now() - t0;
    const outside = await committer.stop();
    const commits = await releaseCommits(remote);

    await check(S, `${plan.length} promotions across ${services.length} services on 2 replicas answered 200/changed`, async () => {
      const bad = answers.filter(x => x.status !== 200 || x.changed !== true);
      assert(bad.length === 0, `${bad.length} failed, e.g. ${bad[0]?.status} ${bad[0]?.msg}`);
      return `${(plan.length / (wall / 1000)).toFixed(1)}/s; outside committer pushed ${outside.pushed} commits (${outside.rejected} rejected pushes)`;
    });
    await check(S, 'nothing lost or duplicated (one release commit per promotion)', async () => {
      // lost = answered 200 but no commit; rejected = answered an error (told, not silently lost).
      let lost = 0;
      let dup = 0;
      let rejected = 0;
      plan.forEach((p, i) => {
        const n = commits.filter(c => c.artifactId === p.art.id && c.service === p.service && c.environment === p.environment).length;
        if (answers[i]?.status !== 200) {
          rejected++;
          if (n > 0) dup++; // an error answer must not have written anything
        } else if (n === 0) lost++;
        if (n > 1) dup++;
      });
      counters.lostUpdates += lost;
      counters.duplicates += dup;
      assert(lost === 0 && dup === 0 && rejected === 0, `${lost} lost (200 without commit), ${dup} duplicated/written despite an error, ${rejected} rejected with an error`);
      const files = (await gitOut(remote, ['ls-tree', '--name-only', 'HEAD', 'outside/'])).split('\n').filter(Boolean).length;
      assert(files === outside.pushed, `outside files ${files} != pushed ${outside.pushed}`);
      counters.lostUpdates += Math.max(0, outside.pushed - files);
      return `${commits.length} release commits; ${files} outside files kept`;
    });
    await check(S, 'history linear (git rev-list --merges empty)', async () => {
      const merges = (await gitOut(remote, ['rev-list', '--merges', 'HEAD'])).trim();
      assert(merges === '', `merge commits: ${merges.split('\n').length}`);
    });
    await check(S, 'every release commit carries its trailers', async () => {
      const bad = commits.filter(c => c.missingTrailers.length);
      assert(bad.length === 0, `${bad.length} commits missing trailers, e.g. ${bad[0]?.title}: ${bad[0]?.missingTrailers}`);
    });
    await check(S, 'the database agrees with git', async () => {
      let diff: string | undefined;
      for (let i = 0; i < 40; i++) {
        diff = await dbAgreesWithGit(rmDb, remote);
        if (!diff) return;
        await sleep(1000);
      }
      throw new Error(diff);
    }, 60_000);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
