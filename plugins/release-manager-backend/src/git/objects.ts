import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fsSync from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * Git objects built and written in process (SHA-1 repositories): what the writer needs to make a
 * commit without a git process per step. Reads go through one long-lived `git cat-file --batch`.
 */

/** Object id of `content` as a git object of `type`. */
export function hashObject(type: string, content: Buffer): string {
  return crypto
    .createHash('sha1')
    .update(`${type} ${content.length}\0`)
    .update(content)
    .digest('hex');
}

/** Adler-32 of `data` (zlib's checksum). */
function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    // The remainders every 5552 bytes (zlib's NMAX) keep the sums small.
    const end = Math.min(data.length, i + 5552);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * `data` as a zlib stream of stored (uncompressed) deflate blocks: what git reads from a pack
 * entry (or a loose object) like any other zlib stream. Making a zlib context per object
 * (deflateSync) cost more than everything else of writing a release's objects.
 */
export function zlibStored(data: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = Buffer.allocUnsafe(2 + data.length + 5 * blocks + 4);
  out[0] = 0x78; // deflate, 32K window
  out[1] = 0x01; // check bits for 0x78: (0x78 * 256 + 0x01) % 31 === 0
  let o = 2;
  for (let k = 0; k < blocks; k++) {
    const chunk = data.subarray(k * 65535, Math.min(data.length, (k + 1) * 65535));
    out[o++] = k === blocks - 1 ? 1 : 0; // BFINAL on the last block, BTYPE 00 (stored)
    out.writeUInt16LE(chunk.length, o);
    out.writeUInt16LE(~chunk.length & 0xffff, o + 2);
    o += 4;
    chunk.copy(out, o);
    o += chunk.length;
  }
  out.writeUInt32BE(adler32(data), o);
  return out;
}

/** Object type numbers of the pack format (gitformat-pack). */
const PACK_TYPES: Record<string, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** A pack entry's header: type and inflated size, 4 bits then 7 bits per byte, low bits first. */
export function packEntryHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let byte = (type << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}

const sha1 = (...parts: Buffer[]) => {
  const h = crypto.createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
};

/**
 * A pack of whole objects (no deltas, zlib streams stored: see zlibStored) and its version-2
 * index; `checksum` (the pack's trailing SHA-1) names the pair. What `git index-pack` would build
 * from the same pack, byte for byte (objects.test.ts).
 */
export function buildPack(objects: { type: string; content: Buffer; sha?: string }[]): { pack: Buffer; idx: Buffer; checksum: Buffer } {
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(objects.length, 8);
  const parts: Buffer[] = [head];
  const entries: { sha: Buffer; offset: number; crc: number }[] = [];
  let offset = head.length;
  for (const { type, content, sha } of objects) {
    const code = PACK_TYPES[type];
    if (!code) throw new Error(`not a git object type: ${type}`);
    const entryHead = packEntryHeader(code, content.length);
    const body = zlibStored(content);
    entries.push({ sha: Buffer.from(sha ?? hashObject(type, content), 'hex'), offset, crc: zlib.crc32(body, zlib.crc32(entryHead)) });
    parts.push(entryHead, body);
    offset += entryHead.length + body.length;
  }
  const checksum = sha1(...parts);
  parts.push(checksum);

  entries.sort((a, b) => Buffer.compare(a.sha, b.sha));
  const n = entries.length;
  const large = entries.filter(e => e.offset >= 0x80000000);
  const idx = Buffer.alloc(8 + 256 * 4 + n * (20 + 4 + 4) + large.length * 8);
  idx.writeUInt32BE(0xff744f63, 0); // '\377tOc'
  idx.writeUInt32BE(2, 4);
  let at = 8;
  for (let byte = 0, k = 0; byte < 256; byte++) {
    while (k < n && entries[k].sha[0] <= byte) k++;
    idx.writeUInt32BE(k, at);
    at += 4;
  }
  for (const e of entries) at += e.sha.copy(idx, at);
  for (const e of entries) at = idx.writeUInt32BE(e.crc >>> 0, at);
  let nextLarge = 0;
  for (const e of entries) at = idx.writeUInt32BE(e.offset < 0x80000000 ? e.offset : (0x80000000 | nextLarge++) >>> 0, at);
  for (const e of large) {
    idx.writeUInt32BE(Math.floor(e.offset / 2 ** 32), at);
    idx.writeUInt32BE(e.offset % 2 ** 32, at + 4);
    at += 8;
  }
  const idxBody = Buffer.concat([idx, checksum]);
  return { pack: Buffer.concat(parts), idx: Buffer.concat([idxBody, sha1(idxBody)]), checksum };
}

/**
 * Collects objects and writes them as one pack with its version-2 index, as `git index-pack`
 * leaves a received pack: two files per batch of commits, where loose objects cost a file (and
 * a directory lookup, a temp file and a rename) per object. Entries are whole objects (no deltas),
 * their zlib streams stored (see zlibStored). The pack is named by its checksum, written to a temp
 * file and renamed, the index last: git uses a pack only once its index is there, so a reader
 * never sees half of one. Objects the repository already has may be written again: a second copy
 * in another pack is harmless, and `git repack` drops it (GitOpsWriter.maintain).
 */
export class PackWriter {
  private pending = new Map<string, { type: string; content: Buffer; sha: string }>();

  constructor(private readonly gitDir: string) {}

  /** Adds an object to the next pack; returns its id. */
  add(type: string, content: Buffer): string {
    if (!PACK_TYPES[type]) throw new Error(`not a git object type: ${type}`);
    const sha = hashObject(type, content);
    if (!this.pending.has(sha)) this.pending.set(sha, { type, content, sha });
    return sha;
  }

  /** Objects added since the last flush. */
  get size(): number {
    return this.pending.size;
  }

  /** Writes the objects added so far as one pack (nothing when there are none); returns its path. */
  flushSync(): string | undefined {
    const objects = [...this.pending.values()];
    this.pending = new Map();
    if (objects.length === 0) return undefined;
    const { pack, idx, checksum } = buildPack(objects);
    const dir = path.join(this.gitDir, 'objects', 'pack');
    const base = path.join(dir, `pack-${checksum.toString('hex')}`);
    const tmp = path.join(dir, `tmp_devplane_${process.pid}_${crypto.randomBytes(4).toString('hex')}`);
    fsSync.mkdirSync(dir, { recursive: true });
    fsSync.writeFileSync(`${tmp}.pack`, pack, { mode: 0o444 });
    fsSync.renameSync(`${tmp}.pack`, `${base}.pack`);
    fsSync.writeFileSync(`${tmp}.idx`, idx, { mode: 0o444 });
    fsSync.renameSync(`${tmp}.idx`, `${base}.idx`);
    return `${base}.pack`;
  }
}

/** An object as `cat-file --batch` gives it. */
export type GitObject = { sha: string; type: string; content: Buffer };

type Waiter = { name: string; resolve: (o: GitObject | undefined) => void; reject: (e: Error) => void };

/**
 * One `git cat-file --batch` kept running for a repository: each read is a line on its stdin,
 * not a process. Restarted after an error; closed after `idleMs` without reads. The process is
 * referenced (keeps Node alive) only while a read is pending.
 */
export class ObjectReader {
  private child?: ChildProcessWithoutNullStreams;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: Waiter[] = [];
  private idleTimer?: NodeJS.Timeout;
  /** Processes started (for tests and profiling). */
  started = 0;

  constructor(private readonly cwd: string, private readonly idleMs = 5000) {}

  /**
   * Id, type and raw content of an object (any name `cat-file` accepts, resolved when asked:
   * a ref name reads the ref as it is now); undefined when missing.
   */
  read(name: string): Promise<GitObject | undefined> {
    if (/[\n\r]/.test(name)) return Promise.reject(new Error('object name with a line break'));
    const child = this.ensure();
    return new Promise((resolve, reject) => {
      this.waiting.push({ name, resolve, reject });
      this.setRef(true);
      child.stdin.write(`${name}\n`);
    });
  }

  /** Stops the process (pending reads fail). */
  close(): void {
    const child = this.child;
    this.child = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (child) {
      child.stdin.end();
      child.kill();
    }
    this.fail(new Error('object reader closed'));
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.child) return this.child;
    const child = spawn('git', ['cat-file', '--batch'], { cwd: this.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.started++;
    this.child = child;
    this.buf = Buffer.alloc(0);
    child.stdout.on('data', (d: Buffer) => {
      if (child !== this.child) return;
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.drain();
    });
    child.stderr.on('data', () => undefined);
    const gone = (e: Error) => {
      if (child !== this.child) return;
      this.child = undefined;
      this.fail(e);
    };
    child.on('error', gone);
    child.on('close', code => gone(new Error(`git cat-file --batch exited (${code})`)));
    child.stdin.on('error', () => undefined);
    return child;
  }

  private drain() {
    while (this.waiting.length) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) return;
      const header = this.buf.subarray(0, nl).toString('utf8');
      const w = this.waiting[0];
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.buf = this.buf.subarray(nl + 1);
        this.waiting.shift();
        w.resolve(undefined);
        continue;
      }
      const [sha, type, size] = header.split(' ');
      const n = Number(size);
      if (!type || !Number.isInteger(n)) {
        this.close();
        return;
      }
      if (this.buf.length < nl + 1 + n + 1) return;
      const content = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + n));
      this.buf = this.buf.subarray(nl + 1 + n + 1);
      this.waiting.shift();
      w.resolve({ sha, type, content });
    }
    if (this.waiting.length === 0) this.idle();
  }

  private idle() {
    this.setRef(false);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.waiting.length === 0) this.close();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private setRef(on: boolean) {
    const c = this.child as any;
    if (!c) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr]) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }

  private fail(e: Error) {
    const w = this.waiting;
    this.waiting = [];
    this.buf = Buffer.alloc(0);
    for (const x of w) x.reject(e);
  }
}

/** One entry of a tree object; names are kept byte for byte (latin1 strings). */
export interface TreeEntry {
  mode: string;
  name: string;
  sha: string;
}

export function parseTree(content: Buffer): TreeEntry[] {
  const out: TreeEntry[] = [];
  let pos = 0;
  while (pos < content.length) {
    const sp = content.indexOf(0x20, pos);
    const nul = content.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > content.length) throw new Error('malformed tree object');
    out.push({
      mode: content.subarray(pos, sp).toString('latin1'),
      name: content.subarray(sp + 1, nul).toString('latin1'),
      sha: content.subarray(nul + 1, nul + 21).toString('hex'),
    });
    pos = nul + 21;
  }
  return out;
}

const isTreeMode = (mode: string) => mode === '40000' || mode === '040000';

/**
 * The entry at `rel` below the tree `root` ('' is the root itself), walking the trees on the way
 * (`readTree`, usually cached); undefined when missing or when a segment on the way is not a tree.
 */
export async function entryAt(
  root: string,
  rel: string,
  readTree: (sha: string) => Promise<TreeEntry[]>,
): Promise<{ mode: string; sha: string } | undefined> {
  if (rel === '') return { mode: '40000', sha: root };
  let tree = root;
  const segs = rel.split('/');
  for (const [i, s] of segs.entries()) {
    const e = (await readTree(tree)).find(x => x.name === s);
    if (!e) return undefined;
    if (i === segs.length - 1) return e;
    if (!isTreeMode(e.mode)) return undefined;
    tree = e.sha;
  }
  return undefined;
}

/** git's tree order: byte order of names, a directory compared as if its name ended in `/`. */
function treeOrder(a: TreeEntry, b: TreeEntry): number {
  const an = isTreeMode(a.mode) ? `${a.name}/` : a.name;
  const bn = isTreeMode(b.mode) ? `${b.name}/` : b.name;
  if (an === bn) return 0;
  return an < bn ? -1 : 1;
}

export function serializeTree(entries: TreeEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of [...entries].sort(treeOrder)) {
    parts.push(Buffer.from(`${e.mode} ${e.name}\0`, 'latin1'), Buffer.from(e.sha, 'hex'));
  }
  return Buffer.concat(parts);
}

type Node = { entries: Map<string, { mode: string; sha: string; node?: Node }>; dirty: boolean };

/**
 * Edits a tree in memory the way `git fast-import` applies `D <path>` / `M 100644 <blob> <path>`
 * (a path that becomes empty is dropped from its parent), reading only the trees on the edited
 * paths, and writes the changed trees. Records which file paths changed.
 */
export class TreeEditor {
  private root?: Node;
  private readonly before = new Map<string, string | undefined>();

  constructor(
    private readonly rootTree: string | undefined,
    private readonly readTree: (sha: string) => Promise<TreeEntry[]>,
  ) {}

  private async load(sha: string | undefined): Promise<Node> {
    const node: Node = { entries: new Map(), dirty: false };
    if (sha) for (const e of await this.readTree(sha)) node.entries.set(e.name, { mode: e.mode, sha: e.sha });
    return node;
  }

  /** The directory node at `segments`, loading (and with `create`, making) it; marks the way dirty. */
  private async dir(segments: string[], create: boolean): Promise<Node | undefined> {
    this.root ??= await this.load(this.rootTree);
    let node = this.root;
    for (const [i, s] of segments.entries()) {
      let e = node.entries.get(s);
      if (!e || !isTreeMode(e.mode)) {
        if (!create) return undefined;
        if (e) await this.noteRemoved(e, segments.slice(0, i + 1).join('/'));
        e = { mode: '40000', sha: '', node: { entries: new Map(), dirty: true } };
        node.entries.set(s, e);
      }
      e.node ??= await this.load(e.sha);
      node.dirty = true;
      node = e.node;
    }
    node.dirty = true;
    return node;
  }

  /** Remembers the blobs below a removed entry (for the list of changed paths). */
  private async noteRemoved(e: { mode: string; sha: string; node?: Node }, at: string): Promise<void> {
    if (!isTreeMode(e.mode)) {
      if (!this.before.has(at)) this.before.set(at, `${e.mode} ${e.sha}`);
      return;
    }
    const node = e.node ?? (await this.load(e.sha));
    for (const [name, child] of node.entries) await this.noteRemoved(child, `${at}/${name}`);
  }

  /** `D <rel>`: removes a file or a whole directory (missing is fine). */
  async remove(rel: string): Promise<void> {
    const segs = rel.split('/');
    const parent = await this.dir(segs.slice(0, -1), false);
    const e = parent?.entries.get(segs[segs.length - 1]);
    if (!parent || !e) return;
    await this.noteRemoved(e, rel);
    parent.entries.delete(segs[segs.length - 1]);
    parent.dirty = true;
  }

  /** `M 100644 <blob> <rel>`. */
  async put(rel: string, blob: string, mode = '100644'): Promise<void> {
    const segs = rel.split('/');
    const parent = (await this.dir(segs.slice(0, -1), true))!;
    const name = segs[segs.length - 1];
    const old = parent.entries.get(name);
    if (old) await this.noteRemoved(old, rel);
    else if (!this.before.has(rel)) this.before.set(rel, undefined);
    parent.entries.set(name, { mode, sha: blob });
    parent.dirty = true;
  }

  /**
   * Writes the changed trees (bottom up) and returns the new root tree and the file paths whose
   * content or mode differs from the base, in git's path order.
   */
  async finish(write: (type: string, content: Buffer) => Promise<string>): Promise<{ tree: string; changed: string[] }> {
    this.root ??= await this.load(this.rootTree);
    const after = new Map<string, string>();
    const seal = async (node: Node, at: string): Promise<string | undefined> => {
      const entries: TreeEntry[] = [];
      for (const [name, e] of node.entries) {
        const p = at ? `${at}/${name}` : name;
        if (e.node && e.node.dirty) {
          const sha = await seal(e.node, p);
          if (!sha) continue;
          e.sha = sha;
        } else if (!isTreeMode(e.mode) && this.before.has(p)) {
          after.set(p, `${e.mode} ${e.sha}`);
        }
        entries.push({ mode: e.mode, name, sha: e.sha });
      }
      if (entries.length === 0 && at) return undefined;
      node.dirty = false;
      return write('tree', serializeTree(entries));
    };
    const tree = (await seal(this.root, ''))!;
    const changed = [...this.before.keys()].filter(p => this.before.get(p) !== after.get(p));
    const bytes = (s: string) => Buffer.from(s, 'latin1');
    changed.sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
    return { tree, changed };
  }
}

/** The tree and parents named in a raw commit object's header. */
export function commitHeader(raw: Buffer): { tree: string; parents: string[] } {
  const end = raw.indexOf('\n\n');
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  let tree = '';
  const parents: string[] = [];
  for (const line of head.split('\n')) {
    if (line.startsWith('tree ')) tree = line.slice(5);
    else if (line.startsWith('parent ')) parents.push(line.slice(7));
    else if (!line.startsWith(' ') && tree && !line.startsWith('parent ')) break;
  }
  if (!/^[0-9a-f]{40}$/.test(tree)) throw new Error('malformed commit object');
  return { tree, parents };
}

/**
 * The file paths whose mode or content differ between two trees (either may be absent), read
 * only where the trees differ: what `git diff-tree -r --name-only --no-renames` lists (a gitlink
 * or symlink counts as a file).
 */
export async function changedFiles(
  a: string | undefined,
  b: string | undefined,
  readTree: (sha: string) => Promise<TreeEntry[]>,
  prefix = '',
): Promise<string[]> {
  if (a === b) return [];
  const left = new Map((a ? await readTree(a) : []).map(e => [e.name, e]));
  const right = new Map((b ? await readTree(b) : []).map(e => [e.name, e]));
  const out: string[] = [];
  for (const name of new Set([...left.keys(), ...right.keys()])) {
    const l = left.get(name);
    const r = right.get(name);
    if (l && r && l.mode === r.mode && l.sha === r.sha) continue;
    const p = prefix ? `${prefix}/${name}` : name;
    const lt = l && isTreeMode(l.mode) ? l.sha : undefined;
    const rt = r && isTreeMode(r.mode) ? r.sha : undefined;
    if (lt || rt) out.push(...(await changedFiles(lt, rt, readTree, p)));
    // A file on either side (also a file replaced by a directory or the reverse).
    if ((l && !lt) || (r && !rt)) out.push(p);
  }
  return out;
}
