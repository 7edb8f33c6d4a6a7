import type { Knex } from 'knex';

/** A git object as a push carried it. */
export interface HandedObject {
  type: string;
  content: Buffer;
}

/**
 * One push of the config repo branch as the replica that made it recorded it for the next holder
 * of the push lock: the branch moved from `parent` to `tip`, and `objects` are every object the
 * push added (commits, trees, blobs).
 */
export interface HandedOverPush {
  parent: string;
  tip: string;
  objects: HandedObject[];
}

/**
 * What replicas that take turns at the push lock (PushLock.ts) tell each other: the pushes each
 * made, so the next one builds on the branch's new tip without fetching it. Only ever a shortcut:
 * a record that is missing, incomplete or out of date makes the writer look at the remote as
 * before, and a tip the remote has moved past makes git refuse the push (never forced), after
 * which the writer fetches. Objects are content-addressed, and the commits are verified (signed
 * by the release manager) before anything is built on them.
 */
export interface PushHandoff {
  /**
   * The pushes recorded after the one that ended at `tip`, oldest first, each continuing the one
   * before: [] when that push is the last one recorded, undefined when `tip` is not in the record.
   */
  pushesAfter(tip: string): Promise<HandedOverPush[] | undefined>;
  /** Records a push just made (called while holding the push lock, after the push landed). */
  record(push: HandedOverPush): Promise<void>;
}

/** Objects as git stores them loose, before compression: `<type> <size>\0<content>`, one after the other. */
export function encodeObjects(objects: HandedObject[]): Buffer {
  const parts: Buffer[] = [];
  for (const o of objects) parts.push(Buffer.from(`${o.type} ${o.content.length}\0`, 'latin1'), o.content);
  return Buffer.concat(parts);
}

const OBJECT_TYPES = new Set(['blob', 'tree', 'commit']);

export function decodeObjects(buf: Buffer): HandedObject[] {
  const out: HandedObject[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nul = buf.indexOf(0, pos);
    if (nul < 0) throw new Error('malformed object list');
    const [type, size] = buf.subarray(pos, nul).toString('latin1').split(' ');
    const n = Number(size);
    if (!OBJECT_TYPES.has(type) || !/^\d+$/.test(size ?? '') || nul + 1 + n > buf.length) {
      throw new Error('malformed object list');
    }
    out.push({ type, content: buf.subarray(nul + 1, nul + 1 + n) });
    pos = nul + 1 + n;
  }
  return out;
}

/** How many pushes the record keeps per branch (older ones are pruned as new ones arrive). */
const KEEP = 200;

/**
 * The record in the plugin's PostgreSQL database (table `rm_push_handoff`, see migrations). When
 * the table is not there (yet), every call is a miss: the writer fetches as before.
 */
export class PostgresPushHandoff implements PushHandoff {
  constructor(
    private readonly knex: Knex,
    /** The branch of the config repo (the push lock's name). */
    private readonly key: string,
    private readonly onError?: (e: unknown) => void,
  ) {}

  async pushesAfter(tip: string): Promise<HandedOverPush[] | undefined> {
    try {
      const from = await this.knex('rm_push_handoff')
        .where({ lock_key: this.key, tip })
        .max('id as id')
        .first();
      if (!from?.id) return undefined;
      const rows = await this.knex('rm_push_handoff')
        .where('lock_key', this.key)
        .andWhere('id', '>', from.id)
        .orderBy('id')
        .select('parent', 'tip', 'objects');
      const out: HandedOverPush[] = [];
      let at = tip;
      for (const r of rows) {
        // A gap (a replica that pushed and died before recording): the record cannot say where the
        // branch is; the writer looks at the remote.
        if (r.parent !== at) return undefined;
        out.push({ parent: r.parent, tip: r.tip, objects: decodeObjects(r.objects) });
        at = r.tip;
      }
      return out;
    } catch (e) {
      this.onError?.(e);
      return undefined;
    }
  }

  async record(push: HandedOverPush): Promise<void> {
    try {
      const [row] = await this.knex('rm_push_handoff')
        .insert({ lock_key: this.key, parent: push.parent, tip: push.tip, objects: encodeObjects(push.objects) })
        .returning('id');
      const id = Number(typeof row === 'object' ? row.id : row);
      await this.knex('rm_push_handoff').where('lock_key', this.key).andWhere('id', '<=', id - KEEP).delete();
    } catch (e) {
      this.onError?.(e);
    }
  }
}
