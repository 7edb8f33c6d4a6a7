import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PushProgress, PushStep } from '@devplane/plugin-release-manager-common';
import { Knex } from 'knex';

type Row = {
  id: string;
  service: string;
  repo: string;
  branch: string;
  sha: string;
  pusher: string;
  source: string;
  artifact_id: string | null;
  state: string;
  steps: string;
  created_at: string;
  updated_at: string;
};

function toProgress(row: Row): PushProgress {
  return {
    id: row.id,
    service: row.service,
    repo: row.repo,
    branch: row.branch,
    sha: row.sha,
    pusher: row.pusher,
    source: row.source as PushProgress['source'],
    artifactId: row.artifact_id ?? undefined,
    state: row.state as PushProgress['state'],
    steps: JSON.parse(row.steps),
    imageBuilt: false,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Per-step progress of pushes (table `rm_push_progress`, created by the plugin's migrations).
 * Every replica writes and reads the same rows, so the portal sees a push whichever replica
 * received it.
 */
export class PushProgressStore {
  /** Emits the service name whenever this replica starts a push record or adds a step. */
  private readonly changes = new EventEmitter().setMaxListeners(0);

  constructor(private readonly db: Knex) {}

  /**
   * The pushes of a service once one changed after `changedAfter` (an ISO time: the newest
   * `updatedAt` the caller has seen): at once when the stored records already say so, else as
   * soon as this replica records a change for the service, else after `waitMs` (a change made
   * by another replica is seen then, or on the caller's next request).
   */
  async waitForChange(service: string, changedAfter: string, waitMs: number, limit = 20): Promise<PushProgress[]> {
    let wake: () => void = () => {};
    const woken = new Promise<void>(resolve => {
      wake = resolve;
    });
    let lastChange = 0;
    const onChange = (s: string) => {
      if (s !== service) return;
      lastChange = Date.now();
      wake();
    };
    // listen before reading, so a change between the read and the wait is not missed
    this.changes.on('change', onChange);
    const timer = setTimeout(wake, waitMs);
    try {
      const now = await this.list(service, limit);
      if (now.some(p => p.updatedAt > changedAfter)) return now;
      await woken;
      // The steps of one push come in bursts (the artifact, then each environment's release,
      // recorded one after the other): answer once the burst settled (no change for 25 ms, at
      // most 150 ms), so a follower gets them in one answer instead of one request each.
      const until = Date.now() + 150;
      for (let quiet = 25 - (Date.now() - lastChange); lastChange && quiet > 0 && Date.now() < until; ) {
        await new Promise(r => setTimeout(r, quiet));
        quiet = 25 - (Date.now() - lastChange);
      }
      return await this.list(service, limit);
    } finally {
      clearTimeout(timer);
      this.changes.off('change', onChange);
    }
  }

  async start(p: Omit<PushProgress, 'id' | 'steps' | 'state' | 'createdAt' | 'updatedAt' | 'imageBuilt'>, first: Omit<PushStep, 'at'>): Promise<PushProgress> {
    const now = new Date().toISOString();
    const row: Row = {
      id: crypto.randomUUID(),
      service: p.service,
      repo: p.repo,
      branch: p.branch.slice(0, 255),
      sha: p.sha,
      pusher: p.pusher.slice(0, 255),
      source: p.source,
      artifact_id: p.artifactId ?? null,
      state: 'received',
      steps: JSON.stringify([{ ...first, at: now }]),
      created_at: now,
      updated_at: now,
    };
    await this.db('rm_push_progress').insert(row);
    this.changes.emit('change', row.service);
    return toProgress(row);
  }

  async addStep(
    id: string,
    step: Omit<PushStep, 'at'>,
    update: { state?: PushProgress['state']; artifactId?: string } = {},
  ): Promise<PushProgress> {
    const updated = await this.db.transaction(async tx => {
      const row: Row | undefined = await tx('rm_push_progress').where({ id }).first();
      if (!row) throw new Error(`push progress ${id} not found`);
      const now = new Date().toISOString();
      const steps = [...JSON.parse(row.steps), { ...step, at: now }];
      const next: Partial<Row> = {
        steps: JSON.stringify(steps),
        updated_at: now,
        ...(update.state ? { state: update.state } : {}),
        ...(update.artifactId ? { artifact_id: update.artifactId } : {}),
      };
      await tx('rm_push_progress').where({ id }).update(next);
      return toProgress({ ...row, ...next } as Row);
    });
    this.changes.emit('change', updated.service);
    return updated;
  }

  async list(service: string, limit = 20): Promise<PushProgress[]> {
    const rows: Row[] = await this.db('rm_push_progress')
      .where({ service })
      .orderBy('created_at', 'desc')
      .limit(limit);
    return rows.map(toProgress);
  }
}
