import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { ConflictError, InputError } from '@backstage/errors';
import type {
  Artifact,
  ArtifactSpec,
  Page,
  Release,
  ReleaseIntent,
  RolloutState,
} from '@devplane/plugin-release-manager-common';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath(
  '@devplane/plugin-release-manager-backend',
  'migrations',
);

/** A new artifact row. */
export interface NewArtifact {
  spec: ArtifactSpec;
  environments: string[];
  createdBy: string;
  createdAt?: string;
}

/** A release row to record (the commit already exists in the config repo). */
export type NewRelease = Omit<Release, 'rollout'> & {
  /** Position of the commit in the config repo's first-parent history (orders the log). */
  commitSeq?: number;
};

/** A release row as the DORA metrics read it. */
export interface DoraReleaseRow {
  id: string;
  service: string;
  environment: string;
  intent: ReleaseIntent;
  releasedAt: string;
  sourceCommittedAt: string | null;
  artifactCreatedAt: string | null;
}

/** Rollout report stored against a release. */
export interface RolloutUpdate {
  state: RolloutState;
  ready?: number;
  desired?: number;
  message?: string;
  logLines?: string[];
  reason?: string;
  simulated?: boolean;
}

type ArtifactRow = {
  seq: number;
  service: string;
  artifact_id: string;
  namespace: string;
  squad: string | null;
  branch: string;
  sha: string;
  message: string;
  author_name: string;
  author_email: string;
  ci_job_url: string | null;
  created_by: string;
  created_at: string;
  environments: string;
  spec: string;
};

type ReleaseRow = {
  seq: number;
  id: string;
  config_repo: string;
  service: string;
  environment: string;
  namespace: string;
  artifact_id: string;
  intent: string;
  released_by: string;
  released_at: string;
  branch: string | null;
  promoted_from: string | null;
  rollback_of: string | null;
  reason: string | null;
  commit_title: string;
  commit_seq?: number | null;
  approved_by?: string | null;
  approval_request?: string | null;
  break_glass?: string | null;
  freeze_override?: string | null;
  freeze_window?: string | null;
  state?: string | null;
  ready?: number | null;
  desired?: number | null;
  status_message?: string | null;
  log_lines?: string | null;
  status_reason?: string | null;
  simulated?: boolean | number | null;
  status_updated_at?: string | null;
};

const MAX_PAGE = 200;

/** Filters of the release log: environment, intent (kind), and a person who released or approved. */
export interface ReleaseFilter {
  environment?: string;
  intent?: ReleaseIntent;
  /** Matches the releaser or the approver (as recorded: an email, or a user ref for service callers). */
  actor?: string;
}

function filterReleases(
  q: Knex.QueryBuilder,
  prefix: string,
  f: ReleaseFilter,
): void {
  if (f.environment) q.andWhere(`${prefix}environment`, f.environment);
  if (f.intent) q.andWhere(`${prefix}intent`, f.intent);
  if (f.actor) {
    const actor = f.actor;
    q.andWhere(w =>
      w
        .where(`${prefix}released_by`, actor)
        .orWhere(`${prefix}approved_by`, actor),
    );
  }
}

function pageLimit(limit?: number): number {
  if (limit === undefined) return 50;
  if (!Number.isInteger(limit) || limit < 1)
    throw new InputError('limit must be a positive integer');
  return Math.min(limit, MAX_PAGE);
}

function parseCursor(cursor?: string): number | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const text = /^[A-Za-z0-9_-]{1,24}$/.test(cursor)
    ? Buffer.from(cursor, 'base64url').toString('utf8')
    : '';
  const n = Number(text);
  if (!/^[0-9]{1,15}$/.test(text) || !Number.isSafeInteger(n)) {
    throw new InputError('cursor is invalid');
  }
  return n;
}

function makeCursor(n: number): string {
  return Buffer.from(String(n), 'utf8').toString('base64url');
}

/**
 * Release manager database: artifacts, the release log and rollout status. Works on SQLite and
 * PostgreSQL; the release log is a cache of the config repo's history (see `syncFromGit`).
 */
export class ReleaseManagerStore {
  static async create(options: {
    database: DatabaseService;
    skipMigrations?: boolean;
  }): Promise<ReleaseManagerStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip && !options.skipMigrations) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new ReleaseManagerStore(client);
  }

  private constructor(private readonly db: Knex) {}

  // --- artifacts -----------------------------------------------------------

  async insertArtifact(a: NewArtifact): Promise<Artifact> {
    const row = {
      service: a.spec.service,
      artifact_id: a.spec.id,
      namespace: a.spec.namespace,
      squad: a.spec.squad ?? null,
      branch: a.spec.application.branch,
      sha: a.spec.application.sha,
      message: a.spec.application.message,
      author_name: a.spec.application.authorName,
      author_email: a.spec.application.authorEmail,
      ci_job_url: a.spec.ci?.jobUrl ?? null,
      created_by: a.createdBy,
      created_at: a.createdAt ?? new Date().toISOString(),
      environments: JSON.stringify(a.environments),
      spec: JSON.stringify(a.spec),
      source_committed_at: a.spec.application.committedAt
        ? new Date(a.spec.application.committedAt).toISOString()
        : null,
    };
    try {
      await this.db('rm_artifacts').insert(row);
    } catch (e: any) {
      if (isUniqueViolation(e)) {
        throw new ConflictError(
          `Artifact '${a.spec.id}' of service '${a.spec.service}' already exists`,
        );
      }
      throw e;
    }
    return (await this.getArtifact(a.spec.service, a.spec.id))!;
  }

  async getArtifact(
    service: string,
    artifactId: string,
  ): Promise<Artifact | undefined> {
    const row = await this.db<ArtifactRow>('rm_artifacts')
      .where({ service, artifact_id: artifactId })
      .first();
    return row ? toArtifact(row) : undefined;
  }

  /** Replaces an artifact's environment list (restoring artifacts from git merges environments). */
  async setArtifactEnvironments(
    service: string,
    artifactId: string,
    environments: string[],
  ): Promise<void> {
    await this.db('rm_artifacts')
      .where({ service, artifact_id: artifactId })
      .update({ environments: JSON.stringify(environments) });
  }

  async listArtifacts(
    service: string,
    options: { branch?: string; limit?: number; cursor?: string } = {},
  ): Promise<Page<Artifact>> {
    const limit = pageLimit(options.limit);
    const before = parseCursor(options.cursor);
    const base = () => {
      const q = this.db<ArtifactRow>('rm_artifacts').where({ service });
      if (options.branch) q.andWhere({ branch: options.branch });
      return q;
    };
    const q = base()
      .orderBy('seq', 'desc')
      .limit(limit + 1);
    if (before !== undefined) q.andWhere('seq', '<', before);
    const rows = await q;
    const [{ count }] = await base().count({ count: '*' });
    const items = rows.slice(0, limit).map(toArtifact);
    return {
      items,
      total: Number(count),
      nextCursor:
        rows.length > limit ? makeCursor(rows[limit - 1].seq) : undefined,
    };
  }

  async countArtifacts(service: string): Promise<number> {
    const [{ count }] = await this.db('rm_artifacts')
      .where({ service })
      .count({ count: '*' });
    return Number(count);
  }

  /** Services whose artifacts name `squad` as owner. */
  async servicesOfSquad(squad: string): Promise<string[]> {
    const rows = await this.db('rm_artifacts')
      .distinct('service')
      .where({ squad });
    return rows.map(r => r.service as string);
  }

  /** The squad named by the newest artifact of a service. */
  async squadOf(service: string): Promise<string | undefined> {
    const row = await this.db<ArtifactRow>('rm_artifacts')
      .where({ service })
      .whereNotNull('squad')
      .orderBy('seq', 'desc')
      .first();
    return row?.squad ?? undefined;
  }

  // --- releases ------------------------------------------------------------

  /** Records releases; rows already present (same commit) are left alone. */
  async insertReleases(
    configRepo: string,
    releases: NewRelease[],
  ): Promise<void> {
    if (releases.length === 0) return;
    const rows = releases.map(r => ({
      id: r.id,
      config_repo: configRepo,
      service: r.service,
      environment: r.environment,
      namespace: r.namespace,
      artifact_id: r.artifactId,
      intent: r.intent,
      released_by: r.releasedBy,
      released_at: r.releasedAt,
      branch: r.branch ?? null,
      promoted_from: r.promotedFrom ?? null,
      rollback_of: r.rollbackOf ?? null,
      reason: r.reason ?? null,
      commit_title: r.commitTitle,
      commit_seq: r.commitSeq ?? null,
      approved_by: r.approvedBy ?? null,
      approval_request: r.approvalRequest ?? null,
      break_glass: r.breakGlass ?? null,
      freeze_override: r.freezeOverride ?? null,
      freeze_window: r.freezeWindow ?? null,
    }));
    for (let i = 0; i < rows.length; i += 100) {
      await this.db('rm_releases')
        .insert(rows.slice(i, i + 100))
        .onConflict('id')
        .merge(['commit_seq']);
    }
  }

  async countReleases(configRepo: string): Promise<number> {
    const [{ count }] = await this.db('rm_releases')
      .where({ config_repo: configRepo })
      .count({ count: '*' });
    return Number(count);
  }

  private releaseQuery(configRepo: string) {
    return this.db<ReleaseRow>('rm_releases as r')
      .leftJoin('rm_rollout_status as s', 's.release_id', 'r.id')
      .where('r.config_repo', configRepo)
      .select(
        'r.*',
        's.state as state',
        's.ready as ready',
        's.desired as desired',
        's.message as status_message',
        's.log_lines as log_lines',
        's.reason as status_reason',
        's.simulated as simulated',
        's.updated_at as status_updated_at',
      );
  }

  async getRelease(
    configRepo: string,
    id: string,
  ): Promise<Release | undefined> {
    const row = await this.releaseQuery(configRepo)
      .andWhere('r.id', id)
      .first();
    return row ? toRelease(row as ReleaseRow) : undefined;
  }

  async listReleases(
    configRepo: string,
    service: string,
    options: ReleaseFilter & { limit?: number; cursor?: string } = {},
  ): Promise<Page<Release>> {
    const limit = pageLimit(options.limit);
    const offset = parseCursor(options.cursor) ?? 0;
    const q = this.releaseQuery(configRepo).andWhere('r.service', service);
    filterReleases(q, 'r.', options);
    const rows = (await q
      .orderBy([
        { column: 'r.commit_seq', order: 'desc', nulls: 'last' },
        { column: 'r.seq', order: 'desc' },
      ])
      .offset(offset)
      .limit(limit + 1)) as ReleaseRow[];
    const countQ = this.db('rm_releases').where({
      config_repo: configRepo,
      service,
    });
    filterReleases(countQ, '', options);
    const [{ count }] = await countQ.count({ count: '*' });
    return {
      items: rows.slice(0, limit).map(toRelease),
      total: Number(count),
      nextCursor: rows.length > limit ? makeCursor(offset + limit) : undefined,
    };
  }

  /** The newest release (in commit order) of an artifact into an environment. */
  async findRelease(
    configRepo: string,
    service: string,
    environment: string,
    artifactId: string,
  ): Promise<Release | undefined> {
    const row = await this.releaseQuery(configRepo)
      .andWhere({
        'r.service': service,
        'r.environment': environment,
        'r.artifact_id': artifactId,
      })
      .orderBy([
        { column: 'r.commit_seq', order: 'desc', nulls: 'last' },
        { column: 'r.seq', order: 'desc' },
      ])
      .first();
    return row ? toRelease(row as ReleaseRow) : undefined;
  }

  /** Whether some release row lacks its commit position (written before commit ordering). */
  async hasUnorderedReleases(configRepo: string): Promise<boolean> {
    const row = await this.db('rm_releases')
      .where({ config_repo: configRepo })
      .whereNull('commit_seq')
      .first();
    return !!row;
  }

  /** Drops the index of a config repo (releases, rollout status stays keyed by commit). */
  async clearReleases(configRepo: string): Promise<void> {
    await this.db('rm_releases').where({ config_repo: configRepo }).delete();
    await this.db('rm_sync_state').where({ config_repo: configRepo }).delete();
  }

  async releasesSince(
    configRepo: string,
    services: string[],
    since: string,
  ): Promise<Release[]> {
    if (services.length === 0) return [];
    const rows = (await this.releaseQuery(configRepo)
      .whereIn('r.service', services)
      .andWhere('r.released_at', '>=', since)
      .orderBy([
        { column: 'r.commit_seq', order: 'desc', nulls: 'last' },
        { column: 'r.seq', order: 'desc' },
      ])) as ReleaseRow[];
    return rows.map(toRelease);
  }

  /**
   * Releases of the services into the environments at or after `since`, as the DORA metrics
   * need them: time, intent and where lead time starts (the artifact's source commit time, else
   * its upload time). One indexed query, no JSON parsing.
   */
  async doraReleases(
    configRepo: string,
    services: string[],
    environments: string[],
    since: string,
  ): Promise<DoraReleaseRow[]> {
    if (services.length === 0 || environments.length === 0) return [];
    const out: DoraReleaseRow[] = [];
    // bounded IN lists (SQLite's variable limit)
    for (let i = 0; i < services.length; i += 500) {
      const rows = await this.db('rm_releases as r')
        .leftJoin('rm_artifacts as a', function join() {
          this.on('a.service', '=', 'r.service').andOn(
            'a.artifact_id',
            '=',
            'r.artifact_id',
          );
        })
        .where('r.config_repo', configRepo)
        .whereIn('r.service', services.slice(i, i + 500))
        .whereIn('r.environment', environments)
        .andWhere('r.released_at', '>=', since)
        .select(
          'r.id as id',
          'r.service as service',
          'r.environment as environment',
          'r.intent as intent',
          'r.released_at as releasedAt',
          'a.source_committed_at as sourceCommittedAt',
          'a.created_at as artifactCreatedAt',
        )
        // history order: DORA tells which deployment a rollback rolled back by it
        .orderBy('r.seq', 'asc');
      for (const row of rows) out.push(row as DoraReleaseRow);
    }
    return out;
  }

  // --- rollout status ------------------------------------------------------

  async setRolloutStatus(
    releaseId: string,
    update: RolloutUpdate,
  ): Promise<void> {
    await this.db('rm_rollout_status')
      .insert({
        release_id: releaseId,
        state: update.state,
        ready: update.ready ?? null,
        desired: update.desired ?? null,
        message: update.message ?? null,
        log_lines: update.logLines ? JSON.stringify(update.logLines) : null,
        reason: update.reason ?? null,
        simulated: update.simulated ?? false,
        updated_at: new Date().toISOString(),
      })
      .onConflict('release_id')
      .merge();
  }

  /**
   * The rollout state cluster agents reported for each of these release commits (absent: none
   * reported). Status reports are keyed by commit and are not part of the index that a rebuild
   * from git drops.
   */
  async rolloutStates(
    releaseIds: string[],
  ): Promise<Map<string, RolloutState>> {
    const out = new Map<string, RolloutState>();
    for (let i = 0; i < releaseIds.length; i += 500) {
      const rows: Array<{ release_id: string; state: string }> = await this.db(
        'rm_rollout_status',
      )
        .whereIn('release_id', releaseIds.slice(i, i + 500))
        .select('release_id', 'state');
      for (const r of rows) out.set(r.release_id, r.state as RolloutState);
    }
    return out;
  }

  // --- git sync marker -----------------------------------------------------

  async getSyncMarker(configRepo: string): Promise<string | undefined> {
    const row = await this.db('rm_sync_state')
      .where({ config_repo: configRepo })
      .first();
    return row?.last_commit;
  }

  async setSyncMarker(configRepo: string, commit: string): Promise<void> {
    await this.db('rm_sync_state')
      .insert({
        config_repo: configRepo,
        last_commit: commit,
        updated_at: new Date().toISOString(),
      })
      .onConflict('config_repo')
      .merge();
  }
}

function isUniqueViolation(e: any): boolean {
  const msg = String(e?.message ?? '');
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint failed|duplicate key value/i.test(msg)
  );
}

function toArtifact(row: ArtifactRow): Artifact {
  return {
    id: row.artifact_id,
    service: row.service,
    namespace: row.namespace,
    branch: row.branch,
    sha: row.sha,
    message: row.message,
    authorName: row.author_name,
    authorEmail: row.author_email,
    ciJobUrl: row.ci_job_url ?? undefined,
    createdAt: row.created_at,
    createdBy: row.created_by,
    environments: JSON.parse(row.environments),
    spec: JSON.parse(row.spec),
  };
}

function toRelease(row: ReleaseRow): Release {
  return {
    id: row.id,
    service: row.service,
    environment: row.environment,
    namespace: row.namespace,
    artifactId: row.artifact_id,
    intent: row.intent as ReleaseIntent,
    releasedBy: row.released_by,
    releasedAt: row.released_at,
    branch: row.branch ?? undefined,
    promotedFrom: row.promoted_from ?? undefined,
    rollbackOf: row.rollback_of ?? undefined,
    reason: row.reason ?? undefined,
    commitTitle: row.commit_title,
    ...(row.approved_by ? { approvedBy: row.approved_by } : {}),
    ...(row.approval_request ? { approvalRequest: row.approval_request } : {}),
    ...(row.break_glass ? { breakGlass: row.break_glass } : {}),
    ...(row.freeze_override ? { freezeOverride: row.freeze_override } : {}),
    ...(row.freeze_window ? { freezeWindow: row.freeze_window } : {}),
    rollout: row.state
      ? {
          state: row.state as RolloutState,
          ready: row.ready ?? undefined,
          desired: row.desired ?? undefined,
          message: row.status_message ?? undefined,
          logLines: row.log_lines ? JSON.parse(row.log_lines) : undefined,
          reason: row.status_reason ?? undefined,
          ...(row.simulated ? { simulated: true } : {}),
          updatedAt: row.status_updated_at ?? undefined,
        }
      : { state: 'pending' },
  };
}
