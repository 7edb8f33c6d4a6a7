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

/** Full commit message: title, optional reason paragraph, trailers. */
export function releaseCommitMessage(info: ReleaseCommitInfo): string {
  const trailers: Array<[string, string | undefined]> = [
    ['Service', info.service],
    ['Environment', info.environment],
    ['Artifact-ID', info.artifactId],
    ['Artifact-released-by', info.releasedBy],
    ['Artifact-created-by', info.artifactCreatedBy],
    ['Release-intent', info.intent],
    ['Release-of-branch', info.branch],
    ['Promoted-from-environment', info.promotedFrom],
    ['Rollback-of-artifact-id', info.rollbackOf],
    ['Freeze-override', info.freezeOverride],
    ['Freeze-incidents', info.freezeIncidents],
    ['Auto-release-policy-by', info.policyAuthor],
    ['Artifact-uploaded-by', info.uploadedBy],
    ['Approved-by', info.approvedBy],
    ['Approval-request', info.approvalRequest],
    ['Break-glass', info.breakGlass],
    ['Freeze-window', info.freezeWindow],
  ];
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

const INTENTS: ReleaseIntent[] = ['release', 'promote', 'rollback', 'auto-release'];

/** Reads a release back from a commit message; undefined for commits that are not releases. */
export function releaseInfoFromMessage(
  message: string,
): (ReleaseCommitInfo & { title: string }) | undefined {
  const { title, body, trailers } = parseTrailers(message);
  const service = trailers.Service;
  const environment = trailers.Environment;
  const artifactId = trailers['Artifact-ID'];
  if (!service || !environment || !artifactId) return undefined;
  const intent = (INTENTS as string[]).includes(trailers['Release-intent'])
    ? (trailers['Release-intent'] as ReleaseIntent)
    : 'release';
  return {
    title,
    service,
    environment,
    artifactId,
    releasedBy: trailers['Artifact-released-by'] ?? 'unknown',
    artifactCreatedBy: trailers['Artifact-created-by'] ?? 'unknown',
    intent,
    branch: trailers['Release-of-branch'],
    promotedFrom: trailers['Promoted-from-environment'],
    rollbackOf: trailers['Rollback-of-artifact-id'],
    freezeOverride: trailers['Freeze-override'],
    freezeIncidents: trailers['Freeze-incidents'],
    policyAuthor: trailers['Auto-release-policy-by'],
    uploadedBy: trailers['Artifact-uploaded-by'],
    approvedBy: trailers['Approved-by'],
    approvalRequest: trailers['Approval-request'],
    breakGlass: trailers['Break-glass'],
    freezeWindow: trailers['Freeze-window'],
    reason: body || undefined,
  };
}

/** Commit message of a policy change: title and trailers, every value checked. */
export function policyCommitMessage(service: string, what: string, changedBy: string): string {
  assertCommitText('policy change', what);
  assertCommitText('Policy-changed-by', changedBy);
  assertCommitText('Service', service);
  return `[policies/${service}] ${oneLine(what)} by ${oneLine(changedBy)}\n\nService: ${service}\nPolicy-changed-by: ${oneLine(changedBy)}\n`;
}
