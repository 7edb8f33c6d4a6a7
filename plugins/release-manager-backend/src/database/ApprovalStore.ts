import { ConflictError } from '@backstage/errors';
import type {
  ApprovalRequest,
  ApprovalStatus,
  Page,
} from '@devplane/plugin-release-manager-common';
import { Knex } from 'knex';

type Row = {
  id: string;
  service: string;
  environment: string;
  artifact_id: string;
  intent: string;
  status: string;
  requested_by: string;
  requested_by_ref: string;
  requested_at: string;
  expires_at: string;
  squad: string | null;
  details: string;
};

/** Fields kept in the JSON `details` column. */
type Details = Omit<
  ApprovalRequest,
  | 'id'
  | 'service'
  | 'environment'
  | 'artifactId'
  | 'intent'
  | 'status'
  | 'requestedBy'
  | 'requestedByRef'
  | 'requestedAt'
  | 'expiresAt'
  | 'squad'
  | 'canApprove'
>;

function toRow(r: ApprovalRequest): Row {
  const {
    id,
    service,
    environment,
    artifactId,
    intent,
    status,
    requestedBy,
    requestedByRef,
    requestedAt,
    expiresAt,
    squad,
    canApprove: _c,
    ...details
  } = r;
  return {
    id,
    service,
    environment,
    artifact_id: artifactId,
    intent,
    status,
    requested_by: requestedBy,
    requested_by_ref: requestedByRef,
    requested_at: requestedAt,
    expires_at: expiresAt,
    squad: squad ?? null,
    details: JSON.stringify(details),
  };
}

function fromRow(row: Row): ApprovalRequest {
  const details: Details = JSON.parse(row.details);
  return {
    id: row.id,
    service: row.service,
    environment: row.environment,
    artifactId: row.artifact_id,
    intent: row.intent as ApprovalRequest['intent'],
    status: row.status as ApprovalStatus,
    requestedBy: row.requested_by,
    requestedByRef: row.requested_by_ref,
    requestedAt: row.requested_at,
    expiresAt: row.expires_at,
    squad: row.squad ?? undefined,
    ...details,
  };
}

/**
 * Approval requests in the plugin's database (table `rm_approval_requests`, migration
 * 20261201100000_approvals). The status column is the claim: a decision moves it with a
 * conditional update, so two approvers (or two replicas) never both apply one request.
 */
export class ApprovalStore {
  constructor(private readonly db: Knex) {}

  async insert(r: ApprovalRequest): Promise<void> {
    await this.db('rm_approval_requests').insert(toRow(r));
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    const row = await this.db<Row>('rm_approval_requests')
      .where({ id })
      .first();
    return row ? fromRow(row) : undefined;
  }

  /** Newest first; `cursor` is the last page's oldest `requested_at|id`. */
  async list(options: {
    service?: string;
    status?: ApprovalStatus[];
    services?: string[];
    limit: number;
    cursor?: string;
  }): Promise<Page<ApprovalRequest>> {
    const q = this.db<Row>('rm_approval_requests');
    if (options.service) q.where('service', options.service);
    if (options.services) q.whereIn('service', options.services);
    if (options.status?.length) q.whereIn('status', options.status);
    if (options.cursor) {
      const [at, id] = options.cursor.split('|');
      q.andWhere(b =>
        b
          .where('requested_at', '<', at)
          .orWhere(c =>
            c.where('requested_at', at).andWhere('id', '<', id ?? ''),
          ),
      );
    }
    const rows = await q
      .orderBy([
        { column: 'requested_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(options.limit + 1);
    const items = rows.slice(0, options.limit).map(fromRow);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor:
        rows.length > options.limit && last
          ? `${last.requestedAt}|${last.id}`
          : undefined,
    };
  }

  /**
   * Moves a request from one of `from` to `to` and records `patch`; false when its status was no
   * longer one of `from` (someone else decided first).
   */
  async transition(
    id: string,
    from: ApprovalStatus[],
    to: ApprovalStatus,
    patch: Partial<ApprovalRequest> = {},
  ): Promise<boolean> {
    return this.db.transaction(async tx => {
      const row = await tx<Row>('rm_approval_requests')
        .where({ id })
        .whereIn('status', from)
        .first();
      if (!row) return false;
      const next = toRow({ ...fromRow(row), ...patch, status: to });
      const n = await tx('rm_approval_requests')
        .where({ id, status: row.status })
        .update({ status: to, details: next.details });
      if (n !== 1)
        throw new ConflictError(
          `approval request ${id} changed while deciding; look again`,
        );
      return true;
    });
  }
}
