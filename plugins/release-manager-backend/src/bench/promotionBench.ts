/* eslint-disable no-console */
import childProcess from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LoggerService } from '@backstage/backend-plugin-api';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import type { ArtifactUpload } from '@devplane/plugin-release-manager-common';
import knexFactory, { Knex } from 'knex';
import { BlobStore, LocalDirectoryBlobStore } from '../blobs/BlobStore';
import { DatabaseBlobStore } from '../blobs/DatabaseBlobStore';
import { DEFAULT_ENVIRONMENTS } from '../config';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { GitOpsWriter } from '../git/GitOpsWriter';
import { splitSignedCommit } from '../git/openpgp';
import { CommitSigner, OpenPgpCommitSigner } from '../git/Signer';
import { Notifier } from '../service/Notifier';
import { Actor, ReleaseManager } from '../service/ReleaseManager';

/** Options of {@link runPromotionBench}. */
export interface PromotionBenchOptions {
  services?: number;
  /** Serial samples for the latency comparison. */
  samples?: number;
  clients?: number;
  releasesPerClient?: number;
}

/** Figures measured by {@link runPromotionBench}. */
export interface PromotionBenchResult {
  configRepo: { services: number; environments: number; folders: number; files: number };
  baseline: { samples: number; p50Ms: number; p99Ms: number; meanMs: number };
  release: { samples: number; p50Ms: number; p99Ms: number; meanMs: number };
  ratioP50: number;
  /** Git processes started during the serial releases (uploads included), per release and by subcommand. */
  gitProcesses: { perRelease: number; breakdown: string };
  /** In-process OpenPGP cost per commit. */
  signing: { signUs: number; verifyUs: number };
  /** A full verified read of the config repo's history (what an index rebuild does). */
  history: { commits: number; ms: number };
  concurrent: {
    clients: number;
    releases: number;
    wallMs: number;
    perSecond: number;
    p50Ms: number;
    p99Ms: number;
    pushes: number;
    commitsPerPush: number;
    lost: number;
    mergeCommits: number;
  };
  targets: { p50WithinOneAndHalfBaseline: boolean; p99Under400Ms: boolean; atLeast20PerSecond: boolean; zeroLost: boolean };
}

/**
 * Counts the git processes this process starts (by subcommand) until `stop()`: the profile of a
 * release's git cost (a raw write+commit+push starts 3). Counts every `child_process.spawn` of
 * `git`, whichever module calls it.
 */
export function countGitProcesses() {
  const original = childProcess.spawn;
  const counts = new Map<string, number>();
  let total = 0;
  (childProcess as any).spawn = (cmd: string, args?: readonly string[], ...rest: any[]) => {
    if (cmd === 'git' && Array.isArray(args)) {
      total++;
      const sub = args.find(a => !a.startsWith('-') && !a.includes('=')) ?? '?';
      counts.set(sub, (counts.get(sub) ?? 0) + 1);
    }
    return (original as any)(cmd, args, ...rest);
  };
  return {
    counts,
    get total() {
      return total;
    },
    /** `push 100, ls-remote 100` (most first). */
    breakdown: () =>
      [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    stop: () => {
      (childProcess as any).spawn = original;
    },
  };
}

/** A logger that drops everything (the benches time the engine, not its logging). */
export const silentLogger: LoggerService = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child() {
    return silentLogger;
  },
};

const round = (n: number) => Math.round(n * 10) / 10;

/** The `p`th percentile (nearest rank) of `values`. */
export function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Sample count, p50, p99 and mean of latencies in ms (rounded to 0.1 ms). */
export function stats(values: number[]) {
  return {
    samples: values.length,
    p50Ms: round(pct(values, 50)),
    p99Ms: round(pct(values, 99)),
    meanMs: round(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

/** The Deployment every bench service runs (one container, the image tag naming the build). */
export function deploymentYaml(service: string, namespace: string, tag: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${service}
  namespace: ${namespace}
spec:
  replicas: 2
  selector:
    matchLabels: { app: ${service} }
  template:
    metadata:
      labels: { app: ${service} }
    spec:
      containers:
        - name: ${service}
          image: registry.local/${service}:${tag}
          ports: [{ containerPort: 8080 }]
`;
}

const deployment = (service: string, tag: string) => deploymentYaml(service, 'bench', tag);

/** The release engine a bench drives in process: store on SQLite in memory, the real writer. */
export interface BenchEngine {
  manager: ReleaseManager;
  writer: GitOpsWriter;
  knex: Knex;
  store: ReleaseManagerStore;
  close(): Promise<void>;
}

/**
 * Starts the real release engine on `remote` with its working clone in `workDir`: store on an
 * in-memory SQLite database, the given blob store (default: in the same database), the real
 * GitOpsWriter, HistoryReader, GitSync and ReleaseService, signing with `signer`.
 */
export async function startBenchEngine(options: {
  remote: string;
  workDir: string;
  signer: CommitSigner;
  blobs?: BlobStore;
}): Promise<BenchEngine> {
  const knex = knexFactory({ client: 'better-sqlite3', connection: ':memory:', useNullAsDefault: true });
  const store = await ReleaseManagerStore.create({
    database: { getClient: async () => knex, migrations: { skip: false } } as any,
  });
  const writer = await GitOpsWriter.create({ workDir: options.workDir, remoteUrl: options.remote });
  const manager = new ReleaseManager({
    store,
    blobs: options.blobs ?? new DatabaseBlobStore(knex),
    writer,
    environments: DEFAULT_ENVIRONMENTS,
    notifier: new Notifier({ logger: silentLogger }),
    logger: silentLogger,
    configRepoKey: 'bench',
    signer: options.signer,
  });
  return { manager, writer, knex, store, close: () => knex.destroy() };
}

/**
 * Promotion benchmark: a config repo of `services` × 3 environments on a local bare repo; serial
 * release latency against a raw `git` write+commit+push measured in the same run (interleaved,
 * on an identical copy of the repo), then
 * throughput with concurrent clients, and a check that nothing was lost.
 */
export async function runPromotionBench(
  options: PromotionBenchOptions = {},
): Promise<PromotionBenchResult> {
  const servicesCount = options.services ?? 1000;
  const samples = options.samples ?? 200;
  const clients = options.clients ?? 20;
  const perClient = options.releasesPerClient ?? 25;
  const envs = DEFAULT_ENVIRONMENTS;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-bench-'));
  try {
    const host = new LocalGitHost({ rootDir: path.join(root, 'git'), baseUrl: 'http://localhost/repos' });
    const services = Array.from({ length: servicesCount }, (_, i) => `svc-${String(i).padStart(4, '0')}`);
    const files: Record<string, string> = { 'README.md': 'bench config repo\n' };
    for (const env of envs) {
      for (const s of services) {
        const dir = `${env.name}/releases/bench/${s}`;
        files[`${dir}/deployment.yaml`] = deployment(s, 'initial');
        files[`${dir}/artifact.json`] = `${JSON.stringify({ id: 'initial', service: s }, null, 2)}\n`;
      }
    }
    await host.createRepo('config', { files });
    const remote = host.repoPath('config');

    // --- baseline: raw git write + commit + push, in its own clone of an identical copy of the
    // repo (so neither side's pushes make the other fetch), samples interleaved with the engine's
    const rawRemote = path.join(root, 'raw.git');
    await runGit(['clone', '--quiet', '--bare', remote, rawRemote]);
    const rawDir = path.join(root, 'raw');
    await runGit(['clone', '--quiet', rawRemote, rawDir]);
    const baseline: number[] = [];
    const rawSample = async (i: number) => {
      const s = services[i % services.length];
      const rel = `dev/releases/bench/${s}/deployment.yaml`;
      const t0 = performance.now();
      await fs.writeFile(path.join(rawDir, rel), deployment(s, `raw-${i}`));
      await runGit(['add', '--', rel], { cwd: rawDir });
      await runGit(['commit', '--quiet', '-m', `raw ${i}`], { cwd: rawDir });
      await runGit(['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], { cwd: rawDir });
      return performance.now() - t0;
    };
    for (let i = 0; i < 5; i++) await rawSample(i);

    // --- the release manager on the same remote ------------------------------------
    const { manager, writer, close } = await startBenchEngine({
      remote,
      workDir: path.join(root, 'work'),
      blobs: new LocalDirectoryBlobStore(path.join(root, 'blobs')),
      signer: await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@bench' }),
    });
    // The repo was written by raw git (setup): platform adopts it once, as an org
    // moving an existing config repo under the release manager would (one signed decision commit).
    await writer.refresh(0);
    await manager.decideOutsideChanges(
      'adopt',
      (await manager.outsideChanges()).map(c => c.commit),
      { ref: 'user:default/platform', email: 'platform@bench.local' },
    );
    const ci: Actor = { ref: 'external:ci', email: 'ci@bench.local' };
    const alice: Actor = { ref: 'user:default/alice', email: 'alice@bench.local' };
    const uploadFor = (service: string, n: number): ArtifactUpload => {
      const sha = `${n.toString(16).padStart(8, '0')}`.padEnd(40, 'e');
      const manifests = { 'deployment.yaml': deployment(service, sha.slice(0, 10)) };
      return {
        spec: {
          id: `main-${sha.slice(0, 10)}-aaaaaaaaaa`,
          service,
          namespace: 'bench',
          application: {
            branch: 'main',
            sha,
            authorName: 'Dev',
            authorEmail: 'dev@bench.local',
            message: `build ${n}`,
            name: service,
          },
        },
        manifests: Object.fromEntries(envs.map(e => [e.name, manifests])),
      };
    };
    let counter = 0;
    const newArtifact = async (service: string) =>
      (await manager.uploadArtifact(uploadFor(service, ++counter), ci)).artifact.id;

    // Warm-up.
    for (let i = 0; i < 5; i++) {
      const s = services[(i * 7) % services.length];
      await manager.release({ service: s, environment: 'staging', artifactId: await newArtifact(s) }, alice);
    }
    const releaseLatency: number[] = [];
    let gitProcesses = 0;
    const gitByCommand = new Map<string, number>();
    const releaseSample = async (i: number) => {
      const s = services[(i * 13) % services.length];
      const artifactId = await newArtifact(s);
      const count = countGitProcesses();
      const t0 = performance.now();
      const r = await manager.release({ service: s, environment: 'dev', artifactId }, alice);
      const ms = performance.now() - t0;
      count.stop();
      gitProcesses += count.total;
      for (const [k, v] of count.counts) gitByCommand.set(k, (gitByCommand.get(k) ?? 0) + v);
      if (!r.changed) throw new Error(`bench release ${i} was a no-op`);
      return ms;
    };
    for (let i = 0; i < samples; i++) {
      // Alternate which goes first so load spikes on this shared machine hit both alike.
      if (i % 2) {
        baseline.push(await rawSample(5 + i));
        releaseLatency.push(await releaseSample(i));
      } else {
        releaseLatency.push(await releaseSample(i));
        baseline.push(await rawSample(5 + i));
      }
    }

    // --- concurrent clients ----------------------------------------------------------
    const total = clients * perClient;
    const plan = Array.from({ length: total }, (_, i) => ({
      service: services[(i * 17 + 3) % services.length],
      environment: 'staging',
    }));
    // Distinct services per run so "lost" is a direct check of the final file.
    const distinct = new Map<string, number>();
    plan.forEach((p, i) => {
      while (distinct.has(p.service)) {
        p.service = services[(services.indexOf(p.service) + 1) % services.length];
      }
      distinct.set(p.service, i);
    });
    const artifacts: string[] = [];
    for (const p of plan) artifacts.push(await newArtifact(p.service));
    const pushesBefore = writer.stats.pushes;
    const commitsBefore = writer.stats.commits;
    const perRelease: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let k = 0; k < perClient; k++) {
          const i = c * perClient + k;
          const s0 = performance.now();
          await manager.release(
            { service: plan[i].service, environment: plan[i].environment, artifactId: artifacts[i] },
            alice,
          );
          perRelease.push(performance.now() - s0);
        }
      }),
    );
    const wallMs = performance.now() - t0;
    const pushes = writer.stats.pushes - pushesBefore;
    const commits = writer.stats.commits - commitsBefore;

    let lost = 0;
    for (const [i, p] of plan.entries()) {
      const { content } = await host.readFile('config', `${p.environment}/releases/bench/${p.service}/artifact.json`);
      if (JSON.parse(content.toString()).id !== artifacts[i]) lost++;
    }
    const { stdout: merges } = await runGit(['rev-list', '--merges', 'main'], { cwd: remote });
    const { stdout: count } = await runGit(['rev-list', '--count', 'main'], { cwd: remote });
    // setup, platform's adopt decision, warm-up, serial samples, concurrent releases
    const expectedCommits = 1 + 1 + 5 + samples + total;
    lost += Math.max(0, expectedCommits - Number(count.trim()));
    await close();

    // Signing and verification cost, and a full verified history read of the repo as it is now.
    const raw = Buffer.from((await runGit(['cat-file', 'commit', 'main'], { cwd: remote })).stdout, 'utf8');
    const { payload } = splitSignedCommit(raw);
    let t = performance.now();
    let signed: Buffer = raw;
    for (let i = 0; i < 200; i++) signed = manager.signer.signCommit(payload);
    const signUs = Math.round(((performance.now() - t) / 200) * 1000);
    t = performance.now();
    for (let i = 0; i < 200; i++) manager.signer.verifyCommit(signed);
    const verifyUs = Math.round(((performance.now() - t) / 200) * 1000);
    t = performance.now();
    let read = 0;
    for await (const c of manager.reader.commits()) if (c.sha) read++;
    const historyMs = Math.round(performance.now() - t);

    const base = stats(baseline);
    const rel = stats(releaseLatency);
    const perSecond = round(total / (wallMs / 1000));
    return {
      configRepo: {
        services: servicesCount,
        environments: envs.length,
        folders: servicesCount * envs.length,
        files: Object.keys(files).length,
      },
      baseline: base,
      release: rel,
      ratioP50: Math.round((rel.p50Ms / base.p50Ms) * 100) / 100,
      gitProcesses: {
        perRelease: round(gitProcesses / samples),
        breakdown: [...gitByCommand.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${round(v / samples)}`)
          .join(', '),
      },
      signing: { signUs, verifyUs },
      history: { commits: read, ms: historyMs },
      concurrent: {
        clients,
        releases: total,
        wallMs: Math.round(wallMs),
        perSecond,
        p50Ms: round(pct(perRelease, 50)),
        p99Ms: round(pct(perRelease, 99)),
        pushes,
        commitsPerPush: Math.round((commits / Math.max(1, pushes)) * 10) / 10,
        lost,
        mergeCommits: merges.split('\n').filter(Boolean).length,
      },
      targets: {
        p50WithinOneAndHalfBaseline: rel.p50Ms <= 1.5 * base.p50Ms,
        p99Under400Ms: rel.p99Ms <= 400,
        atLeast20PerSecond: perSecond >= 20,
        zeroLost: lost === 0,
      },
    };
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}
