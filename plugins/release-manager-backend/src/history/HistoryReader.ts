import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { ConflictError } from '@backstage/errors';
import type { ArtifactSpec, OutsideChange } from '@devplane/plugin-release-manager-common';
import { releaseFromTrailers, ReleaseTrailerInfo } from '../git/commitMessage';
import type { WrittenCommit } from '../git/GitOpsWriter';
import { hashObject } from '../git/objects';
import type { CommitSigner } from '../git/Signer';

/** One commit of the config repo's first-parent history, read and verified. */
export interface VerifiedCommit {
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  committerName: string;
  committerEmail: string;
  /** Committer date, ISO. */
  committedAt: string;
  subject: string;
  body: string;
  /** Trailers as git parses them (`%(trailers:only,unfold)`), values in order. */
  trailers: Record<string, string[]>;
  signature: 'good' | 'bad' | 'none';
  signerFingerprint?: string;
  /** Paths changed against the first parent. */
  paths: string[];
  /**
   * release: signed by the release manager, carries release trailers, touches a release folder.
   * policy: signed, touches `policies/`. outside: touches `<env>/releases/` or `policies/`
   * without a good signature by the release manager's key. maintenance: anything else.
   */
  kind: 'release' | 'policy' | 'outside' | 'maintenance';
  /** Position in first-parent order (1 = root), for ordering without clocks. */
  seq: number;
}

/** One service's release in one environment, as the tree says. */
export interface TreeRelease {
  environment: string;
  namespace: string;
  service: string;
  artifactId: string;
  artifact: ArtifactSpec;
  /** The commit that last changed this release folder (first-parent history). */
  commit: string;
  /** Its position in first-parent order. */
  seq: number;
}

/** What the config repo says at a commit. */
export interface TreeState {
  head: string;
  releases: TreeRelease[];
  /** Changes made outside the release manager that platform has not decided on yet. */
  outside: OutsideChange[];
}

/** Trailer keys of platform's decision on outside changes (a signed commit). */
export const DECISION_TRAILERS = {
  decision: 'Outside-change-decision',
  commits: 'Outside-change-commit',
  decidedBy: 'Decided-by',
};

const RELEASE_PATH = /^([^/]+)\/releases\/([^/]+)\/([^/]+)\/(.+)$/;
const TOUCHES_RELEASES = /^[^/]+\/releases\//;

/** Raised when the release manager would sign on top of an unresolved outside change. */
export class OutsideChangeError extends ConflictError {
  constructor(readonly changes: OutsideChange[]) {
    const c = changes[0];
    super(
      `The config repo was changed outside the release manager (commit ${c.commit.slice(0, 12)} by ${c.pusher}, ${c.paths
        .slice(0, 3)
        .join(', ')}${changes.length > 1 ? `, and ${changes.length - 1} more commit(s)` : ''}); nothing is written until platform reverts or adopts it (POST /api/release-manager/outside-changes/decision)`,
    );
  }
}

/**
 * A path whose change by a commit not signed by the release manager is an outside change (a
 * release folder of any environment, or a policy): the only paths that can make
 * {@link HistoryReader.assertWritable} refuse a tip.
 */
export function gatedPath(p: string): boolean {
  return TOUCHES_RELEASES.test(p) || p.startsWith('policies/');
}

function kindOf(c: Omit<VerifiedCommit, 'kind' | 'seq'>): VerifiedCommit['kind'] {
  const releases = c.paths.some(p => TOUCHES_RELEASES.test(p));
  const policies = c.paths.some(p => p.startsWith('policies/'));
  const good = c.signature === 'good';
  if (!good && c.paths.some(gatedPath)) return 'outside';
  if (good && releases && c.trailers.Service && c.trailers.Environment && c.trailers['Artifact-ID']) return 'release';
  if (good && policies && !releases) return 'policy';
  return 'maintenance';
}

/** The outside change a commit is, for display. */
export function outsideChangeOf(c: VerifiedCommit): OutsideChange {
  return {
    commit: c.sha,
    committedAt: c.committedAt,
    pusher: `${c.committerName} <${c.committerEmail}>`,
    author: `${c.authorName} <${c.authorEmail}>`,
    subject: c.subject.slice(0, 200),
    paths: c.paths.slice(0, 100),
    environments: [...new Set(c.paths.filter(p => TOUCHES_RELEASES.test(p)).map(p => p.split('/')[0]))],
    signature: c.signature === 'good' ? 'none' : c.signature,
  };
}

function parseSpec(raw: Buffer): ArtifactSpec | undefined {
  try {
    const spec = JSON.parse(raw.toString('utf8'));
    return spec && typeof spec === 'object' && typeof spec.id === 'string' ? spec : undefined;
  } catch {
    return undefined;
  }
}

/** One commit's fields as a history read yields them, before its signature is verified. */
interface CommitFields {
  sha: string;
  parents: string[];
  an: string;
  ae: string;
  cn: string;
  ce: string;
  /** Committer date, any form `Date` parses. */
  date: string;
  subject: string;
  body: string;
  trailers: Record<string, string[]>;
  paths: string[];
}

/**
 * The one place a {@link VerifiedCommit} is made, whether its fields came from `git log` or from
 * the bytes the writer signed: the signature verified over the raw commit object (against the
 * release manager's key only), the kind decided by {@link kindOf}.
 */
function recordOf(signer: CommitSigner, p: CommitFields, raw: Buffer | undefined, seq: number): VerifiedCommit {
  if (!/^[0-9a-f]{40,64}$/.test(p.sha)) throw new Error('config repo history could not be read (bad record)');
  const v = raw ? signer.verifyCommit(raw) : { signature: 'none' as const, signerFingerprint: undefined };
  const c = {
    sha: p.sha,
    parents: p.parents,
    authorName: p.an,
    authorEmail: p.ae,
    committerName: p.cn,
    committerEmail: p.ce,
    committedAt: new Date(p.date).toISOString(),
    subject: p.subject,
    body: p.body,
    trailers: p.trailers,
    signature: v.signature,
    signerFingerprint: v.signerFingerprint,
    paths: p.paths,
  };
  return { ...c, kind: kindOf(c), seq };
}

/** An empty trailer map (no prototype: a trailer named `constructor` is just a key). */
const noTrailers = (): Record<string, string[]> => Object.create(null);

/** Why commit bytes were not turned into a record (the caller reads the commit through git). */
export class CommitBytesRefused extends Error {
  constructor(
    message: string,
    /** True when the bytes fail verification (a bug or tampering), false when merely not plain enough. */
    readonly tampered: boolean,
  ) {
    super(`commit bytes refused: ${message}`);
  }
}

const blank = (l: string) => l.trim() === '';
/** A line git could read as a trailer (`token: value`, `token : value`) or a continuation. */
const TRAILER_LIKE = /^([A-Za-z0-9-]+\s*:|\s)/;
/** The exact trailer lines our writer makes: `Key: value`, one line, nothing to unfold. */
const PLAIN_TRAILER = /^([A-Za-z0-9][A-Za-z0-9-]*): (\S(?:.*\S)?)$/;

/**
 * Subject, body and trailers of a commit message exactly as `git log`'s `%s`, `%b` and
 * `%(trailers:only,unfold)` give them, for the plain messages our writer makes: one subject
 * line, a last paragraph that is either all `Key: value` lines or holds nothing git could take
 * for a trailer, no comment or patch-divider lines, no control characters but newlines. Anything
 * else throws {@link CommitBytesRefused} (the caller asks git instead).
 */
function messageFields(message: string): Pick<CommitFields, 'subject' | 'body' | 'trailers'> {
  for (let k = 0; k < message.length; k++) {
    const code = message.charCodeAt(k);
    if ((code < 0x20 && code !== 0x0a) || code === 0x7f) {
      throw new CommitBytesRefused('control characters in the message', false);
    }
  }
  const lines = message.split('\n');
  if (lines.some(l => l.startsWith('#') || l.startsWith('---'))) {
    throw new CommitBytesRefused('comment or divider lines in the message', false);
  }
  let i = 0;
  while (i < lines.length && blank(lines[i])) i++;
  const subject = (lines[i] ?? '').replace(/\s+$/, '');
  if (i + 1 < lines.length && !blank(lines[i + 1])) throw new CommitBytesRefused('a subject of several lines', false);
  let b = i + 1;
  while (b < lines.length && blank(lines[b])) b++;
  const body = lines.slice(b).join('\n');
  // The last paragraph after the subject (git never reads the subject as trailers).
  let end = lines.length;
  while (end > b && blank(lines[end - 1])) end--;
  let start = end;
  while (start > b && !blank(lines[start - 1])) start--;
  const trailers = noTrailers();
  const last = lines.slice(start, end);
  if (last.length && last.every(l => PLAIN_TRAILER.test(l))) {
    for (const l of last) {
      const m = PLAIN_TRAILER.exec(l)!;
      (trailers[m[1]] ??= []).push(m[2]);
    }
  } else if (last.some(l => TRAILER_LIKE.test(l))) {
    throw new CommitBytesRefused('a last paragraph git might read as trailers', false);
  }
  return { subject, body, trailers };
}

/** `Name <email> <seconds> <zone>` of an author/committer header line, as git splits it. */
function identOf(line: string): { name: string; email: string; date: string } {
  const m = /^([^<>]*)<([^<>]*)> (\d+) [+-]\d{4}$/.exec(line);
  if (!m) throw new CommitBytesRefused('an identity line git would not read plainly', false);
  return { name: m[1].replace(/\s+$/, ''), email: m[2], date: new Date(Number(m[3]) * 1000).toISOString() };
}

/**
 * The record of a commit this process signed and pushed, made from the exact bytes it signed
 * instead of reading them back with git: the id is the hash of the bytes, the signature must be
 * the release manager's and good, the header must name the `tree` and `parent` the writer built
 * the commit from (so `paths`, from its in-memory tree edit, belong to these bytes), and the
 * message is parsed to what `git log` would give (see {@link messageFields}). Then the same
 * {@link recordOf} as a read through git. Throws {@link CommitBytesRefused} otherwise.
 */
export function verifiedCommitFromBytes(
  signer: CommitSigner,
  input: { raw: Buffer; sha?: string; tree: string; parent: string; paths: string[]; seq: number },
): VerifiedCommit {
  const sha = hashObject('commit', input.raw);
  if (input.sha !== undefined && input.sha !== sha) throw new CommitBytesRefused('the id is not the hash of the bytes', true);
  const v = signer.verifyCommit(input.raw);
  if (v.signature !== 'good') throw new CommitBytesRefused(`signature ${v.signature}`, true);
  const split = input.raw.indexOf('\n\n');
  if (split < 0) throw new CommitBytesRefused('no message', true);
  const header = input.raw.subarray(0, split).toString('utf8').split('\n');
  let tree = '';
  const parents: string[] = [];
  let author: ReturnType<typeof identOf> | undefined;
  let committer: ReturnType<typeof identOf> | undefined;
  for (let k = 0; k < header.length; k++) {
    const line = header[k];
    const sp = line.indexOf(' ');
    const key = sp < 0 ? line : line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree' && !tree && !parents.length) tree = value;
    else if (key === 'parent' && tree && !author) parents.push(value);
    else if (key === 'author' && tree && !author) author = identOf(value);
    else if (key === 'committer' && author && !committer) committer = identOf(value);
    else if (key === 'gpgsig' && committer) {
      while (k + 1 < header.length && header[k + 1].startsWith(' ')) k++;
    } else throw new CommitBytesRefused(`header '${key.slice(0, 20)}' the writer does not write`, true);
  }
  if (!author || !committer) throw new CommitBytesRefused('no author or committer', true);
  if (tree !== input.tree || (parents[0] ?? '') !== input.parent || parents.length > 1) {
    throw new CommitBytesRefused('tree or parent differ from the ones the commit was built on', true);
  }
  const fields: CommitFields = {
    sha,
    parents,
    an: author.name,
    ae: author.email,
    cn: committer.name,
    ce: committer.email,
    date: committer.date,
    ...messageFields(input.raw.subarray(split + 2).toString('utf8')),
    paths: input.paths,
  };
  return recordOf(signer, fields, input.raw, input.seq);
}

/** Runs git, streaming stdout chunks to `onData`. */
function gitStream(cwd: string, args: string[], onData: (b: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const err: Buffer[] = [];
    child.stdout.on('data', onData);
    child.stderr.on('data', d => err.push(d));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve()
        : reject(new Error(`git ${args[0]} failed (${code}): ${Buffer.concat(err).toString('utf8').slice(0, 300)}`)),
    );
  });
}

async function gitOut(cwd: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', d => out.push(d));
    child.stderr.on('data', d => err.push(d));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`git ${args[0]} failed (${code}): ${Buffer.concat(err).toString('utf8').slice(0, 300)}`)),
    );
    child.stdin.end(input);
  });
}

/** Raw objects, in the order asked (undefined when missing), one `git cat-file --batch` per call. */
async function catFileList(cwd: string, names: string[]): Promise<(Buffer | undefined)[]> {
  return (await catFileTyped(cwd, names)).map(o => o?.data);
}

/** Objects with their types, in the order asked (undefined when missing). */
async function catFileTyped(cwd: string, names: string[]): Promise<({ type: string; data: Buffer } | undefined)[]> {
  if (names.length === 0) return [];
  if (names.some(n => /[\n\r]/.test(n))) throw new Error('object name with a line break');
  const all = await gitOut(cwd, ['cat-file', '--batch'], `${names.join('\n')}\n`);
  const out: ({ type: string; data: Buffer } | undefined)[] = [];
  let pos = 0;
  for (let i = 0; i < names.length; i++) {
    const nl = all.indexOf(0x0a, pos);
    if (nl < 0) throw new Error('cat-file output ended early');
    const header = all.subarray(pos, nl).toString('utf8');
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
      out.push(undefined);
      pos = nl + 1;
      continue;
    }
    const [, type, size] = header.split(' ');
    const n = Number(size);
    out.push({ type, data: all.subarray(nl + 1, nl + 1 + n) });
    pos = nl + 1 + n + 1;
  }
  return out;
}

/** Raw objects by id, one `git cat-file --batch` for the list. Missing objects are left out. */
export async function catFile(cwd: string, shas: string[]): Promise<Map<string, Buffer>> {
  const list = await catFileList(cwd, shas);
  const out = new Map<string, Buffer>();
  shas.forEach((sha, i) => {
    const b = list[i];
    if (b) out.set(sha, b);
  });
  return out;
}

/** Scan result up to a tip: outside changes not yet decided, and who last touched each release folder. */
interface Scan {
  tip: string;
  count: number;
  unresolved: Map<string, OutsideChange>;
  lastTouch: Map<string, { sha: string; seq: number }>;
  /** `<env>/<service>` → the last commit that changed the service's folder in any namespace. */
  lastTouchOfService: Map<string, { sha: string; seq: number }>;
}

const freshScan = (): Scan => ({
  tip: '',
  count: 0,
  unresolved: new Map(),
  lastTouch: new Map(),
  lastTouchOfService: new Map(),
});

/**
 * The one way the release manager reads the config repo: first-parent history with records
 * delimited by a per-read random marker (no message content can fake a boundary), trailers parsed
 * by git, every commit's signature verified in process against the release manager's key only,
 * and the tree at a commit. Status, log, promote source, rollback target and audit all read
 * through it.
 */
export class HistoryReader {
  private scan?: Scan;
  private advancing?: Promise<Scan>;
  /** The last tree read at the reader's ref: artifact.json path → spec. */
  private lastTree?: {
    head: string;
    specs: Map<string, { env: string; ns: string; service: string; spec: ArtifactSpec }>;
  };

  constructor(
    private readonly options: {
      /** A clone of the config repo (the writer's). */
      cwd: string;
      /** The ref to read by default (the remote-tracking branch). */
      ref: string;
      signer: CommitSigner;
      chunk?: number;
      /**
       * Resolves a ref to a commit id ('' when none) without a process of its own (the writer's
       * long-lived object reader); default: `git rev-parse` per call.
       */
      resolveRef?: (ref: string) => Promise<string>;
    },
  ) {}

  /** Resolves a ref to a commit id; undefined when it does not exist. */
  async resolve(ref?: string): Promise<string | undefined> {
    if (this.options.resolveRef) {
      return (await this.options.resolveRef(ref ?? this.options.ref).catch(() => '')) || undefined;
    }
    try {
      return (await gitOut(this.options.cwd, ['rev-parse', '--verify', '--quiet', `${ref ?? this.options.ref}^{commit}`]))
        .toString('utf8')
        .trim();
    } catch {
      return undefined;
    }
  }

  private async isAncestor(a: string, b: string): Promise<boolean> {
    try {
      await gitOut(this.options.cwd, ['merge-base', '--is-ancestor', a, b]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Commits of the first-parent history, oldest first: all of them, or those after `since`
   * (when `since` is an ancestor of the tip; else all). `until` defaults to the reader's ref.
   */
  async *commits(options: { since?: string; until?: string; startSeq?: number } = {}): AsyncIterable<VerifiedCommit> {
    const tip =
      options.until && /^[0-9a-f]{40}$/.test(options.until) ? options.until : await this.resolve(options.until);
    if (!tip) return;
    let range = tip;
    let seq = options.startSeq ?? 0;
    if (options.since && options.startSeq !== undefined) {
      // The caller knows `since` and its position; whether the history continues from it is
      // checked on the records (see scanTo), not with another git process.
      range = `${options.since}..${tip}`;
    } else if (options.since && (await this.isAncestor(options.since, tip))) {
      range = `${options.since}..${tip}`;
      if (options.startSeq === undefined) {
        seq = Number((await gitOut(this.options.cwd, ['rev-list', '--count', '--first-parent', options.since])).toString().trim());
      }
    } else {
      seq = 0;
    }
    const n = crypto.randomBytes(12).toString('hex');
    const REC = `\0R${n}`;
    const FLD = `\0F${n}`;
    const TSEP = `\0T${n}`;
    const KSEP = `\0K${n}`;
    const fmt = ['%H', '%P', '%an', '%ae', '%cn', '%ce', '%cI', '%s', '%b', `%(trailers:only,unfold,separator=%x00T${n},key_value_separator=%x00K${n})`]
      .join(`%x00F${n}`);
    const args = [
      '-c',
      'core.quotePath=false',
      'log',
      '--reverse',
      '--first-parent',
      '--diff-merges=first-parent',
      '--no-renames',
      '--name-only',
      '-z',
      '--no-show-signature',
      `--format=format:%x00R${n}${fmt}%x00F${n}`,
      range,
      '--',
    ];
    const records: string[] = [];
    let buf = '';
    const decoder = new StringDecoder('utf8');
    let done = false;
    let failed: unknown;
    let wake: (() => void) | undefined;
    const proc = gitStream(this.options.cwd, args, d => {
      buf += decoder.write(d);
      let i = buf.indexOf(REC, 1);
      while (i > 0) {
        records.push(buf.slice(0, i));
        buf = buf.slice(i);
        i = buf.indexOf(REC, 1);
      }
      wake?.();
    }).then(
      () => {
        buf += decoder.end();
        if (buf.startsWith(REC)) records.push(buf);
        buf = '';
        done = true;
        wake?.();
      },
      e => {
        failed = e;
        done = true;
        wake?.();
      },
    );
    const chunk = this.options.chunk ?? 500;
    const waitForData = () =>
      new Promise<void>(r => {
        wake = r;
      });
    for (;;) {
      while (!done && records.length < chunk) await waitForData();
      wake = undefined;
      if (failed) throw failed;
      const batch = records.splice(0, chunk);
      if (batch.length === 0 && done) break;
      const parsed = batch.map(rec => {
        const fields = rec.slice(REC.length).split(FLD);
        const [sha, parents, an, ae, cn, ce, date, subject, body, trailerText] = fields;
        // After the format git writes one newline, then the NUL-terminated paths.
        const tail = fields.slice(10).join(FLD);
        const paths = (tail.startsWith('\n') ? tail.slice(1) : tail).split('\0').filter(Boolean);
        const trailers = noTrailers();
        for (const t of (trailerText ?? '').split(TSEP)) {
          const k = t.indexOf(KSEP);
          if (k <= 0) continue;
          const key = t.slice(0, k).trim();
          (trailers[key] ??= []).push(t.slice(k + KSEP.length).trim());
        }
        const f: CommitFields = { sha, parents: parents ? parents.split(' ') : [], an, ae, cn, ce, date, subject, body, trailers, paths };
        return f;
      });
      const raws = await catFile(this.options.cwd, parsed.map(p => p.sha));
      for (const p of parsed) yield recordOf(this.options.signer, p, raws.get(p.sha), ++seq);
      if (done && records.length === 0) break;
    }
    await proc;
  }

  private apply(scan: Scan, c: VerifiedCommit) {
    scan.count = c.seq;
    scan.tip = c.sha;
    if (c.kind === 'outside') scan.unresolved.set(c.sha, outsideChangeOf(c));
    if (c.signature === 'good' && c.trailers[DECISION_TRAILERS.decision]) {
      for (const v of c.trailers[DECISION_TRAILERS.commits] ?? []) {
        for (const sha of v.split(/[\s,]+/)) scan.unresolved.delete(sha);
      }
    }
    for (const p of c.paths) {
      const m = RELEASE_PATH.exec(p);
      if (m) {
        const touch = { sha: c.sha, seq: c.seq };
        scan.lastTouch.set(`${m[1]}/${m[2]}/${m[3]}`, touch);
        scan.lastTouchOfService.set(`${m[1]}/${m[3]}`, touch);
      }
    }
  }

  /**
   * Brings the cached scan up to `tip` (incrementally when it is a descendant). Applied in place:
   * every applied commit continues the one before it, so a read that fails half way leaves a
   * scan that is consistent up to its own tip (no copy of the maps per write).
   */
  private async scanTo(tip: string): Promise<Scan> {
    while (this.advancing) await this.advancing.catch(() => undefined);
    if (this.scan?.tip === tip) return this.scan;
    this.advancing = (async () => {
      let scan = this.scan ?? freshScan();
      this.scan = scan;
      let continues = true;
      const from = scan.tip;
      let expectParent = from;
      for await (const c of this.commits({ since: from || undefined, until: tip, startSeq: from ? scan.count : 0 })) {
        if (from && c.parents[0] !== expectParent) continues = false;
        expectParent = c.sha;
        if (continues) this.apply(scan, c);
      }
      if (from && (!continues || expectParent !== tip)) {
        // The history does not continue from what was read (rewritten): read it all again.
        scan = freshScan();
        for await (const c of this.commits({ until: tip })) this.apply(scan, c);
      }
      scan.tip = tip;
      this.scan = scan;
      return scan;
    })().finally(() => {
      this.advancing = undefined;
    });
    return this.advancing;
  }

  /**
   * A scan fed by a full read someone else makes (the index sync reads the whole history when it
   * rebuilds): `add` every commit in order, `done` adopts the scan when no scan was made
   * meanwhile. Saves reading and verifying the whole history a second time at start.
   */
  fullReadObserver(): { add(c: VerifiedCommit): void; done(): void } {
    const scan = freshScan();
    let ok = !this.scan;
    return {
      add: c => {
        if (!ok) return;
        if (c.seq !== scan.count + 1 || (scan.tip && c.parents[0] !== scan.tip)) {
          ok = false;
          return;
        }
        this.apply(scan, c);
      },
      done: () => {
        if (ok && scan.tip && !this.scan && !this.advancing) this.scan = scan;
      },
    };
  }

  /**
   * The last commit of the first-parent history (as of `ref`, default the reader's ref) that
   * changed the service's release folder in `environment`, whatever its namespace; '' when none.
   * From the cached scan: no walk of the history per call.
   */
  async lastCommitOf(environment: string, service: string, ref?: string): Promise<string> {
    const tip = await this.resolve(ref);
    if (!tip) return '';
    return (await this.scanTo(tip)).lastTouchOfService.get(`${environment}/${service}`)?.sha ?? '';
  }

  /**
   * Lets the cached scan take commits another caller already read (the index sync reads the same
   * new commits after every write): applied when they continue the scan exactly, else ignored.
   */
  absorb(from: string, commits: VerifiedCommit[]): void {
    const scan = this.scan;
    if (!scan || this.advancing || scan.tip !== from || commits.length === 0) return;
    if (commits[0].parents[0] !== from) return;
    for (let i = 1; i < commits.length; i++) if (commits[i].parents[0] !== commits[i - 1].sha) return;
    for (const c of commits) this.apply(scan, c);
  }

  /**
   * Position (first-parent count) of `sha` when it is the cached scan's tip, else undefined: lets
   * the index sync number commits written on top of it without counting the history through git
   * (after another replica's push was handed over, the scan's tip is that replica's last commit).
   */
  seqOfTip(sha: string): number | undefined {
    const scan = this.scan;
    return scan && !this.advancing && scan.tip === sha ? scan.count : undefined;
  }

  /**
   * Commits another replica pushed, as it handed them over (its signed bytes, see
   * git/pushHandoff.ts): true when every one is the release manager's own, signed; the cached scan
   * takes them when it is at `from` (so the writer's gate needs no git process for them).
   */
  absorbWritten(from: string, written: WrittenCommit[]): boolean {
    const count = this.scan?.tip === from ? this.scan.count : 0;
    let verified: VerifiedCommit[];
    try {
      verified = written.map((w, i) => this.fromBytes({ ...w, seq: count + i + 1 }));
    } catch (e) {
      if (e instanceof CommitBytesRefused) return false;
      throw e;
    }
    this.absorb(from, verified);
    return true;
  }

  /** Outside changes platform has not decided on, as of `ref` (default: the reader's ref). */
  async outside(ref?: string): Promise<OutsideChange[]> {
    const tip = await this.resolve(ref);
    if (!tip) return [];
    return [...(await this.scanTo(tip)).unresolved.values()];
  }

  /** Throws {@link OutsideChangeError} when `tip` holds an undecided outside change. */
  async assertWritable(tip: string): Promise<void> {
    const outside = [...(await this.scanTo(tip)).unresolved.values()];
    if (outside.length) throw new OutsideChangeError(outside);
  }

  /**
   * The releases in the tree at `ref` (default: the reader's ref) and the undecided outside
   * changes. After the first full read, a new head costs a diff against the last one read and
   * the artifact.json files that changed (not a walk of the whole tree).
   */
  async stateAt(ref?: string): Promise<TreeState> {
    const head = await this.resolve(ref);
    if (!head) return { head: '', releases: [], outside: [] };
    let specs: Map<string, { env: string; ns: string; service: string; spec: ArtifactSpec }>;
    const last = this.lastTree;
    if (last && last.head === head) {
      specs = last.specs;
    } else if (last) {
      const changed = (await gitOut(this.options.cwd, ['diff-tree', '-r', '-z', '--no-renames', '--name-only', last.head, head]))
        .toString('utf8')
        .split('\0')
        .filter(p => RELEASE_PATH.test(p) && p.endsWith('/artifact.json') && !/[\n\r]/.test(p));
      specs = new Map(last.specs);
      const blobs = await catFile(this.options.cwd, changed.map(p => `${head}:${p}`));
      changed.forEach(p => {
        const m = RELEASE_PATH.exec(p)!;
        const raw = blobs.get(`${head}:${p}`);
        const spec = raw && parseSpec(raw);
        if (spec) specs.set(p, { env: m[1], ns: m[2], service: m[3], spec });
        else specs.delete(p);
      });
    } else {
      specs = new Map();
      const listing = (await gitOut(this.options.cwd, ['ls-tree', '-r', '-z', '--full-tree', head])).toString('utf8');
      const wanted: { path: string; blob: string }[] = [];
      for (const entry of listing.split('\0')) {
        const tab = entry.indexOf('\t');
        if (tab < 0) continue;
        const [mode, type, blob] = entry.slice(0, tab).split(' ');
        const p = entry.slice(tab + 1);
        const m = RELEASE_PATH.exec(p);
        if (!m || m[4] !== 'artifact.json' || type !== 'blob' || !mode.startsWith('100')) continue;
        wanted.push({ path: p, blob });
      }
      const blobs = await catFile(this.options.cwd, [...new Set(wanted.map(w => w.blob))]);
      for (const w of wanted) {
        const m = RELEASE_PATH.exec(w.path)!;
        const raw = blobs.get(w.blob);
        const spec = raw && parseSpec(raw);
        if (spec) specs.set(w.path, { env: m[1], ns: m[2], service: m[3], spec });
      }
    }
    if (!ref || head === (await this.resolve())) this.lastTree = { head, specs };
    // Read the scan right after it reached `head` (it advances in place: no await in between).
    const scan = await this.scanTo(head);
    const releases: TreeRelease[] = [];
    for (const w of specs.values()) {
      const touch = scan.lastTouch.get(`${w.env}/${w.ns}/${w.service}`);
      releases.push({
        environment: w.env,
        namespace: w.ns,
        service: w.service,
        artifactId: w.spec.id,
        artifact: w.spec,
        commit: touch?.sha ?? head,
        seq: touch?.seq ?? scan.count,
      });
    }
    return { head, releases, outside: [...scan.unresolved.values()] };
  }

  /**
   * The files directly inside `dir` at each commit (name → text), read with two
   * `git cat-file --batch` runs for the whole list (not a process per file): undefined when the
   * folder does not exist there; `nested` when it holds anything but plain files.
   */
  async readDirs(
    items: { commit: string; dir: string }[],
  ): Promise<({ files: Record<string, string>; nested: boolean } | undefined)[]> {
    const out: ({ files: Record<string, string>; nested: boolean } | undefined)[] = items.map(() => undefined);
    const trees = await catFileTyped(
      this.options.cwd,
      items.map(i => `${i.commit}:${i.dir}`),
    );
    const wanted: { item: number; name: string; blob: string }[] = [];
    trees.forEach((obj, n) => {
      if (!obj || obj.type !== 'tree') return;
      const tree = obj.data;
      const entry = { files: {} as Record<string, string>, nested: false };
      const mine: { item: number; name: string; blob: string }[] = [];
      let pos = 0;
      // A tree object: "<mode> <name>\0<binary id>" repeated (20-byte ids, 32 in SHA-256 repos).
      const idBytes = items[n].commit.length === 64 ? 32 : 20;
      while (pos < tree.length) {
        const sp = tree.indexOf(0x20, pos);
        const nul = tree.indexOf(0, sp);
        if (sp < 0 || nul < 0 || nul + 1 + idBytes > tree.length) return;
        const mode = tree.subarray(pos, sp).toString('latin1');
        const name = tree.subarray(sp + 1, nul).toString('utf8');
        const id = tree.subarray(nul + 1, nul + 1 + idBytes).toString('hex');
        pos = nul + 1 + idBytes;
        if (mode === '100644' || mode === '100755') mine.push({ item: n, name, blob: id });
        else entry.nested = true;
      }
      wanted.push(...mine);
      out[n] = entry;
    });
    const blobs = await catFile(this.options.cwd, [...new Set(wanted.map(w => w.blob))]);
    for (const w of wanted) {
      const b = blobs.get(w.blob);
      if (b) out[w.item]!.files[w.name] = b.toString('utf8');
    }
    return out;
  }

  /**
   * The record of a commit this process wrote, from the bytes it signed (see
   * {@link verifiedCommitFromBytes}): what {@link HistoryReader.commits} yields for the same
   * commit, without a git process. Commits read from anywhere else go through `commits`.
   */
  fromBytes(input: { raw: Buffer; sha?: string; tree: string; parent: string; paths: string[]; seq: number }): VerifiedCommit {
    return verifiedCommitFromBytes(this.options.signer, input);
  }

  /**
   * Blobs by `<commit>:<path>` name, one `git cat-file --batch` for the whole list; names that
   * do not exist are absent from the map.
   */
  async readBlobs(names: string[]): Promise<Map<string, Buffer>> {
    return catFile(this.options.cwd, names);
  }

  /** Number of first-parent commits up to the last scanned tip. */
  get scannedCount(): number {
    return this.scan?.count ?? 0;
  }
}

/** What a verified release commit records: its trailers, the folder it wrote, reason and title. */
export type RecordedReleaseInfo = ReleaseTrailerInfo & { namespace?: string; reason?: string; title: string };

/** The release a verified commit records (only for kind 'release'; each key exactly once). */
export function releaseInfoOf(c: VerifiedCommit): RecordedReleaseInfo | undefined {
  if (c.kind !== 'release') return undefined;
  for (const k of Object.keys(c.trailers)) if (c.trailers[k].length > 1) return undefined;
  const info = releaseFromTrailers(k => c.trailers[k]?.[0]);
  if (!info) return undefined;
  // The release folder this commit wrote (the one holding artifact.json).
  const dir = c.paths
    .map(p => RELEASE_PATH.exec(p))
    .find(m => m && m[1] === info.environment && m[3] === info.service && m[4] === 'artifact.json');
  return {
    ...info,
    namespace: dir?.[2],
    reason: c.body.replace(/\n+$/, '').trim() ? stripTrailers(c.body) : undefined,
    title: c.subject,
  };
}

/** The body without its trailer paragraph (git's `%b` includes it). */
function stripTrailers(body: string): string | undefined {
  const paras = body.replace(/\r/g, '').replace(/\n+$/, '').split(/\n\s*\n/);
  const last = paras[paras.length - 1] ?? '';
  if (last.split('\n').every(l => /^[A-Za-z][A-Za-z0-9-]*: /.test(l))) paras.pop();
  const text = paras.join('\n\n').trim();
  return text || undefined;
}
