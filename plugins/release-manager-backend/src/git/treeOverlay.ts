import { entryAt, TreeEntry } from './objects';

const isTreeMode = (mode: string) => mode === '40000' || mode === '040000';
/** A file git would check out (not a directory, not a submodule). */
const isFileMode = (mode: string) => !isTreeMode(mode) && mode !== '160000';

/** A recorded answer for a file read: the entry (mode and id), '' when missing. */
const entryFact = (e: { mode: string; sha: string } | undefined) => (e ? `${e.mode} ${e.sha}` : '');
/** A recorded answer for a directory listing: its entries' modes and names, '' when not a directory. */
const listingFact = (entries: TreeEntry[] | undefined) =>
  entries ? entries.map(e => `${e.mode} ${e.name}`).join('\n') : '';

/** How a {@link TreeOverlay} reads the commit it starts from (the writer's cached object reads). */
export interface OverlayBase {
  /** Root tree of the base commit; undefined for an empty repository. */
  rootTree: string | undefined;
  readTree(sha: string): Promise<TreeEntry[]>;
  readBlob(sha: string): Promise<Buffer | undefined>;
}

/**
 * A write job's view of the config repo: the base commit's trees, read through the object reader,
 * plus the job's changes kept in memory. Nothing is checked out, so moving to a new remote tip is
 * a new overlay on it (no `git reset --hard` + `git clean` of a work tree that holds every
 * service of every environment), and what a job wrote is read back from memory for its commit.
 *
 * Paths are repository-relative, `/`-separated. A removed path hides the base's content at and
 * below it; a file written afterwards shows again.
 */
export class TreeOverlay {
  /** Files written in this overlay. */
  private readonly written = new Map<string, Buffer>();
  /** Paths removed in this overlay (files or directories). */
  private readonly hidden = new Set<string>();
  /**
   * What the base told the jobs (with `recordReads`): `f:<path>` → the entry read ('' when
   * missing), `d:<path>` → the directory's listing. Another commit that gives the same answers
   * to every one of them makes the same decisions (see {@link TreeOverlay.sameReads}).
   */
  private readonly reads?: Map<string, string>;

  constructor(private readonly base: OverlayBase, options: { recordReads?: boolean } = {}) {
    if (options.recordReads) this.reads = new Map();
  }

  /** The base facts this overlay's jobs read (with `recordReads`). */
  get baseReads(): ReadonlyMap<string, string> {
    return this.reads ?? new Map();
  }

  /** Whether `other`'s base answers every read in `reads` the same way. */
  static async sameReads(reads: ReadonlyMap<string, string>, other: OverlayBase): Promise<boolean> {
    const probe = new TreeOverlay(other);
    for (const [key, seen] of reads) {
      const rel = key.slice(2);
      const now = key.startsWith('f:') ? await probe.fileFact(rel) : await probe.dirFact(rel);
      if (now !== seen) return false;
    }
    return true;
  }

  private async fileFact(rel: string): Promise<string> {
    return entryFact(await this.baseEntry(rel));
  }

  private async dirFact(rel: string): Promise<string> {
    return listingFact(await this.baseDir(rel));
  }

  private isHidden(rel: string): boolean {
    if (this.hidden.size === 0) return false;
    let at = rel;
    for (;;) {
      if (this.hidden.has(at)) return true;
      const i = at.lastIndexOf('/');
      if (i < 0) return false;
      at = at.slice(0, i);
    }
  }

  /** The base's entry at `rel` ('' is the root), ignoring this overlay's changes. */
  private async baseEntry(rel: string): Promise<{ mode: string; sha: string } | undefined> {
    const root = this.base.rootTree;
    return root ? entryAt(root, rel, sha => this.base.readTree(sha)) : undefined;
  }

  /** The base's listing of directory `rel`, ignoring this overlay's changes; undefined when not a directory. */
  private async baseDir(rel: string): Promise<TreeEntry[] | undefined> {
    const dir = await this.baseEntry(rel);
    return dir && isTreeMode(dir.mode) ? this.base.readTree(dir.sha) : undefined;
  }

  /** The base's entries directly inside directory `rel` that this overlay has not removed. */
  private async baseChildren(rel: string): Promise<TreeEntry[]> {
    if (this.isHidden(rel)) return [];
    const entries = await this.baseDir(rel);
    if (this.reads && !this.reads.has(`d:${rel}`)) this.reads.set(`d:${rel}`, listingFact(entries));
    if (!entries) return [];
    const prefix = rel ? `${rel}/` : '';
    return entries.filter(e => !this.hidden.has(`${prefix}${e.name}`));
  }

  /** Written paths directly inside `rel`: files (one more segment) and directories (more). */
  private writtenChildren(rel: string): { files: string[]; dirs: string[] } {
    const prefix = rel ? `${rel}/` : '';
    const files: string[] = [];
    const dirs: string[] = [];
    for (const p of this.written.keys()) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) files.push(rest);
      else dirs.push(rest.slice(0, slash));
    }
    return { files, dirs };
  }

  async readFile(rel: string): Promise<string | undefined> {
    return (await this.readBytes(rel))?.toString('utf8');
  }

  async readBytes(rel: string): Promise<Buffer | undefined> {
    const mine = this.written.get(rel);
    if (mine) return mine;
    if (this.isHidden(rel)) return undefined;
    const e = await this.baseEntry(rel);
    if (this.reads && !this.reads.has(`f:${rel}`)) this.reads.set(`f:${rel}`, entryFact(e));
    if (!e || !isFileMode(e.mode)) return undefined;
    return this.base.readBlob(e.sha);
  }

  async writeFile(rel: string, content: string | Buffer): Promise<void> {
    this.written.set(rel, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
  }

  async remove(rel: string): Promise<void> {
    for (const p of [...this.written.keys()]) if (p === rel || p.startsWith(`${rel}/`)) this.written.delete(p);
    this.hidden.add(rel);
  }

  async list(rel: string): Promise<string[]> {
    const names = new Set(this.writtenChildren(rel).files);
    for (const e of await this.baseChildren(rel)) if (isFileMode(e.mode)) names.add(e.name);
    return [...names].sort();
  }

  async listDirs(rel: string): Promise<string[]> {
    const names = new Set(this.writtenChildren(rel).dirs);
    for (const e of await this.baseChildren(rel)) if (isTreeMode(e.mode)) names.add(e.name);
    return [...names].sort();
  }

  /** Repository-relative paths of the files at or below `rel` as this overlay has them, sorted. */
  async filesUnder(rel: string): Promise<string[]> {
    const out = new Set<string>();
    for (const p of this.written.keys()) if (p === rel || p.startsWith(`${rel}/`)) out.add(p);
    const walk = async (at: string, entry: { mode: string; sha: string }) => {
      if (this.hidden.has(at)) return;
      if (isFileMode(entry.mode)) {
        out.add(at);
        return;
      }
      if (!isTreeMode(entry.mode)) return;
      for (const e of await this.base.readTree(entry.sha)) await walk(`${at}/${e.name}`, e);
    };
    if (!this.isHidden(rel)) {
      const top = await this.baseEntry(rel);
      if (top) await walk(rel, top);
    }
    return [...out].sort();
  }
}
