import { LocalGitHost, normalizeRepoPath, runGit } from '@devplane/plugin-git-host-node';
import { catFile } from '../history/HistoryReader';
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
  const cwd = host.repoPath(repo);
  // The commit's files are listed once (one `ls-tree`), and the blobs a caller reads are read
  // together (one `cat-file --batch` for a folder's files), not a git process per file.
  let listing: Promise<Map<string, string>> | undefined;
  const files = () =>
    (listing ??= runGit(['ls-tree', '-r', '-z', '--full-tree', commit.sha], { cwd }).then(({ stdout }) => {
      const out = new Map<string, string>();
      for (const line of stdout.split('\0')) {
        const tab = line.indexOf('\t');
        if (tab < 0) continue;
        const [, type, blob] = line.slice(0, tab).split(' ');
        if (type === 'blob') out.set(line.slice(tab + 1), blob);
      }
      return out;
    }));
  const blobs = new Map<string, Promise<Buffer>>();
  const readBlobs = (shas: string[]): Promise<Buffer[]> => {
    const missing = [...new Set(shas.filter(s => !blobs.has(s)))];
    if (missing.length) {
      const read = catFile(cwd, missing);
      for (const s of missing) {
        blobs.set(
          s,
          read.then(m => {
            const b = m.get(s);
            if (!b) throw new Error(`blob ${s} of ${repo} could not be read`);
            return b;
          }),
        );
      }
    }
    return Promise.all(shas.map(s => blobs.get(s)!));
  };
  const clean = (p: string) => normalizeRepoPath(p).replace(/\/+$/, '');
  return {
    repo,
    branch,
    commit,
    url: `${host.baseUrl}/${repo}/tree/${sha}`,
    provider: 'local-git-host',
    async readFile(path) {
      const blob = (await files()).get(clean(path));
      return blob === undefined ? undefined : (await readBlobs([blob]))[0].toString('utf8');
    },
    async listFiles(dir) {
      const prefix = dir ? `${clean(dir)}/` : '';
      const entries = [...(await files())].filter(([p]) => p.startsWith(prefix));
      let all: Promise<Buffer[]> | undefined;
      return entries.map(([p, blob]) => ({
        path: p.slice(prefix.length),
        read: async () => {
          await (all ??= readBlobs(entries.map(([, b]) => b)));
          return (await readBlobs([blob]))[0].toString('utf8');
        },
      }));
    },
  };
}
