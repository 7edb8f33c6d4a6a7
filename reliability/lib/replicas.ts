import { ChildProcess, spawn } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Knex } from 'knex';
import { runGit } from '@devplane/plugin-git-host-node';
import { gpg, stopGpgAgent } from '../../plugins/release-manager-backend/src/git/Signer';
import { gitOut } from './harness';

export interface Replica {
  proc: ChildProcess;
  url: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts reliability/lib/replica.ts as its own OS process; resolves when it serves HTTP. */
export function startReplica(
  env: { dataDir: string; dbPrefix: string; services: number; extraConfig?: Record<string, any>; liveSignals?: boolean },
  timeoutMs = 300_000,
): Promise<Replica> {
  // REPLICA_CPU_PROF_DIR: each replica writes a V8 CPU profile there when stopped (profiling the
  // HTTP release path, e.g. of the replicas bench).
  const prof = process.env.REPLICA_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.REPLICA_CPU_PROF_DIR}`] : [];
  const proc = spawn(process.execPath, [...prof, path.join(__dirname, 'replica-main.js')], {
    env: {
      ...process.env,
      REPLICA_DATA_DIR: env.dataDir,
      REPLICA_DB_PREFIX: env.dbPrefix,
      REPLICA_SERVICES: String(env.services),
      ...(env.extraConfig ? { REPLICA_EXTRA_CONFIG: JSON.stringify(env.extraConfig) } : {}),
      ...(env.liveSignals ? { REPLICA_LIVE_SIGNALS: '1' } : {}),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  // REPLICA_STDERR_FILE=<file>: every replica's stderr is appended there too (debugging a run).
  const copyTo = process.env.REPLICA_STDERR_FILE;
  proc.stderr!.on('data', d => {
    stderr = (stderr + d).slice(-4000);
    if (copyTo) fsSync.appendFileSync(copyTo, d);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`replica did not start in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    proc.on('exit', code => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code}: ${stderr}`));
    });
    let out = '';
    proc.stdout!.on('data', d => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          proc,
          url: `http://127.0.0.1:${m[1]}`,
          stop: (signal: NodeJS.Signals = 'SIGTERM') =>
            new Promise(res => {
              if (proc.exitCode !== null || proc.signalCode !== null) return res();
              proc.once('exit', () => res());
              proc.kill(signal);
              setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
            }),
        });
      }
    });
  });
}

const TRAILERS = ['Service:', 'Environment:', 'Artifact-ID:', 'Artifact-released-by:', 'Artifact-created-by:', 'Release-intent:'];

export interface ReleaseCommit {
  sha: string;
  title: string;
  service: string;
  environment: string;
  artifactId: string;
  missingTrailers: string[];
}

/**
 * One signing key for every replica of a deployment, as production configures it
 * (`releaseManager.signing.privateKey`): replicas that each generated a key into their own data
 * directory would see every commit of the others as a change "outside the release manager".
 */
export async function sharedSigningKey(dir: string): Promise<{ privateKey: string }> {
  const home = path.join(dir, 'shared-gnupg');
  await fs.mkdir(home, { recursive: true, mode: 0o700 });
  try {
    await gpg(home, ['--quick-gen-key', 'Release Manager <release-manager@devplane.local>', 'ed25519', 'sign', 'never']);
    return { privateKey: (await gpg(home, ['--armor', '--export-secret-keys'])).toString('utf8') };
  } finally {
    await stopGpgAgent(home);
  }
}

/** Release commits of the config repo (commits with a `Service:` trailer), oldest first. */
export async function releaseCommits(remote: string): Promise<ReleaseCommit[]> {
  const out = await gitOut(remote, ['log', '--reverse', '--format=%H%x1f%B%x1e', 'HEAD']);
  const commits: ReleaseCommit[] = [];
  for (const rec of out.split('\x1e')) {
    const [sha, body] = rec.trim().split('\x1f');
    if (!sha || !body || !/^\[[^\]]+\] /.test(body)) continue;
    if (!/\] (release|rollback|auto release|promot)/.test(body.split('\n')[0])) continue;
    const get = (k: string) => new RegExp(`^${k} (.*)$`, 'm').exec(body)?.[1]?.trim() ?? '';
    commits.push({
      sha,
      title: body.split('\n')[0],
      service: get('Service:'),
      environment: get('Environment:'),
      artifactId: get('Artifact-ID:'),
      missingTrailers: TRAILERS.filter(t => !new RegExp(`^${t} `, 'm').test(body)),
    });
  }
  return commits;
}

/** Compares the release log in the database with the release commits in git. */
export async function dbAgreesWithGit(db: Knex, remote: string): Promise<string | undefined> {
  const commits = await releaseCommits(remote);
  const rows: { id: string }[] = await db('rm_releases').select('id');
  const dbIds = new Set(rows.map(r => r.id));
  const gitIds = new Set(commits.map(c => c.sha));
  const missing = [...gitIds].filter(id => !dbIds.has(id));
  const extra = [...dbIds].filter(id => !gitIds.has(id));
  if (missing.length || extra.length) {
    return `db vs git: ${missing.length} release commits missing in db, ${extra.length} db rows without a commit`;
  }
  return undefined;
}

export async function fsck(remote: string) {
  await runGit(['fsck', '--strict', '--no-progress'], { cwd: remote });
}
