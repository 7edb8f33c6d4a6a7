// Crash: kill -9 a backend replica process in the middle of releases and promotions, N times at
// random points. After each restart: the config remote passes `git fsck`, no release directory
// is half-written, the database is reconciled from git, and every promotion that was in flight
// when the process died, retried with the same body, is a no-op or completes exactly once.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { assert, check, counters, errorMessage, freshDatabase, gitOut, request, Res, sleep } from '../lib/harness';
import { upload } from '../lib/fixtures';
import { dbAgreesWithGit, fsck, releaseCommits, Replica, startReplica } from '../lib/replicas';

const ALICE = mockCredentials.user.header('user:default/alice');
const RM = '/api/release-manager';

/** Every `<env>/releases/<ns>/<service>/` holds artifact.json and the manifests of that one artifact. */
export async function halfWrittenReleases(remote: string): Promise<string[]> {
  const files = (await gitOut(remote, ['ls-tree', '-r', '--name-only', 'HEAD']))
    .split('\n')
    .filter(f => /^[^/]+\/releases\/[^/]+\/[^/]+\//.test(f));
  const dirs = new Map<string, string[]>();
  for (const f of files) {
    const dir = f.split('/').slice(0, 4).join('/');
    dirs.set(dir, [...(dirs.get(dir) ?? []), f.slice(dir.length + 1)]);
  }
  const bad: string[] = [];
  for (const [dir, names] of dirs) {
    if (!names.includes('artifact.json')) {
      bad.push(`${dir}: no artifact.json (${names.join(', ')})`);
      continue;
    }
    let id = '';
    try {
      id = JSON.parse(await gitOut(remote, ['cat-file', 'blob', `HEAD:${dir}/artifact.json`])).id;
    } catch (e: any) {
      bad.push(`${dir}: artifact.json unreadable (${e?.message})`);
      continue;
    }
    const manifests = names.filter(n => n !== 'artifact.json');
    if (manifests.length === 0) bad.push(`${dir}: no manifests for ${id}`);
    for (const m of manifests) {
      const text = await gitOut(remote, ['cat-file', 'blob', `HEAD:${dir}/${m}`]);
      if (!text.includes(`:${id}\n`)) bad.push(`${dir}/${m}: not the manifest of ${id}`);
    }
  }
  return bad;
}

type Job = { kind: 'release' | 'promotion'; service: string; environment: string; artifactId: string; body: any };

export async function crash(options: { kills: number; services: number }) {
  const S = 'crash';
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-crash-'));
  const db = await freshDatabase('rel_crash');
  const remote = path.join(dataDir, 'git', 'config.git');
  const env = { dataDir, dbPrefix: db.prefix, services: options.services };
  let replica: Replica = await startReplica(env);
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  const services = Array.from({ length: options.services }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
  const stats = { kills: 0, inFlight: 0, retriedNoop: 0, retriedOnce: 0, answeredBeforeKill: 0 };
  const started = Date.now();
  const waitForAgreement = async () => {
    let diff: string | undefined;
    for (let i = 0; i < 45; i++) {
      diff = await dbAgreesWithGit(rmDb, remote);
      if (!diff) break;
      await sleep(1000);
    }
    return diff;
  };
  try {
    // Round r: odd rounds release a fresh artifact of every service to dev; even rounds promote
    // dev → staging. Artifacts are uploaded before the kills start.
    const releaseRounds = Math.ceil(options.kills / 2);
    const arts = new Map<string, ReturnType<typeof upload>>();
    for (let r = 0; r < releaseRounds; r++) {
      await Promise.all(
        services.map(async (service, k) => {
          const art = upload(service, 5000 + r * 100 + k);
          arts.set(`${r}/${service}`, art);
          const res = await request(replica.url, 'POST', `${RM}/artifacts`, { auth: ALICE, body: art.body });
          if (res.status !== 201) throw new Error(`upload ${art.id}: ${res.status} ${errorMessage(res)}`);
        }),
      );
    }
    const devRuns = new Map<string, string>();
    for (let round = 0; round < options.kills; round++) {
      if (Date.now() - started > 9 * 60_000) {
        await check(S, `kill ${round + 1}..${options.kills}`, async () => {
          throw new Error('section time budget (9 min) used up');
        });
        break;
      }
      const jobs: Job[] = services.map(service => {
        if (round % 2 === 0) {
          const art = arts.get(`${round / 2}/${service}`)!;
          return {
            kind: 'release',
            service,
            environment: 'dev',
            artifactId: art.id,
            body: { service, environment: 'dev', artifactId: art.id },
          };
        }
        return {
          kind: 'promotion',
          service,
          environment: 'staging',
          artifactId: devRuns.get(service) ?? '',
          body: { service, fromEnvironment: 'dev', toEnvironment: 'staging' },
        };
      });
      // Fire all, kill -9 at a random point while they run.
      const answers: (Res | Error)[] = [];
      const inFlight = jobs.map((j, i) =>
        request(replica.url, 'POST', `${RM}/${j.kind === 'release' ? 'releases' : 'promotions'}`, {
          auth: ALICE,
          body: j.body,
          timeoutMs: 60_000,
        }).then(
          r => void (answers[i] = r),
          e => void (answers[i] = e),
        ),
      );
      // kill points stratified over the 10-610 ms window (round k of n lands in its own 1/n slice,
      // at a random point inside it): before, during and after the writes are all hit, whatever n is
      await sleep(10 + ((round + Math.random()) / options.kills) * 600);
      replica.proc.kill('SIGKILL');
      stats.kills++;
      await Promise.all(inFlight);
      await new Promise<void>(res => (replica.proc.exitCode !== null || replica.proc.signalCode !== null ? res() : replica.proc.once('exit', () => res())));
      replica = await startReplica(env);

      await check(S, `kill ${round + 1}/${options.kills} (${round % 2 ? 'promotions dev→staging' : 'releases to dev'})`, async () => {
        // 1. the remote is intact
        try {
          await fsck(remote);
        } catch (e: any) {
          counters.corruptions++;
          throw new Error(`git fsck failed: ${e?.message}`);
        }
        // 2. no half-written release
        const half = await halfWrittenReleases(remote);
        counters.corruptions += half.length;
        assert(half.length === 0, `half-written: ${half.slice(0, 3).join('; ')}`);
        // 3. the database is reconciled from git (the restarted replica's sync)
        const diff = await waitForAgreement();
        assert(!diff, diff ?? '');
        // 4. every answered 200 landed exactly once; in-flight ones are retried with the same body
        const answered = answers.filter(a => !(a instanceof Error) && a.status === 200).length;
        stats.answeredBeforeKill += answered;
        const retried: string[] = [];
        for (const [i, j] of jobs.entries()) {
          const a = answers[i];
          if (!(a instanceof Error) && a.status === 200) continue;
          stats.inFlight++;
          const r = await request(replica.url, 'POST', `${RM}/${j.kind === 'release' ? 'releases' : 'promotions'}`, {
            auth: ALICE,
            body: j.body,
            timeoutMs: 60_000,
          });
          assert(r.status === 200, `retry of ${j.kind} ${j.service}: ${r.status} ${errorMessage(r)}`);
          if (r.json?.changed === false) stats.retriedNoop++;
          else stats.retriedOnce++;
          retried.push(`${j.service}:${r.json?.changed ? 'done' : 'no-op'}`);
        }
        const commits = await releaseCommits(remote);
        for (const j of jobs) {
          const artifactId = j.kind === 'release' ? j.artifactId : devRuns.get(j.service)!;
          const n = commits.filter(c => c.service === j.service && c.environment === j.environment && c.artifactId === artifactId).length;
          if (n === 0) counters.lostUpdates++;
          if (n > 1) counters.duplicates++;
          assert(n === 1, `${j.service} ${j.environment} ${artifactId}: ${n} release commits (want exactly 1)`);
          if (j.kind === 'release') devRuns.set(j.service, j.artifactId);
        }
        // 5. and the database still agrees after the retries
        const after = await waitForAgreement();
        assert(!after, after ?? '');
        return `${answered} answered before the kill, ${retried.length} retried (${retried.filter(x => x.endsWith('no-op')).length} no-op)`;
      }, 120_000);
    }
    await check(S, `${stats.kills} kill -9 in total`, async () => {
      assert(stats.kills === options.kills, `only ${stats.kills} of ${options.kills} kills ran`);
      const merges = (await gitOut(remote, ['rev-list', '--merges', 'HEAD'])).trim();
      assert(merges === '', 'merge commits in the config repo');
      return `${stats.answeredBeforeKill} answered before a kill; ${stats.inFlight} in flight at a kill, retried: ${stats.retriedNoop} no-op (already done), ${stats.retriedOnce} completed once`;
    });
  } finally {
    await replica.stop();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
