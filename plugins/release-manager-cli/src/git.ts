import { spawnSync } from 'node:child_process';
import { usageError } from './errors';

/** The branch checked out in the git work tree at `cwd` (`--current-branch`). */
export function currentGitBranch(cwd: string): string {
  const r = spawnSync('git', ['rev-parse', '--abbrev-ref', 'HEAD'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    timeout: 10_000,
  });
  if (r.error) {
    throw usageError(`--current-branch needs git (${r.error.message})`);
  }
  if (r.status !== 0) {
    throw usageError(`--current-branch: ${cwd} is not inside a git work tree`);
  }
  const branch = r.stdout.trim();
  if (!branch || branch === 'HEAD') {
    throw usageError('--current-branch: HEAD is detached (no branch checked out); pass --branch');
  }
  return branch;
}
