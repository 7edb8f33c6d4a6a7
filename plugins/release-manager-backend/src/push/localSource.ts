import { NotFoundError } from '@backstage/errors';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import { SourceCommit, SourceSnapshot } from './sourceArtifact';

/** Reads a commit's claims (author, committer, message) from git, NUL-delimited. */
export async function localCommit(host: LocalGitHost, repo: string, sha: string): Promise<SourceCommit> {
  const { stdout } = await runGit(
    ['log', '-1', '-z', '--format=%H%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B', sha, '--'],
    { cwd: host.repoPath(repo) },
  );
  const [full, authorName, authorEmail, committerName, committerEmail, committedAt, ...body] =
    stdout.split('\0');
  return {
    sha: full,
    authorName,
    authorEmail,
    committerName,
    committerEmail,
    committedAt,
    message: body.join('\0').replace(/\0+$/, '').trim(),
  };
}

/** A service repository on the local git host at one commit. */
export async function localSourceSnapshot(
  host: LocalGitHost,
  repo: string,
  branch: string,
  sha: string,
): Promise<SourceSnapshot> {
  const commit = await localCommit(host, repo, sha);
  return {
    repo,
    branch,
    commit,
    url: `${host.baseUrl}/${repo}/tree/${sha}`,
    provider: 'local-git-host',
    async readFile(path) {
      try {
        return (await host.readFile(repo, path, sha)).content.toString('utf8');
      } catch (e) {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      }
    },
    async listFiles(dir) {
      let tree;
      try {
        tree = await host.listTree(repo, dir, sha);
      } catch (e) {
        if (e instanceof NotFoundError) return [];
        throw e;
      }
      return tree.files.map(f => ({
        path: f.path,
        read: async () => (await host.readBlob(repo, f.sha)).toString('utf8'),
      }));
    },
  };
}
