import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gitEnv } from '@devplane/plugin-git-host-node';
import { pkt } from './remoteRef';

/**
 * A push to a repository on this machine's file system (the embedded default's git host, the
 * benchmarks' and tests' remotes), spoken to `git receive-pack` directly: the writer already has
 * the pack (every object of the batch's commits, see buildPack), so the push is one process
 * (receive-pack, with what it runs itself: unpacking, the connectivity check, hooks) instead of
 * `git push` with a shell, receive-pack and `git pack-objects` walking the history to find what
 * to send. On the 2 shared cores of the replicas bench that process tree was about a quarter of
 * all CPU time (docs/bench-and-reliability.md).
 *
 * The update is a compare-and-swap, never forced: the command names the tip the commits were
 * built on, and receive-pack moves the branch only from that value (git's ref transaction). When
 * the advertised tip is another one, nothing is sent.
 *
 * Remotes reached over a network (https, ssh) are pushed with `git push` as before.
 */

export type ReceivePackResult =
  /** The branch is at the new tip. */
  | { status: 'ok' }
  /** The branch is not where the commits were built (someone pushed meanwhile): nothing changed. */
  | { status: 'moved'; remoteTip?: string }
  /** receive-pack refused or failed (a hook, a protected ref, a broken pack): why, and its messages. */
  | { status: 'refused'; reason: string; said: string };

const ZERO = '0000000000000000000000000000000000000000';

/** The repository directory of a remote URL when it is a local path or file:// URL, else undefined. */
export function localRepoPath(url: string): string | undefined {
  let p: string;
  if (url.startsWith('file://')) p = decodeURIComponent(url.slice('file://'.length));
  else if (path.isAbsolute(url)) p = url;
  else return undefined;
  try {
    return fs.statSync(p).isDirectory() ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Reads pkt-lines from a growing buffer: the lines up to a flush, or undefined when incomplete. */
function readUntilFlush(buf: Buffer, from: number): { lines: string[]; next: number } | undefined {
  const lines: string[] = [];
  let at = from;
  while (at + 4 <= buf.length) {
    const len = parseInt(buf.subarray(at, at + 4).toString('latin1'), 16);
    if (Number.isNaN(len)) throw new Error('receive-pack: malformed pkt-line');
    if (len === 0) return { lines, next: at + 4 };
    if (len < 4) throw new Error('receive-pack: unexpected special pkt-line');
    if (at + len > buf.length) return undefined;
    lines.push(buf.subarray(at + 4, at + len).toString('utf8').replace(/\n$/, ''));
    at += len;
  }
  return undefined;
}

const CAS_FAILURE = /failed to update ref|cannot lock ref|failed to lock|stale info|incorrect old value|non-fast-forward|fetch first/i;

/**
 * Pushes `pack` (which must hold every object of `newTip` that the repository does not have
 * when its branch is at `oldTip`) and moves `ref` from `oldTip` ('' for a new branch) to `newTip`.
 */
export function pushToLocalRepo(options: {
  repo: string;
  ref: string;
  oldTip: string;
  newTip: string;
  pack: Buffer;
  timeoutMs?: number;
}): Promise<ReceivePackResult> {
  const { repo, ref, newTip, pack } = options;
  const oldTip = options.oldTip || ZERO;
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['receive-pack', repo], { env: gitEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = Buffer.alloc(0);
    let stderr = '';
    let phase: 'advertised' | 'report' | 'done' = 'advertised';
    let advertEnd = 0;
    let result: ReceivePackResult | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    const fail = (e: Error) => {
      phase = 'done';
      child.kill('SIGKILL');
      reject(e);
    };
    child.on('error', e => {
      clearTimeout(timer);
      if (phase !== 'done') fail(e);
    });
    child.stdin.on('error', () => {});
    child.stderr.on('data', d => {
      stderr = (stderr + d).slice(-4000);
    });
    child.stdout.on('data', d => {
      out = Buffer.concat([out, d]);
      try {
        if (phase === 'advertised') {
          const advert = readUntilFlush(out, 0);
          if (!advert) return;
          advertEnd = advert.next;
          let current = ZERO;
          for (const line of advert.lines) {
            const [oid, name] = line.split('\0')[0].split(' ');
            if (name === ref) current = oid;
          }
          if (current !== oldTip) {
            // Not where the commits were built: send no command (a flush) and report the move.
            result = { status: 'moved', remoteTip: current === ZERO ? '' : current };
            phase = 'done';
            child.stdin.end(Buffer.from('0000', 'latin1'));
            return;
          }
          phase = 'report';
          child.stdin.end(Buffer.concat([Buffer.from(`${pkt(`${oldTip} ${newTip} ${ref}\0report-status\n`)}0000`, 'utf8'), pack]));
          return;
        }
        if (phase === 'report') {
          const report = readUntilFlush(out, advertEnd);
          if (!report) return;
          phase = 'done';
          const unpack = report.lines.find(l => l.startsWith('unpack '));
          const status = report.lines.find(l => l.startsWith('ok ') || l.startsWith('ng '));
          if (unpack === 'unpack ok' && status === `ok ${ref}`) result = { status: 'ok' };
          else {
            const reason = (status?.startsWith('ng ') ? status.slice(3 + ref.length + 1) : unpack ?? 'no report').trim();
            result = CAS_FAILURE.test(reason) && unpack === 'unpack ok' ? { status: 'moved' } : { status: 'refused', reason, said: '' };
          }
        }
      } catch (e: any) {
        fail(e);
      }
    });
    child.on('close', code => {
      clearTimeout(timer);
      if (!result) {
        // (after fail() the promise is settled already and this does nothing)
        reject(new Error(`git receive-pack ended (exit ${code}) without a report${stderr ? `: ${stderr.trim().slice(0, 300)}` : ''}`));
        return;
      }
      if (result.status === 'refused') result = { ...result, said: stderr.trim().slice(0, 2000) };
      resolve(result);
    });
  });
}
