/* eslint-disable no-console */
// The golden path end to end through the real scaffolder API of the real backend
// (packages/backend/src/index.ts with app-config.yaml: SQLite, local git host, the real
// permission policy, the demo sign-in): POST /api/scaffolder/v2/tasks with the five fields as a
// payments developer, poll the task to completion, then poll the release manager's status until
// prod runs the first artifact built from the scaffolded repository's push. Baseline in the same
// run: a bare `git push` of the same files to the same local git host.
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runGit } from '@devplane/plugin-git-host-node';
import { pct } from './extraBenches';

const ROOT = path.resolve(__dirname, '..', '..');
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function eventually<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (${last})` : ''}`);
    await sleep(pollMs);
  }
}

/** The real backend on a free port with its own data directory (SQLite, git host). */
async function startBackend(dataDir: string) {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const override = path.join(dataDir, 'bench-config.yaml');
  await fs.writeFile(
    override,
    [
      'backend:',
      `  baseUrl: ${baseUrl}`,
      '  listen:',
      `    port: ${port}`,
      '    host: 127.0.0.1',
      '',
    ].join('\n'),
  );
  const log = path.join(dataDir, 'backend.log');
  const out = await fs.open(log, 'w');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--require',
      require.resolve('@backstage/cli/config/nodeTransform.cjs'),
      'src/index.ts',
      '--config',
      '../../app-config.yaml',
      '--config',
      override,
    ],
    {
      cwd: path.join(ROOT, 'packages', 'backend'),
      env: { ...process.env, NODE_ENV: 'development', DEVPLANE_DATA_DIR: dataDir },
      stdio: ['ignore', out.fd, out.fd],
      detached: true,
    },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise(r => child.once('exit', r));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 15_000);
    await exited;
    clearTimeout(timer);
    await out.close();
  };
  try {
    await eventually('the backend to be ready', 240_000, async () => {
      if (child.exitCode !== null) throw new Error(`backend exited with ${child.exitCode}`);
      const r = await fetch(`${baseUrl}/.backstage/health/v1/readiness`);
      return r.ok ? true : undefined;
    }, 1000);
  } catch (e) {
    const tail = (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
    await stop();
    throw new Error(`${(e as Error).message}; backend log tail:\n${tail}`);
  }
  return { baseUrl, stop, log };
}

/** A token of a demo identity (the sign-in page's demo provider: real catalog memberships). */
async function demoToken(baseUrl: string, user: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/demo/refresh`, {
    headers: { 'x-requested-with': 'XMLHttpRequest', 'x-devplane-demo-user': user },
  });
  if (!res.ok) throw new Error(`demo sign-in as ${user}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()).backstageIdentity.token;
}

export interface GoldenPathApiBenchResult {
  runs: number;
  user: string;
  /** Task created → prod runs the first artifact from the push, per run (ms). */
  totalMs: number[];
  /** Task created → task completed (ms). */
  taskMs: number[];
  /** Bare `git push` of the same files to the local git host (ms). */
  baselineMs: number[];
  p50: number;
  p90: number;
  max: number;
  taskP50: number;
  baselineP50: number;
  artifacts: string[];
  /** Per run: ms from the task's first log line to each step's last log line. */
  steps: Record<string, number>[];
}

/**
 * Runs `runs` golden path tasks through the scaffolder API and `runs` bare git pushes of the
 * same files; each task must end with prod running the artifact built from the push of its
 * repository, pushed by the user who ran the task and released by the auto-release policy.
 */
export async function runGoldenPathApiBench(options: { runs?: number; user?: string } = {}): Promise<GoldenPathApiBenchResult> {
  const runs = options.runs ?? 5;
  const user = options.user ?? 'anna.jensen';
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'golden-bench-'));
  const backend = await startBackend(dataDir);
  const { baseUrl } = backend;
  try {
    // signing in needs the user in the catalog, which ingests the demo organisation after start
    const token = await eventually(`demo sign-in as ${user}`, 240_000, () => demoToken(baseUrl, user), 1000);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const get = async (p: string) => {
      const r = await fetch(`${baseUrl}${p}`, { headers });
      return r.ok ? r.json() : undefined;
    };
    // the catalog ingests the template, squads and systems asynchronously after a fresh start
    for (const ref of ['template/default/golden-path', 'group/default/payments', 'system/default/banking-core', `user/default/${user}`]) {
      await eventually(`${ref} in the catalog`, 240_000, () => get(`/api/catalog/entities/by-name/${ref}`), 1000);
    }
    const totalMs: number[] = [];
    const taskMs: number[] = [];
    const artifacts: string[] = [];
    const steps: Record<string, number>[] = [];
    let files: string | undefined;
    for (let i = 0; i < runs; i++) {
      const name = `bench-gp-${Date.now().toString(36)}-${i}`;
      const t0 = performance.now();
      const created = await fetch(`${baseUrl}/api/scaffolder/v2/tasks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          templateRef: 'template:default/golden-path',
          values: {
            name,
            squad: 'group:default/payments',
            description: 'Golden path bench service',
            kind: 'node',
            system: 'system:default/banking-core',
          },
        }),
      });
      if (created.status !== 201) throw new Error(`POST /api/scaffolder/v2/tasks: HTTP ${created.status} ${await created.text()}`);
      const { id } = await created.json();
      const task = await eventually(`task ${id}`, 180_000, async () => {
        const t = await get(`/api/scaffolder/v2/tasks/${id}`);
        return t && ['completed', 'failed', 'cancelled'].includes(t.status) ? t : undefined;
      }).catch(async e => {
        // say where the task stood: its last log lines
        const events = (await get(`/api/scaffolder/v2/tasks/${id}/events`)) ?? [];
        const lines = events.filter((ev: any) => ev.type === 'log').map((ev: any) => `${ev.createdAt} ${ev.body.message}`).slice(-12);
        throw new Error(`${(e as Error).message}; task log so far:\n  ${lines.join('\n  ')}`);
      });
      const t1 = performance.now();
      if (task.status !== 'completed') {
        const events = (await get(`/api/scaffolder/v2/tasks/${id}/events`)) ?? [];
        const lines = events.filter((e: any) => e.type === 'log').map((e: any) => e.body.message).slice(-8);
        throw new Error(`task for ${name} ${task.status}:\n  ${lines.join('\n  ')}`);
      }
      // the release manager's status (read from the config repo) shows prod running the artifact
      // that the repository's push became, pushed by this user, released by the policy
      const prod = await eventually(`prod running ${name}'s first artifact`, 60_000, async () => {
        const status = await get(`/api/release-manager/services/${name}/status`);
        const env = status?.find((s: any) => s.environment === 'prod');
        return env?.release && env.artifact ? env : undefined;
      }, 50);
      const t2 = performance.now();
      const pushes = (await get(`/api/release-manager/services/${name}/pushes`))?.items ?? [];
      const push = pushes.find((p: any) => p.artifactId === prod.artifact.id);
      if (!push || push.pusher !== `user:default/${user}` || push.branch !== 'main') {
        throw new Error(`prod runs ${prod.artifact.id}, which no push of main by ${user} built (pushes: ${JSON.stringify(pushes.map((p: any) => [p.pusher, p.branch, p.artifactId]))})`);
      }
      if (prod.release.intent !== 'auto-release' || pushes.length !== 1) {
        throw new Error(`prod release of ${name} is '${prod.release.intent}' after ${pushes.length} push(es); expected the auto-release of the first push`);
      }
      // where the time went, from the task log's timestamps: each step's last line after the first
      const events: any[] = (await get(`/api/scaffolder/v2/tasks/${id}/events`)) ?? [];
      const startAt = Date.parse(events[0]?.createdAt ?? '');
      const lastLine: Record<string, number> = {};
      for (const e of events) {
        if (e.type === 'log' && e.body?.stepId) lastLine[e.body.stepId] = Date.parse(e.createdAt) - startAt;
      }
      steps.push(lastLine);
      if (process.env.GOLDEN_BENCH_DEBUG && i === 0) {
        console.error(events.filter(e => e.type === 'log' && e.body?.stepId === 'deploy').map(e => JSON.stringify(e.body.message)).join('\n'));
      }
      const stages = events
        .filter(e => e.type === 'log' && e.body?.stepId === 'deploy' && /\[\d+\/\d+\]/.test(e.body.message))
        .map(e => `${/\[(\d+)\//.exec(e.body.message)![1]}@${/\((\d+\.\d) s\)/.exec(e.body.message)?.[1] ?? '?'}`);
      totalMs.push(t2 - t0);
      taskMs.push(t1 - t0);
      artifacts.push(prod.artifact.id);
      if (!files) {
        files = path.join(dataDir, 'files');
        await runGit(['clone', '--quiet', path.join(dataDir, 'git', `${name}.git`), files]);
        await fs.rm(path.join(files, '.git'), { recursive: true, force: true });
      }
      console.error(
        `[bench] golden path run ${i + 1}/${runs}: ${(t2 - t0).toFixed(0)} ms (task ${(t1 - t0).toFixed(0)} ms; steps end at ${Object.entries(lastLine)
          .map(([k, v]) => `${k} ${v} ms`)
          .join(', ')}; deploy stages at ${stages.join(' ')} s), prod runs ${prod.artifact.id}`,
      );
    }
    // baseline: the same files pushed with plain git over the git host's smart HTTP, as this user
    const baselineMs: number[] = [];
    const baseRepo = `bench-baseline-${Date.now().toString(36)}`;
    const target = path.join(dataDir, 'git', `${baseRepo}.git`);
    await runGit(['init', '--bare', '--quiet', '--initial-branch=main', target]);
    await runGit(['config', 'http.receivepack', 'true'], { cwd: target });
    for (let i = 0; i < runs; i++) {
      const work = path.join(dataDir, `baseline-${i}`);
      await fs.cp(files!, work, { recursive: true });
      await runGit(['init', '--quiet', '--initial-branch=main'], { cwd: work });
      await runGit(['add', '--all'], { cwd: work });
      await runGit(['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '--quiet', '-m', `baseline ${i}`], { cwd: work });
      const t0 = performance.now();
      await runGit(
        ['-c', `http.extraHeader=Authorization: Bearer ${token}`, 'push', '--quiet', `${baseUrl}/api/git-host/repos/${baseRepo}.git`, `HEAD:refs/heads/run-${i}`],
        { cwd: work },
      );
      baselineMs.push(performance.now() - t0);
    }
    return {
      runs,
      user,
      totalMs,
      taskMs,
      baselineMs,
      p50: pct(totalMs, 50),
      p90: pct(totalMs, 90),
      max: Math.max(...totalMs),
      taskP50: pct(taskMs, 50),
      baselineP50: pct(baselineMs, 50),
      artifacts,
      steps,
    };
  } finally {
    await backend.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
