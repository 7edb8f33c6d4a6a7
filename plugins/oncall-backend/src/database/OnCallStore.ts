import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  Incident,
  IncidentEvent,
  IncidentSeverity,
  IncidentStatus,
} from '@devplane/plugin-oncall-common';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath(
  '@devplane/plugin-oncall-backend',
  'migrations',
);

type IncidentRow = {
  id: string;
  entity_ref: string;
  rotation: string;
  title: string;
  severity: string;
  status: string;
  dedup_key: string;
  triggered_by: string;
  assigned_to: string | null;
  acknowledged_by: string | null;
  resolved_by: string | null;
  created_at: string;
  acknowledged_at: string | null;
  resolved_at: string | null;
  escalation_level?: number;
  escalation_path?: string | null;
  escalate_after_ms?: number | null;
  last_paged_at?: string | null;
};

type EventRow = {
  id?: number;
  incident_id: string;
  at: string;
  type: string;
  actor: string | null;
  level: number | null;
  people: string | null;
  detail: string | null;
};

function parsePath(text: string | null | undefined): string[][] {
  if (!text) return [];
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

function toEvent(row: EventRow): IncidentEvent {
  return {
    at: row.at,
    type: row.type as IncidentEvent['type'],
    actor: row.actor ?? undefined,
    level: row.level ?? undefined,
    people: row.people ? JSON.parse(row.people) : undefined,
    detail: row.detail ?? undefined,
  };
}

/** An embedded incident together with the rotation it paged. */
export type StoredIncident = Incident & {
  rotation: string;
  /** User refs per escalation level (index 0 = level 1). */
  escalationPath: string[][];
};

function toIncident(row: IncidentRow): StoredIncident {
  const escalationPath = parsePath(row.escalation_path);
  return {
    escalationPath,
    escalationLevel: Number(row.escalation_level ?? 1),
    escalationLevels: escalationPath.length || undefined,
    id: row.id,
    provider: 'embedded',
    entityRef: row.entity_ref,
    rotation: row.rotation,
    title: row.title,
    severity: row.severity as IncidentSeverity,
    status: row.status as IncidentStatus,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at ?? undefined,
    triggeredBy: row.triggered_by,
    assignedTo: row.assigned_to ?? undefined,
    acknowledgedBy: row.acknowledged_by ?? undefined,
    resolvedBy: row.resolved_by ?? undefined,
    dedupKey: row.dedup_key,
    actionable: row.status !== 'resolved',
  };
}

/** Embedded incidents and the trigger log, in the plugin's database. */
export class OnCallStore {
  static async create(options: {
    database: DatabaseService;
  }): Promise<OnCallStore> {
    const client = await options.database.getClient();
    if (!options.database.migrations?.skip) {
      await client.migrate.latest({ directory: migrationsDir });
    }
    return new OnCallStore(client);
  }

  constructor(private readonly db: Knex) {}

  /**
   * Inserts an incident unless one with the same dedup key exists, in which
   * case that one is returned. Safe under concurrent identical triggers (the
   * dedup key is unique).
   */
  async createIncident(input: {
    entityRef: string;
    rotation: string;
    title: string;
    severity: IncidentSeverity;
    dedupKey: string;
    triggeredBy: string;
    assignedTo?: string;
    /** Who to page, per level (index 0 = level 1). */
    escalationPath?: string[][];
    escalateAfterMs?: number;
    now: Date;
  }): Promise<{ incident: StoredIncident; created: boolean }> {
    const existing = await this.getByDedupKey(input.dedupKey);
    if (existing && existing.status !== 'resolved') {
      return { incident: existing, created: false };
    }
    if (existing) {
      // As with PagerDuty, a dedup key only folds triggers into an *open* incident: a resolved
      // incident gives its key up (renamed, so the unique index still holds) and a new one opens.
      await this.db('oncall_incidents')
        .where({ id: existing.id })
        .update({ dedup_key: `${existing.dedupKey}#resolved:${existing.id}` });
    }
    const row: IncidentRow = {
      id: randomUUID(),
      entity_ref: input.entityRef,
      rotation: input.rotation,
      title: input.title,
      severity: input.severity,
      status: 'triggered',
      dedup_key: input.dedupKey,
      triggered_by: input.triggeredBy,
      assigned_to: input.assignedTo ?? null,
      acknowledged_by: null,
      resolved_by: null,
      created_at: input.now.toISOString(),
      acknowledged_at: null,
      resolved_at: null,
      escalation_level: 1,
      escalation_path: JSON.stringify(input.escalationPath ?? []),
      escalate_after_ms: input.escalateAfterMs ?? null,
      last_paged_at: input.now.toISOString(),
    };
    await this.db('oncall_incidents')
      .insert(row)
      .onConflict('dedup_key')
      .ignore();
    const again = await this.getByDedupKey(input.dedupKey);
    if (!again) throw new Error('Incident insert vanished');
    const created = again.id === row.id;
    return { incident: again, created };
  }

  async getIncident(id: string): Promise<StoredIncident> {
    const row = await this.db<IncidentRow>('oncall_incidents')
      .where({ id })
      .first();
    if (!row) throw new NotFoundError(`No incident with id '${id}'`);
    const [incident] = await this.withTimelines([toIncident(row)]);
    return incident;
  }

  private async getByDedupKey(dedupKey: string) {
    const row = await this.db<IncidentRow>('oncall_incidents')
      .where({ dedup_key: dedupKey })
      .first();
    return row ? toIncident(row) : undefined;
  }

  async listOpenIncidents(entityRef: string): Promise<StoredIncident[]> {
    const rows = await this.db<IncidentRow>('oncall_incidents')
      .where({ entity_ref: entityRef })
      .whereIn('status', ['triggered', 'acknowledged'])
      .orderBy('created_at', 'desc')
      .limit(50);
    return this.withTimelines(rows.map(toIncident));
  }

  /**
   * Incidents of the entities opened or resolved at or after `since`, and those still open,
   * oldest first, at most `limit` (no timelines: the DORA metrics need times only).
   */
  async listIncidentsSince(
    entityRefs: string[],
    since: string,
    limit: number,
  ): Promise<{ incidents: StoredIncident[]; truncated: boolean }> {
    if (entityRefs.length === 0) return { incidents: [], truncated: false };
    const rows = await this.db<IncidentRow>('oncall_incidents')
      .whereIn('entity_ref', entityRefs)
      .andWhere(q =>
        q
          .where('created_at', '>=', since)
          .orWhere('resolved_at', '>=', since)
          .orWhereIn('status', ['triggered', 'acknowledged']),
      )
      .orderBy('created_at', 'asc')
      .limit(limit + 1);
    return {
      incidents: rows.slice(0, limit).map(toIncident),
      truncated: rows.length > limit,
    };
  }

  /** Adds each incident's timeline and reporters (one query for all). */
  async withTimelines(incidents: StoredIncident[]): Promise<StoredIncident[]> {
    if (incidents.length === 0) return incidents;
    const rows = await this.db<EventRow>('oncall_incident_events')
      .whereIn(
        'incident_id',
        incidents.map(i => i.id),
      )
      .orderBy('id', 'asc');
    return incidents.map(incident => {
      const timeline = rows
        .filter(r => r.incident_id === incident.id)
        .map(toEvent);
      const reporters = [
        ...new Set(
          [
            incident.triggeredBy,
            ...timeline.filter(e => e.type === 'joined').map(e => e.actor),
          ].filter((x): x is string => Boolean(x)),
        ),
      ];
      return { ...incident, timeline, reporters };
    });
  }

  async addEvent(incidentId: string, event: IncidentEvent): Promise<void> {
    await this.db<EventRow>('oncall_incident_events').insert({
      incident_id: incidentId,
      at: event.at,
      type: event.type,
      actor: event.actor ?? null,
      level: event.level ?? null,
      people: event.people ? JSON.stringify(event.people) : null,
      detail: event.detail ?? null,
    });
  }

  /**
   * Unacknowledged incidents whose current level was paged at least `escalate_after_ms` ago
   * and that have a further level to page.
   */
  async listDueForEscalation(now: Date): Promise<StoredIncident[]> {
    const rows = await this.db<IncidentRow>('oncall_incidents')
      .where({ status: 'triggered' })
      .whereNotNull('escalate_after_ms')
      .limit(500);
    return rows
      .map(toIncident)
      .filter(
        (i, idx) =>
          (i.escalationLevel ?? 1) < i.escalationPath.length &&
          Date.parse(rows[idx].last_paged_at ?? rows[idx].created_at) +
            Number(rows[idx].escalate_after_ms) <=
            now.getTime(),
      );
  }

  /**
   * Moves an unacknowledged incident from level `from` to `from + 1`. Returns false when another
   * replica did it first or the incident was acknowledged meanwhile (compare-and-set).
   */
  async escalate(id: string, from: number, now: Date): Promise<boolean> {
    const updated = await this.db('oncall_incidents')
      .where({ id, status: 'triggered', escalation_level: from })
      .update({ escalation_level: from + 1, last_paged_at: now.toISOString() });
    return Number(updated) === 1;
  }

  /** Moves an incident forward; acknowledging a resolved one is a conflict. */
  async transition(
    id: string,
    to: 'acknowledged' | 'resolved',
    by: string,
    now: Date,
  ): Promise<StoredIncident> {
    const current = await this.getIncident(id);
    if (current.status === 'resolved') {
      throw new ConflictError(`Incident ${id} is already resolved`);
    }
    if (to === 'acknowledged' && current.status === 'acknowledged') {
      return current;
    }
    const update =
      to === 'acknowledged'
        ? {
            status: 'acknowledged',
            acknowledged_by: by,
            acknowledged_at: now.toISOString(),
          }
        : {
            status: 'resolved',
            resolved_by: by,
            resolved_at: now.toISOString(),
          };
    await this.db('oncall_incidents')
      .where({ id })
      .whereNot({ status: 'resolved' })
      .update(update);
    return this.getIncident(id);
  }

  async recordTrigger(input: {
    entityRef: string;
    userRef: string;
    provider: string;
    incidentId?: string;
    dedupKey: string;
    now: Date;
  }) {
    await this.db('oncall_triggers').insert({
      entity_ref: input.entityRef,
      user_ref: input.userRef,
      provider: input.provider,
      incident_id: input.incidentId ?? null,
      dedup_key: input.dedupKey,
      created_at: input.now.toISOString(),
    });
  }

  /** How many triggers the user made for the entity since `since`. Shared across replicas. */
  async countTriggersSince(
    userRef: string,
    entityRef: string,
    since: Date,
  ): Promise<number> {
    const [{ count }] = await this.db('oncall_triggers')
      .where({ user_ref: userRef, entity_ref: entityRef })
      .where('created_at', '>', since.toISOString())
      .count({ count: '*' });
    return Number(count);
  }
}
