/* eslint-disable no-console */
// Issue 12's measured part on a large config repo (10,000 services × 3 environments by default):
// - promotion latency at 0 / 20,000 / 100,000 commits of signed release history against a raw
//   git write+commit+push on an identical copy of the same repo, samples interleaved;
// - the working clone's size and the engine's memory after 10,000 releases;
// - the index rebuilt from the history: time, state identical field by field, nothing written.
// The engine runs in this process (no HTTP): store on SQLite in memory, DatabaseBlobStore, the
// real GitOpsWriter, HistoryReader, GitSync and ReleaseService.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runGit } from '@devplane/plugin-git-host-node';
import { DEFAULT_ENVIRONMENTS } from '../../plugins/release-manager-backend/src/config';
import { OpenPgpCommitSigner } from '../../plugins/release-manager-backend/src/git/Signer';
import { Actor } from '../../plugins/release-manager-backend/src/service/ReleaseManager';
import {
  BenchEngine,
  countGitProcesses,
  startBenchEngine,
  stats,
} from '../../plugins/release-manager-backend/src/bench/promotionBench';
import {
  artifactJson,
  BenchService,
  benchUpload,
  generateSignedHistory,
  GeneratedRepo,
} from './signedHistory';

const round = (n: number) => Math.round(n * 10) / 10;

const ALICE: Actor = { ref: 'user:default/alice', email: 'alice@bench.local' };
const CI: Actor = { ref: 'external:ci', email: 'ci@bench.local' };

/** One bench workspace per process: the key and the generated repos are reused across benches. */
let workspace: { root: string; signer: OpenPgpCommitSigner; repos: Map<string, GeneratedRepo> } | undefined;
export async function ws() {
  if (!workspace) {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-history-'));
    const signer = await OpenPgpCommitSigner.fromGnupgHome({
      gnupgHome: path.join(root, 'gnupg'),
      name: 'Release Manager',
      email: 'release-manager@devplane.local',
    });
    workspace = { root, signer, repos: new Map() };
    process.once('exit', () => {
      // Best effort: the benches remove what they made; this catches a crash.
      require('node:fs').rmSync(root, { recursive: true, force: true });
    });
  }
  return workspace;
}

/** The generated repo of `services` × 3 environments with `commits` history commits (cached). */
export async function repoOf(services: number, commits: number): Promise<GeneratedRepo> {
  const w = await ws();
  const key = `${services}-${commits}`;
  let repo = w.repos.get(key);
  if (!repo) {
    repo = await generateSignedHistory({
      dir: path.join(w.root, `repo-${key}`),
      services,
      commits,
      signer: w.signer,
      log: m => console.error(`[bench] history ${key}: ${m}`),
    });
    w.repos.set(key, repo);
  }
  return repo;
}

/** Removes the generated repos (end of the bench run). */
export async function cleanupHistoryBenches(): Promise<void> {
  if (workspace) await fs.rm(workspace.root, { recursive: true, force: true });
  workspace = undefined;
}

type Engine = BenchEngine;

/** A bench engine (in-memory SQLite, the workspace's signing key) on a clone of `remote` at `workDir`. */
export async function startEngine(remote: string, workDir: string): Promise<Engine> {
  return startBenchEngine({ remote, workDir, signer: (await ws()).signer });
}

/** `git count-objects -vH` of a clone, as one line. */
async function countObjects(dir: string): Promise<{ text: string; kib: number }> {
  const out = (await runGit(['count-objects', '-v'], { cwd: dir })).stdout;
  const v = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map(l => l.split(': ') as [string, string]),
  );
  const kib = Number(v.size) + Number(v['size-pack']) + Number(v['size-garbage'] ?? 0);
  const human = (await runGit(['count-objects', '-vH'], { cwd: dir })).stdout
    .trim()
    .split('\n')
    .filter(l => /^(count|size|in-pack|packs|size-pack):/.test(l))
    .join(', ');
  return { text: human, kib };
}

function memory() {
  (global as any).gc?.();
  const m = process.memoryUsage();
  return { rssMb: round(m.rss / 2 ** 20), heapUsedMb: round(m.heapUsed / 2 ** 20), gcRun: Boolean((global as any).gc) };
}

export interface HistoryLatencyRow {
  services: number;
  environments: number;
  historyCommits: number;
  generateSeconds: number;
  indexBuildSeconds: number;
  baseline: { samples: number; p50Ms: number; p99Ms: number };
  promote: { samples: number; p50Ms: number; p99Ms: number };
  ratioP50: number;
  ratioP99: number;
  /** Git processes the timed promotions started, per promotion (a raw write+commit+push: 3). */
  gitProcessesPerPromote: number;
  clone: string;
}

/**
 * Promotion latency at one history size: `samples` pinned promotions dev → staging (what the
 * portal's dialog sends: the artifact seen in dev and staging's commit), each preceded (untimed)
 * by an upload and a release to dev, interleaved with a raw `git` write of the same two files +
 * commit + push in its own clone of an identical copy of the repo.
 */
async function latencyAt(options: { services: number; commits: number; samples: number }) {
  const repo = await repoOf(options.services, options.commits);
  const w = await ws();
  const dir = await fs.mkdtemp(path.join(w.root, `lat-${options.commits}-`));
  try {
    // The engine's remote: a copy (hard links) of the generated repo, so every size starts equal.
    const remote = path.join(dir, 'config.git');
    const rawRemote = path.join(dir, 'raw.git');
    await runGit(['clone', '--quiet', '--bare', repo.remote, remote]);
    await runGit(['clone', '--quiet', '--bare', repo.remote, rawRemote]);
    const rawDir = path.join(dir, 'raw');
    await runGit(['clone', '--quiet', rawRemote, rawDir]);
    await runGit(['config', 'user.name', 'Raw Git'], { cwd: rawDir });
    await runGit(['config', 'user.email', 'raw@bench.local'], { cwd: rawDir });

    const t0 = performance.now();
    const engine = await startEngine(remote, path.join(dir, 'work'));
    await engine.manager.sync.syncFromGit({ fetch: false });
    await engine.manager.state.treeState();
    const indexBuildSeconds = (performance.now() - t0) / 1000;
    const { manager } = engine;
    try {
      let gitProcesses = 0;
      const rawSample = async (svc: BenchService, i: number) => {
        const folder = `staging/releases/${svc.namespace}/${svc.name}`;
        const up = benchUpload(svc, 5_000_000 + i);
        const s = performance.now();
        await fs.writeFile(path.join(rawDir, folder, 'deployment.yaml'), up.manifests.staging['deployment.yaml']);
        await fs.writeFile(path.join(rawDir, folder, 'artifact.json'), artifactJson(up.spec));
        await runGit(['add', '--', folder], { cwd: rawDir });
        await runGit(['commit', '--quiet', '-m', `raw ${i}`], { cwd: rawDir });
        await runGit(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], { cwd: rawDir });
        return performance.now() - s;
      };
      const engineSample = async (svc: BenchService, i: number) => {
        const up = benchUpload(svc, 6_000_000 + i);
        await manager.uploadArtifact(up, CI);
        const r0 = await manager.release({ service: svc.name, environment: 'dev', artifactId: up.spec.id }, ALICE);
        if (!r0.changed) throw new Error(`release to dev ${i} was a no-op`);
        // What the promote dialog shows (and pins): the diff for staging.
        const diff = await manager.diff(svc.name, 'staging', up.spec.id);
        const count = countGitProcesses();
        const s = performance.now();
        const r = await manager.promote(
          {
            service: svc.name,
            fromEnvironment: 'dev',
            toEnvironment: 'staging',
            pin: { artifactId: up.spec.id, environmentCommit: diff.environmentCommit },
          },
          ALICE,
        );
        const ms = performance.now() - s;
        count.stop();
        gitProcesses += count.total;
        if (!r.changed) throw new Error(`promotion ${i} was a no-op`);
        return ms;
      };
      const pick = (i: number) => repo.services[(i * 104_729 + 11) % repo.services.length];
      for (let i = 0; i < 3; i++) {
        await rawSample(pick(i), i);
        await engineSample(pick(i + 3), i);
      }
      const raw: number[] = [];
      const promote: number[] = [];
      for (let i = 0; i < options.samples; i++) {
        // Alternate which goes first so load spikes on this shared machine hit both alike.
        if (i % 2) {
          raw.push(await rawSample(pick(100 + 2 * i), 100 + i));
          promote.push(await engineSample(pick(101 + 2 * i), 100 + i));
        } else {
          promote.push(await engineSample(pick(101 + 2 * i), 100 + i));
          raw.push(await rawSample(pick(100 + 2 * i), 100 + i));
        }
      }
      const base = stats(raw);
      const prom = stats(promote);
      // the warm-up promotions (3) are counted too
      const gitProcessesPerPromote = round(gitProcesses / (options.samples + 3));
      return {
        services: options.services,
        environments: DEFAULT_ENVIRONMENTS.length,
        historyCommits: options.commits,
        generateSeconds: round(repo.seconds),
        indexBuildSeconds: round(indexBuildSeconds),
        baseline: base,
        promote: prom,
        ratioP50: Math.round((prom.p50Ms / base.p50Ms) * 100) / 100,
        ratioP99: Math.round((prom.p99Ms / base.p99Ms) * 100) / 100,
        gitProcessesPerPromote,
        clone: (await countObjects(engine.writer.workDir)).text,
      } as HistoryLatencyRow;
    } finally {
      await engine.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * `releases` releases by 20 concurrent clients, each to its own services (dev), on the repo with
 * `commits` history commits: the working clone's size before, after, and after the scheduled
 * maintenance (`writer.maintain()`: gc + commit-graph), and this process's memory.
 */
async function soak(options: { services: number; commits: number; releases: number; clients: number }) {
  const repo = await repoOf(options.services, options.commits);
  const w = await ws();
  const dir = await fs.mkdtemp(path.join(w.root, 'soak-'));
  try {
    const remote = path.join(dir, 'config.git');
    await runGit(['clone', '--quiet', '--bare', repo.remote, remote]);
    const engine = await startEngine(remote, path.join(dir, 'work'));
    const { manager } = engine;
    try {
      await manager.sync.syncFromGit({ fetch: false });
      await manager.state.treeState();
      const before = await countObjects(engine.writer.workDir);
      const memBefore = memory();
      const plan = Array.from({ length: options.releases }, (_, i) => ({
        svc: repo.services[i % repo.services.length],
        n: 7_000_000 + i,
      }));
      const t0 = performance.now();
      let failed = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: options.clients }, async () => {
          for (;;) {
            const i = next++;
            if (i >= plan.length) return;
            const up = benchUpload(plan[i].svc, plan[i].n);
            try {
              await manager.uploadArtifact(up, CI);
              const r = await manager.release({ service: plan[i].svc.name, environment: 'dev', artifactId: up.spec.id }, ALICE);
              if (!r.changed) failed++;
            } catch (e) {
              failed++;
              if (failed < 5) console.error(`[bench] soak release ${i} failed: ${e}`);
            }
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const after = await countObjects(engine.writer.workDir);
      const memAfter = memory();
      const m0 = performance.now();
      await engine.writer.maintain();
      const maintainSeconds = (performance.now() - m0) / 1000;
      const maintained = await countObjects(engine.writer.workDir);
      return {
        services: options.services,
        historyCommits: options.commits,
        releases: options.releases,
        clients: options.clients,
        failed,
        seconds: round(seconds),
        perSecond: round(options.releases / seconds),
        cloneBefore: before,
        cloneAfter: after,
        cloneAfterMaintenance: maintained,
        maintainSeconds: round(maintainSeconds),
        memoryBefore: memBefore,
        memoryAfter: memAfter,
      };
    } finally {
      await engine.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Promotion latency at each history size, then the soak on the smallest. */
export async function runHistoryBench(options: {
  services: number;
  histories: number[];
  samples: number;
  soakReleases: number;
}) {
  const rows: HistoryLatencyRow[] = [];
  for (const commits of options.histories) {
    console.error(`[bench] history: promotion latency at ${commits} commits ...`);
    rows.push(await latencyAt({ services: options.services, commits, samples: options.samples }));
    console.error(`[bench] history: ${JSON.stringify(rows[rows.length - 1])}`);
  }
  const soakResult =
    options.soakReleases > 0
      ? await soak({ services: options.services, commits: options.histories[0], releases: options.soakReleases, clients: 20 })
      : undefined;
  return { rows, soak: soakResult };
}

type ReleaseRowCmp = Record<string, unknown>;

/** What the index says and what the tree says, field by field (comparable as JSON). */
async function snapshotState(engine: Engine) {
  const releases: ReleaseRowCmp[] = await engine
    .knex('rm_releases')
    .select(
      'id',
      'config_repo',
      'service',
      'environment',
      'namespace',
      'artifact_id',
      'intent',
      'released_by',
      'released_at',
      'branch',
      'promoted_from',
      'rollback_of',
      'reason',
      'commit_title',
      'commit_seq',
    )
    .orderBy('id');
  const tree = (await engine.manager.state.treeState()).releases
    .map(r => ({ e: r.environment, ns: r.namespace, s: r.service, a: r.artifactId, c: r.commit, q: r.seq, spec: r.artifact }))
    .sort((x, y) => `${x.e}/${x.ns}/${x.s}`.localeCompare(`${y.e}/${y.ns}/${y.s}`));
  const artifacts = (
    await engine
      .knex('rm_artifacts')
      .select('service', 'artifact_id', 'namespace', 'squad', 'branch', 'sha', 'message', 'author_name', 'author_email', 'spec')
  )
    .map((a: any) => ({ ...a, spec: typeof a.spec === 'string' ? JSON.parse(a.spec) : a.spec }))
    .sort((x: any, y: any) => `${x.service}/${x.artifact_id}`.localeCompare(`${y.service}/${y.artifact_id}`));
  return { releases, tree, artifacts };
}

/** The first difference between two lists of records, field by field (undefined when equal). */
function firstDifference(what: string, a: any[], b: any[]): string | undefined {
  if (a.length !== b.length) return `${what}: ${a.length} before, ${b.length} after`;
  for (let i = 0; i < a.length; i++) {
    const keys = new Set([...Object.keys(a[i]), ...Object.keys(b[i])]);
    for (const k of keys) {
      if (JSON.stringify(a[i][k]) !== JSON.stringify(b[i][k])) {
        return `${what}[${i}].${k}: ${JSON.stringify(a[i][k]).slice(0, 80)} before, ${JSON.stringify(b[i][k]).slice(0, 80)} after`;
      }
    }
  }
  return undefined;
}

/**
 * Index rebuild from a history of `commits` release commits: an engine builds its index from git
 * (the artifacts the history released are restored from the commits' trees) and makes a few
 * releases of its own; then the database and blob store are dropped, a new engine (cold reader,
 * same working clone) rebuilds, and the index (release rows, every field but rollout status),
 * the tree state and the restored artifacts are compared with before. Nothing may be written.
 */
export async function runRebuildBench(options: { services: number; commits: number }) {
  const repo = await repoOf(options.services, options.commits);
  const w = await ws();
  const dir = await fs.mkdtemp(path.join(w.root, 'rebuild-'));
  try {
    const remote = path.join(dir, 'config.git');
    await runGit(['clone', '--quiet', '--bare', repo.remote, remote]);
    const workDir = path.join(dir, 'work');
    const first = await startEngine(remote, workDir);
    let before;
    let firstBuildSeconds;
    try {
      const t0 = performance.now();
      await first.manager.sync.syncFromGit({ fetch: false });
      await first.manager.state.treeState();
      firstBuildSeconds = (performance.now() - t0) / 1000;
      // A few releases through the engine on top of the generated history.
      for (let i = 0; i < 5; i++) {
        const svc = repo.services[(i * 37) % repo.services.length];
        const up = benchUpload(svc, 8_000_000 + i);
        await first.manager.uploadArtifact(up, CI);
        await first.manager.release({ service: svc.name, environment: 'dev', artifactId: up.spec.id }, ALICE);
      }
      await first.writer.idle();
      before = await snapshotState(first);
    } finally {
      await first.close();
    }
    const headBefore = (await runGit(['rev-parse', 'refs/heads/main'], { cwd: remote })).stdout.trim();
    const countBefore = (await runGit(['rev-list', '--count', 'refs/heads/main'], { cwd: remote })).stdout.trim();

    // Drop the database and the blob store (a new in-memory database holds both) and restart.
    const second = await startEngine(remote, workDir);
    try {
      const t0 = performance.now();
      const read = await second.manager.sync.syncFromGit({ fetch: false });
      await second.manager.state.treeState();
      const rebuildSeconds = (performance.now() - t0) / 1000;
      await second.writer.idle();
      const after = await snapshotState(second);
      const headAfter = (await runGit(['rev-parse', 'refs/heads/main'], { cwd: remote })).stdout.trim();
      const countAfter = (await runGit(['rev-list', '--count', 'refs/heads/main'], { cwd: remote })).stdout.trim();
      const localHead = (await runGit(['rev-parse', 'HEAD'], { cwd: workDir })).stdout.trim();
      // Artifacts: every field the release commits' trees carry (spec and what derives from it).
      // Not compared: created_by/created_at (upload time, not in git) and the environments an
      // artifact has manifests for but was never released to (those manifests are not in git).
      const differences = [
        firstDifference('release rows', before.releases, after.releases),
        firstDifference('tree state', before.tree, after.tree),
        firstDifference('artifacts', before.artifacts, after.artifacts),
      ].filter(Boolean) as string[];
      return {
        services: options.services,
        commits: Number(countAfter),
        historyCommits: options.commits,
        firstBuildSeconds: round(firstBuildSeconds),
        rebuildSeconds: round(rebuildSeconds),
        releasesRead: read,
        releaseRows: after.releases.length,
        treeReleases: after.tree.length,
        artifacts: after.artifacts.length,
        differences,
        identical: differences.length === 0,
        commitsWritten: Number(countAfter) - Number(countBefore),
        headUnchanged: headBefore === headAfter && localHead === headAfter,
        pushes: second.writer.stats.pushes,
      };
    } finally {
      await second.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

