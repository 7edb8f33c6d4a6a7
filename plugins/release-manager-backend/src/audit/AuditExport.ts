import type { Writable } from 'node:stream';
import { InputError } from '@backstage/errors';
import {
  AUDIT_EXPORT_COLUMNS,
  AuditExportFormat,
  AuditExportRow,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import { DECISION_TRAILERS, releaseInfoOf, VerifiedCommit } from '../history/HistoryReader';
import { ReleaseManagerPart } from '../service/context';
import type { HistoryReader } from '../history/HistoryReader';

/** A parsed, checked export query. */
export interface AuditExportQuery {
  format: AuditExportFormat;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  environment?: string;
  service?: string;
  squad?: string;
}

const DAY_MS = 24 * 3600 * 1000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseInstant(field: 'from' | 'to', value: string): Date {
  if (!DATE_ONLY.test(value) && !TIMESTAMP.test(value)) {
    throw new InputError(`${field} must be a date (YYYY-MM-DD) or an ISO timestamp with a zone, got '${value.slice(0, 40)}'`);
  }
  const d = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  // Date rolls 2026-02-31 over to March: refuse what does not read back as written
  if (Number.isNaN(d.getTime()) || (DATE_ONLY.test(value) && d.toISOString().slice(0, 10) !== value)) {
    throw new InputError(`${field} '${value.slice(0, 40)}' is not a valid date`);
  }
  // a date-only `to` means through the end of that day
  return field === 'to' && DATE_ONLY.test(value) ? new Date(d.getTime() + DAY_MS) : d;
}

/**
 * Checks an export query (each bad value: InputError naming the field). `from` defaults to 30
 * days before `to`, `to` to now; the range may not exceed `maxRangeDays`.
 */
export function parseAuditExportQuery(
  q: Record<string, string | undefined>,
  options: { maxRangeDays: number; environments: string[]; now?: Date },
): AuditExportQuery {
  const format = q.format ?? 'csv';
  if (format !== 'csv' && format !== 'ndjson') {
    throw new InputError(`format must be csv or ndjson, got '${format.slice(0, 20)}'`);
  }
  const to = q.to !== undefined ? parseInstant('to', q.to) : (options.now ?? new Date());
  const from = q.from !== undefined ? parseInstant('from', q.from) : new Date(to.getTime() - 30 * DAY_MS);
  if (from.getTime() >= to.getTime()) throw new InputError('from must be before to');
  const days = (to.getTime() - from.getTime()) / DAY_MS;
  if (days > options.maxRangeDays) {
    throw new InputError(
      `from..to spans ${Math.ceil(days)} days, more than releaseManager.audit.maxRangeDays (${options.maxRangeDays}); export a shorter range`,
    );
  }
  const name = (field: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const reason = invalidNameReason(field, value);
    if (reason) throw new InputError(reason);
    return value;
  };
  const environment = name('environment', q.environment);
  if (environment && !options.environments.includes(environment)) {
    throw new InputError(`environment '${environment}' is unknown; known: ${options.environments.join(', ')}`);
  }
  if (q.service !== undefined && q.squad !== undefined) {
    throw new InputError('give service or squad, not both');
  }
  return { format, from, to, environment, service: name('service', q.service), squad: name('squad', q.squad) };
}

/**
 * A CSV cell: neutralised against formula injection (a value starting with `=`, `+`, `-`, `@`,
 * tab or carriage return gets a leading `'`, as OWASP advises) and quoted per RFC 4180 (when it
 * holds a comma, a quote, CR or LF; quotes doubled).
 */
export function csvCell(value: string | number | boolean | undefined): string {
  let s = value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record (CRLF-terminated, RFC 4180). */
export function csvLine(values: Array<string | number | boolean | undefined>): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

export function csvHeader(): string {
  return csvLine([...AUDIT_EXPORT_COLUMNS]);
}

export function csvRow(row: AuditExportRow): string {
  return csvLine(AUDIT_EXPORT_COLUMNS.map(c => row[c]));
}

/** One NDJSON line: the row's keys in column order. */
export function ndjsonRow(row: AuditExportRow): string {
  const o: Record<string, unknown> = {};
  for (const c of AUDIT_EXPORT_COLUMNS) o[c] = row[c];
  return `${JSON.stringify(o)}\n`;
}

const RELEASE_PATH = /^([^/]+)\/releases\/([^/]+)\/([^/]+)\//;
const POLICY_PATH = /^policies\/([^/]+)\.json$/;

/** The (environment, namespace, service) folders a commit's paths touch, sorted. */
function foldersOf(paths: string[]): Array<{ environment: string; namespace: string; service: string }> {
  const seen = new Map<string, { environment: string; namespace: string; service: string }>();
  for (const p of paths) {
    const m = RELEASE_PATH.exec(p);
    if (m) seen.set(`${m[1]}\0${m[3]}\0${m[2]}`, { environment: m[1], namespace: m[2], service: m[3] });
  }
  const keys = [...seen.keys()].sort(); // code-unit order: the same on every machine
  return keys.map(k => seen.get(k)!);
}

function policyServicesOf(paths: string[]): string[] {
  return [...new Set(paths.map(p => POLICY_PATH.exec(p)?.[1]).filter((s): s is string => !!s))].sort();
}

const person = (name: string, email: string) => (name && name !== email ? `${name} <${email}>` : email);

/** The rows one commit makes (before the artifact and rollout columns are filled in). */
export function rowsOfCommit(c: VerifiedCommit): AuditExportRow[] {
  const base: Omit<AuditExportRow, 'environment' | 'service' | 'namespace' | 'kind' | 'requested_by' | 'detail'> = {
    commit: c.sha,
    seq: c.seq,
    committed_at: c.committedAt,
    signature: c.signature,
    signature_verified: c.signature === 'good',
    approved_by: '',
    approval_request: '',
    artifact: '',
    squad: '',
    source_repo: '',
    source_branch: '',
    source_commit: '',
    source_author: '',
    rollout_outcome: '',
    rollout_source: '',
    freeze_override: '',
    freeze_window: '',
    break_glass: false,
    break_glass_reason: '',
    reason: '',
  };
  if (c.kind === 'release') {
    const info = releaseInfoOf(c);
    if (!info) return [];
    return [
      {
        ...base,
        environment: info.environment,
        service: info.service,
        namespace: info.namespace ?? '',
        kind: info.intent,
        requested_by: info.releasedBy,
        approved_by: info.approvedBy ?? '',
        approval_request: info.approvalRequest ?? '',
        artifact: info.artifactId,
        source_branch: info.branch ?? '',
        freeze_override: info.freezeOverride ?? '',
        freeze_window: info.freezeWindow ?? '',
        break_glass: !!info.breakGlass,
        break_glass_reason: info.breakGlass ?? '',
        reason: info.reason ?? '',
        detail: c.subject,
      },
    ];
  }
  if (c.kind === 'policy') {
    const by = c.trailers['Policy-changed-by']?.[0] ?? person(c.authorName, c.authorEmail);
    return policyServicesOf(c.paths).map(service => ({
      ...base,
      environment: '',
      service,
      namespace: '',
      kind: 'policy-change' as const,
      requested_by: by,
      detail: c.subject,
    }));
  }
  if (c.kind === 'outside') {
    // who pushed it is what git says (committer), not verified: that is the point of the row
    const by = person(c.committerName, c.committerEmail);
    const rows: AuditExportRow[] = foldersOf(c.paths).map(f => ({
      ...base,
      ...f,
      kind: 'outside-change' as const,
      requested_by: by,
      detail: c.subject,
    }));
    for (const service of policyServicesOf(c.paths)) {
      rows.push({ ...base, environment: '', service, namespace: '', kind: 'outside-change', requested_by: by, detail: c.subject });
    }
    return rows;
  }
  const decision = c.signature === 'good' ? c.trailers[DECISION_TRAILERS.decision]?.[0] : undefined;
  if (decision) {
    const by = c.trailers[DECISION_TRAILERS.decidedBy]?.[0] ?? person(c.authorName, c.authorEmail);
    const commits = (c.trailers[DECISION_TRAILERS.commits] ?? []).join(' ');
    const detail = `${decision} ${commits}`;
    const folders = foldersOf(c.paths);
    const targets = folders.length ? folders : [{ environment: '', namespace: '', service: '' }];
    return targets.map(f => ({ ...base, ...f, kind: 'outside-decision' as const, requested_by: by, detail }));
  }
  return [];
}

/** Which rows an export keeps. */
export interface AuditRowFilter {
  from: Date;
  to: Date;
  environment?: string;
  /** Services to keep (absent: all). */
  services?: Set<string>;
}

/**
 * The auditor's export: every change to an environment, read from the config repo's verified
 * first-parent history (never from the database index), oldest first in first-parent order,
 * rows of one commit by environment then service. The rollout outcome is the one extra: the
 * state cluster agents reported for the release commit (status reports, keyed by commit).
 */
export class AuditExport extends ReleaseManagerPart {
  reader!: HistoryReader;

  /** Rows in batches of at most `batch` commits' rows, artifact and rollout columns filled in. */
  async *rows(filter: AuditRowFilter, batch = 500): AsyncIterable<AuditExportRow[]> {
    await this.writer.refresh();
    const tip = await this.reader.resolve();
    if (!tip) return;
    const from = filter.from.getTime();
    const to = filter.to.getTime();
    let pending: AuditExportRow[] = [];
    for await (const c of this.reader.commits({ until: tip })) {
      const t = Date.parse(c.committedAt);
      if (t < from || t >= to) continue;
      for (const row of rowsOfCommit(c)) {
        if (filter.environment && row.environment !== filter.environment) continue;
        if (filter.services && !filter.services.has(row.service)) continue;
        pending.push(row);
      }
      if (pending.length >= batch) {
        yield await this.complete(pending);
        pending = [];
      }
    }
    if (pending.length) yield await this.complete(pending);
  }

  /** Fills in the artifact's source (artifact.json in the commit) and the reported rollout state. */
  private async complete(rows: AuditExportRow[]): Promise<AuditExportRow[]> {
    const releases = rows.filter(r => r.artifact && r.namespace);
    const blobName = (r: AuditExportRow) => `${r.commit}:${r.environment}/releases/${r.namespace}/${r.service}/artifact.json`;
    const [blobs, states] = await Promise.all([
      this.reader.readBlobs(releases.map(blobName)),
      this.store.rolloutStates([...new Set(releases.map(r => r.commit))]),
    ]);
    for (const r of releases) {
      const raw = blobs.get(blobName(r));
      if (raw) {
        try {
          const spec = JSON.parse(raw.toString('utf8'));
          const app = spec?.application ?? {};
          r.squad = typeof spec?.squad === 'string' ? spec.squad : '';
          r.source_repo = String(app.url ?? app.name ?? '');
          r.source_branch = String(app.branch ?? r.source_branch);
          r.source_commit = String(app.sha ?? '');
          r.source_author = app.authorEmail ? person(String(app.authorName ?? ''), String(app.authorEmail)) : '';
        } catch {
          // not JSON: the columns stay empty (the commit is still listed)
        }
      }
      const state = states.get(r.commit);
      if (state) {
        r.rollout_outcome = state;
        r.rollout_source = 'status-report';
      }
    }
    return rows;
  }
}

/**
 * Resolves when the stream drained, or closed (a client that went away). Both listeners go once
 * either fired (a race of two `once` promises left the loser's listener behind on every wait).
 */
function drained(out: Writable): Promise<void> {
  return new Promise(resolve => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/**
 * Writes an export to a stream as it is read (never the whole export in memory), waiting for
 * the stream to drain between batches. Returns the number of rows written.
 */
export async function writeAuditExport(
  out: Writable,
  format: AuditExportFormat,
  batches: AsyncIterable<AuditExportRow[]>,
  isClosed: () => boolean = () => false,
): Promise<number> {
  let n = 0;
  if (format === 'csv' && !out.write(csvHeader())) await drained(out);
  for await (const rows of batches) {
    if (isClosed()) break;
    const text = rows.map(format === 'csv' ? csvRow : ndjsonRow).join('');
    n += rows.length;
    if (!out.write(text)) await drained(out);
  }
  return n;
}
