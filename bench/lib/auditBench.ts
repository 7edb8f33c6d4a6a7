/* eslint-disable no-console */
// Issue 14's measured export: the auditor's export (CSV) of a config repo holding `commits` signed
// release commits, through the real AuditExport (verified first-parent history, artifact.json of
// every release, rollout states) and writeAuditExport into a sink that counts bytes — time and the
// process's peak RSS / heap above where it started (streamed: memory must not grow with the
// history). Baseline in the same run on the same clone: `git log --first-parent --name-only` with
// the fields the export reads (sha, committer time, subject, trailers), streamed to the same kind
// of sink (git's own peak RSS sampled from /proc) — no signature check, no artifact.json reads.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { runGit } from '@devplane/plugin-git-host-node';
import { writeAuditExport } from '../../plugins/release-manager-backend/src/audit/AuditExport';
import { repoOf, startEngine, ws } from './historyBench';

const round = (n: number) => Math.round(n * 10) / 10;
const MB = 2 ** 20;

/** A Writable that drops what it gets and counts it (with the default high-water mark, so backpressure is real). */
function countingSink() {
  let bytes = 0;
  let newlines = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) newlines++;
      setImmediate(done);
    },
  });
  return { sink, counts: () => ({ bytes, newlines }) };
}

/** Samples this process's RSS and heap every 20 ms; returns the peaks above the start. */
function memorySampler() {
  (global as any).gc?.();
  const start = process.memoryUsage();
  let rss = start.rss;
  let heap = start.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  }, 20);
  return () => {
    clearInterval(timer);
    return {
      startRssMb: round(start.rss / MB),
      peakRssMb: round(rss / MB),
      peakRssGrowthMb: round((rss - start.rss) / MB),
      peakHeapGrowthMb: round((heap - start.heapUsed) / MB),
    };
  };
}

/** `git log` streamed into a counting sink; git's peak RSS sampled from /proc/<pid>/status. */
function gitLogBaseline(cwd: string): Promise<{ seconds: number; bytes: number; commits: number; peakRssMb: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(
      'git',
      ['log', '--first-parent', '--name-only', '--format=@@%H%x09%cI%x09%s%n%(trailers:only,unfold)', 'main'],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let peakKb = 0;
    const timer = setInterval(() => {
      fs.readFile(`/proc/${child.pid}/status`, 'utf8')
        .then(s => {
          const m = /VmHWM:\s+(\d+) kB/.exec(s);
          if (m) peakKb = Math.max(peakKb, Number(m[1]));
        })
        .catch(() => undefined);
    }, 20);
    const { sink, counts } = countingSink();
    let commits = 0;
    child.stdout.on('data', (d: Buffer) => {
      for (let i = d.indexOf('@@'); i >= 0; i = d.indexOf('@@', i + 2)) commits++;
    });
    child.stdout.pipe(sink);
    let err = '';
    child.stderr.on('data', d => (err += d));
    child.on('error', reject);
    child.on('close', code => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`git log failed (${code}): ${err.slice(0, 300)}`));
      else resolve({ seconds: Math.round((performance.now() - t0) / 10) / 100, bytes: counts().bytes, commits, peakRssMb: round(peakKb / 1024) });
    });
  });
}

export async function runAuditBench(options: { services: number; commits: number }) {
  const repo = await repoOf(options.services, options.commits);
  const w = await ws();
  const dir = await fs.mkdtemp(path.join(w.root, 'audit-'));
  try {
    const remote = path.join(dir, 'config.git');
    await runGit(['clone', '--quiet', '--bare', repo.remote, remote]);
    const workDir = path.join(dir, 'work');
    const engine = await startEngine(remote, workDir);
    try {
      const all = { from: new Date('2000-01-01T00:00:00Z'), to: new Date(Date.now() + 86_400_000) };
      // warm: the clone exists and is fetched, as on a running backend
      await engine.writer.refresh(0);
      const baseline = await gitLogBaseline(workDir);

      const { sink, counts } = countingSink();
      const stop = memorySampler();
      const t0 = performance.now();
      const rows = await writeAuditExport(sink, 'csv', engine.manager.audit.rows(all));
      await new Promise<void>(resolve => sink.end(resolve));
      const seconds = (performance.now() - t0) / 1000;
      const memory = stop();
      const { bytes, newlines } = counts();
      if (newlines !== rows + 1) throw new Error(`CSV has ${newlines} lines for ${rows} rows + header`);
      return {
        services: options.services,
        historyCommits: options.commits,
        rows,
        seconds: round(seconds),
        rowsPerSecond: Math.round(rows / seconds),
        csvMb: round(bytes / MB),
        memory,
        gcExposed: Boolean((global as any).gc),
        baseline: { ...baseline, mb: round(baseline.bytes / MB) },
      };
    } finally {
      await engine.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
