/** Parsing and listing helpers of the repository browser (pure, tested on their own). */

export interface BrowsePath {
  repo: string;
  kind: 'tree' | 'blob';
  ref: string;
  path: string;
}

/**
 * `<repo>/<tree|blob>/<ref>/<path...>` (the part of the portal URL after `/git-host/`), or
 * undefined when it is not of that form. Segments `.`/`..` are refused, like the git host does.
 */
export function parseBrowsePath(rest: string): BrowsePath | undefined {
  const segments = rest
    .split('/')
    .filter(Boolean)
    .map(s => {
      try {
        return decodeURIComponent(s);
      } catch {
        return '..';
      }
    });
  if (segments.some(s => s === '.' || s === '..' || s.includes('/'))) return undefined;
  if (segments.length === 1) return { repo: segments[0], kind: 'tree', ref: 'main', path: '' };
  // repositories may be one level deep (`owner/name`), like on the git host
  for (const at of [1, 2]) {
    const kind = segments[at];
    if ((kind === 'tree' || kind === 'blob') && segments.length > at + 1) {
      return {
        repo: segments.slice(0, at).join('/'),
        kind,
        ref: segments[at + 1],
        path: segments.slice(at + 2).join('/'),
      };
    }
  }
  return undefined;
}

export interface DirEntry {
  name: string;
  type: 'dir' | 'file';
  /** Path from the repository root. */
  path: string;
}

/** The immediate children of `dir` in a recursive file list: directories first, then files. */
export function listDirectory(files: string[], dir: string): DirEntry[] | undefined {
  const prefix = dir ? `${dir}/` : '';
  const dirs = new Set<string>();
  const out: DirEntry[] = [];
  let found = !dir;
  for (const file of files) {
    if (!file.startsWith(prefix)) continue;
    found = true;
    const rest = file.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash >= 0) dirs.add(rest.slice(0, slash));
    else out.push({ name: rest, type: 'file', path: file });
  }
  if (!found) return undefined;
  const dirEntries: DirEntry[] = [...dirs].map(name => ({ name, type: 'dir', path: `${prefix}${name}` }));
  const byName = (a: DirEntry, b: DirEntry) => a.name.localeCompare(b.name);
  return [...dirEntries.sort(byName), ...out.sort(byName)];
}

/** The README of a directory listing, if any (README.md preferred). */
export function findReadme(entries: DirEntry[]): DirEntry | undefined {
  const files = entries.filter(e => e.type === 'file');
  return (
    files.find(e => e.name.toLowerCase() === 'readme.md') ??
    files.find(e => /^readme(\.|$)/i.test(e.name))
  );
}

/** Portal URL of a tree or blob. */
export function browseUrl(repo: string, kind: 'tree' | 'blob', ref: string, path = ''): string {
  const parts = [...repo.split('/'), kind, ref, ...(path ? path.split('/') : [])];
  return `/git-host/${parts.map(encodeURIComponent).join('/')}`;
}
