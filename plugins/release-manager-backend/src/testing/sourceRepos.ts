/**
 * Test helper: real application commits in a service's source repository on the local git host,
 * so uploads claim commits that exist (production's branch guardrail verifies them).
 * Synchronous (git plumbing through execFileSync) so fixtures can build upload bodies inline.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { LocalGitHost } from '@devplane/plugin-git-host-node';

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Dev',
      GIT_AUTHOR_EMAIL: 'dev@bank.example',
      GIT_COMMITTER_NAME: 'Dev',
      GIT_COMMITTER_EMAIL: 'dev@bank.example',
    },
  }).trim();
}

/**
 * Makes a new commit on `branch` of repo `repo` (created bare when missing); a new branch starts
 * from the default branch's tip. Returns the commit sha.
 */
export function realCommit(host: LocalGitHost, repo: string, branch: string, message: string): string {
  const dir = host.repoPath(repo);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    git(dir, ['init', '--bare', '--quiet', `--initial-branch=${host.defaultBranch}`]);
  }
  const tip = (ref: string) => {
    try {
      return git(dir, ['rev-parse', '--verify', '--quiet', `refs/heads/${ref}`]);
    } catch {
      return '';
    }
  };
  const parent = tip(branch) || tip(host.defaultBranch);
  const sha = git(dir, ['commit-tree', EMPTY_TREE, ...(parent ? ['-p', parent] : []), '-m', message]);
  git(dir, ['update-ref', `refs/heads/${branch}`, sha]);
  return sha;
}

/** The catalog annotation that points the branch verifier at `repo` on the local git host. */
export function sourceLocation(host: LocalGitHost, repo: string): Record<string, string> {
  return { 'backstage.io/source-location': `url:${host.baseUrl}/${repo}/tree/${host.defaultBranch}/` };
}
