import { InputError } from '@backstage/errors';
import { invalidFreeTextReason } from '@devplane/plugin-release-manager-common';
import type { ReleaseIntent } from '@devplane/plugin-release-manager-common';

/** What a release commit records, in title and trailers (see ARCHITECTURE.md). */
export interface ReleaseCommitInfo {
  service: string;
  environment: string;
  artifactId: string;
  releasedBy: string;
  artifactCreatedBy: string;
  intent: ReleaseIntent;
  branch?: string;
  promotedFrom?: string;
  rollbackOf?: string;
  reason?: string;
  /** Reason given to release into production despite an open incident. */
  freezeOverride?: string;
  /** Ids of the open incidents that were overridden, comma separated. */
  freezeIncidents?: string;
  /** Auto-release: who set the auto-release policy (the person whose authority it carries). */
  policyAuthor?: string;
  /** Auto-release: who uploaded the artifact that triggered it. */
  uploadedBy?: string;
  /** Four-eyes: the person (user ref) who approved this change; releasedBy is the requester. */
  approvedBy?: string;
  /** Four-eyes: id of the approval request this commit applies. */
  approvalRequest?: string;
  /** Break-glass: platform released without the required approval or inside a freeze; the reason. */
  breakGlass?: string;
  /** The scheduled freeze window (id) this change was made inside of (with a freeze override or break-glass). */
  freezeWindow?: string;
}

const VERB: Record<ReleaseIntent, string> = {
  release: 'release',
  promote: 'release',
  rollback: 'rollback',
  'auto-release': 'auto release',
};

/** Single-line value: trailers and titles never carry newlines. */
function oneLine(v: string): string {
  return v.replace(/[\r\n]+/g, ' ').trim();
}

/**
 * Never trust callers: every value that goes into a title or trailer is one line of plain text,
 * the reason paragraph holds no control characters and no line git would read as a trailer.
 * Throws InputError naming the field.
 */
function assertCommitText(field: string, value: string | undefined, multiline = false): void {
  const reason = invalidFreeTextReason(field, value, {
    multiline,
    maxLength: multiline ? 2000 : 500,
    allowTrailerLines: !multiline,
  });
  if (reason) throw new InputError(`Refusing to write the commit: ${reason}`);
}

/** The trailers of an auto-release or policy commit value: a person or principal, one line. */
export function assertTrailerValue(field: string, value: string | undefined): void {
  assertCommitText(field, value);
}

export function releaseCommitTitle(info: ReleaseCommitInfo): string {
  return `[${info.environment}/${info.service}] ${VERB[info.intent]} ${info.artifactId} by ${oneLine(info.releasedBy)}`;
}

/**
 * The trailer key of every field a release commit records: the one table the writer
 * ({@link releaseCommitMessage}) and both readers ({@link releaseInfoFromMessage} and the verified
 * history reader's `releaseInfoOf`) use. Its order is the order trailers are written in.
 */
export const RELEASE_TRAILERS = {
  service: 'Service',
  environment: 'Environment',
  artifactId: 'Artifact-ID',
  releasedBy: 'Artifact-released-by',
  artifactCreatedBy: 'Artifact-created-by',
  intent: 'Release-intent',
  branch: 'Release-of-branch',
  promotedFrom: 'Promoted-from-environment',
  rollbackOf: 'Rollback-of-artifact-id',
  freezeOverride: 'Freeze-override',
  freezeIncidents: 'Freeze-incidents',
  policyAuthor: 'Auto-release-policy-by',
  uploadedBy: 'Artifact-uploaded-by',
  approvedBy: 'Approved-by',
  approvalRequest: 'Approval-request',
  breakGlass: 'Break-glass',
  freezeWindow: 'Freeze-window',
} as const satisfies Record<Exclude<keyof ReleaseCommitInfo, 'reason'>, string>;

type TrailerField = keyof typeof RELEASE_TRAILERS;

/** Fields a reader may find absent (no default). */
const OPTIONAL_FIELDS = [
  'artifactCreatedBy',
  'branch',
  'promotedFrom',
  'rollbackOf',
  'freezeOverride',
  'freezeIncidents',
  'policyAuthor',
  'uploadedBy',
  'approvedBy',
  'approvalRequest',
  'breakGlass',
  'freezeWindow',
] as const satisfies readonly Exclude<TrailerField, 'service' | 'environment' | 'artifactId' | 'releasedBy' | 'intent'>[];

/** What a reader gets back from a release commit's trailers (`artifactCreatedBy` may be absent). */
export type ReleaseTrailerInfo = Omit<ReleaseCommitInfo, 'reason' | 'artifactCreatedBy'> & {
  artifactCreatedBy?: string;
};

const INTENTS: ReleaseIntent[] = ['release', 'promote', 'rollback', 'auto-release'];

/**
 * The release a commit's trailers record, through {@link RELEASE_TRAILERS}; `get` returns a
 * trailer's value by key (undefined when absent). Undefined when a required trailer is missing.
 */
export function releaseFromTrailers(get: (key: string) => string | undefined): ReleaseTrailerInfo | undefined {
  const service = get(RELEASE_TRAILERS.service);
  const environment = get(RELEASE_TRAILERS.environment);
  const artifactId = get(RELEASE_TRAILERS.artifactId);
  if (!service || !environment || !artifactId) return undefined;
  const intentText = get(RELEASE_TRAILERS.intent);
  const out: ReleaseTrailerInfo = {
    service,
    environment,
    artifactId,
    releasedBy: get(RELEASE_TRAILERS.releasedBy) ?? 'unknown',
    intent: INTENTS.find(i => i === intentText) ?? 'release',
  };
  for (const k of OPTIONAL_FIELDS) out[k] = get(RELEASE_TRAILERS[k]);
  return out;
}

/** Full commit message: title, optional reason paragraph, trailers. */
export function releaseCommitMessage(info: ReleaseCommitInfo): string {
  const trailers = (Object.keys(RELEASE_TRAILERS) as TrailerField[]).map(
    k => [RELEASE_TRAILERS[k], info[k]] as [string, string | undefined],
  );
  for (const [k, v] of trailers) assertCommitText(k, v);
  assertCommitText('reason', info.reason, true);
  const lines = [releaseCommitTitle(info), ''];
  if (info.reason && info.reason.trim()) {
    lines.push(info.reason.replace(/\r/g, '').trim(), '');
  }
  for (const [k, v] of trailers) {
    if (v !== undefined && v !== '') lines.push(`${k}: ${oneLine(v)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Parses `Key: value` trailers from the last paragraph of a commit message. */
export function parseTrailers(message: string): {
  title: string;
  body: string;
  trailers: Record<string, string>;
} {
  const text = message.replace(/\r/g, '').replace(/\n+$/, '');
  const [title, ...rest] = text.split('\n');
  const paragraphs = rest.join('\n').split(/\n\s*\n/).map(p => p.trim()).filter(Boolean);
  const trailers: Record<string, string> = {};
  let bodyParas = paragraphs;
  const last = paragraphs[paragraphs.length - 1];
  if (last && last.split('\n').every(l => /^[A-Za-z][A-Za-z0-9-]*: /.test(l))) {
    for (const l of last.split('\n')) {
      const i = l.indexOf(': ');
      trailers[l.slice(0, i)] = l.slice(i + 2).trim();
    }
    bodyParas = paragraphs.slice(0, -1);
  }
  return { title, body: bodyParas.join('\n\n'), trailers };
}

/** Reads a release back from a commit message; undefined for commits that are not releases. */
export function releaseInfoFromMessage(
  message: string,
): (ReleaseCommitInfo & { title: string }) | undefined {
  const { title, body, trailers } = parseTrailers(message);
  const info = releaseFromTrailers(k => trailers[k]);
  if (!info) return undefined;
  return { ...info, title, artifactCreatedBy: info.artifactCreatedBy ?? 'unknown', reason: body || undefined };
}

/** Commit message of a policy change: title and trailers, every value checked. */
export function policyCommitMessage(service: string, what: string, changedBy: string): string {
  assertCommitText('policy change', what);
  assertCommitText('Policy-changed-by', changedBy);
  assertCommitText('Service', service);
  return `[policies/${service}] ${oneLine(what)} by ${oneLine(changedBy)}\n\nService: ${service}\nPolicy-changed-by: ${oneLine(changedBy)}\n`;
}
