import type { Command } from 'commander';
import {
  ApprovalRequest,
  FreezeWindowView,
  invalidFreezeOverrideReason,
} from '@devplane/plugin-release-manager-common';
import { createContext, Environment as World } from '../context';
import { usageError } from '../errors';
import { fields, formatTime, shortSha, table } from '../output';
import { checkedName } from '../shuttle';

const STATUSES = ['pending', 'applying', 'approved', 'rejected', 'stale', 'expired'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkedId(id: string): string {
  if (!UUID.test(id)) {
    throw usageError(`approval request id '${id.slice(0, 60)}' is invalid: a UUID as \`approvals list\` prints it`);
  }
  return id;
}

/** A comment or rejection reason: one reason's rules (non-blank, at most 500 characters). */
function checkedComment(flag: string, value: string | undefined, required: boolean): string | undefined {
  if (value === undefined) {
    if (required) throw usageError(`${flag} is required: say why, the requester reads it`);
    return undefined;
  }
  const invalid = invalidFreezeOverrideReason(value);
  if (invalid) throw usageError(`${flag}: ${invalid}`);
  return value.trim();
}

const verbOf: Record<ApprovalRequest['intent'], string> = {
  release: 'release',
  promote: 'promote',
  rollback: 'roll back to',
  'auto-release': 'auto-release',
};

/** Whether the caller may approve (only on pending requests answered to a user), in words. */
function mayApprove(r: ApprovalRequest, refusedPrefix: string): string | undefined {
  if (!r.canApprove) return undefined;
  if (r.canApprove.allowed) return 'may approve';
  return `${refusedPrefix}${r.canApprove.reason ?? ''}`;
}

/** The lines `approvals list` prints per request. */
export function renderApprovals(items: ApprovalRequest[]): string[] {
  if (items.length === 0) return ['no approval requests'];
  return table(
    ['id', 'service', 'env', 'artifact', 'asked by', 'expires', 'status', 'you'],
    items.map(r => [
      r.id,
      r.service,
      r.environment,
      r.artifactId,
      r.requestedBy,
      formatTime(r.expiresAt),
      `${r.status}${r.breakGlass ? ' BREAK-GLASS' : ''}`,
      mayApprove(r, 'may not: '),
    ]),
  );
}

/** The lines of one request: what would be written and why it waits. */
export function renderApproval(r: ApprovalRequest): string[] {
  const changed = r.diff.files.filter(f => f.change !== 'unchanged');
  return [
    ...fields([
      ['request', r.id],
      ['asks', `${r.requestedBy} asks to ${verbOf[r.intent]} ${r.artifactId} in ${r.environment}${r.promotedFrom ? ` (from ${r.promotedFrom})` : ''}`],
      ['status', r.status],
      ['why', r.why.join('; ')],
      ['break-glass', r.breakGlass ? `BREAK-GLASS: ${r.breakGlass}` : undefined],
      ['freeze window', r.freezeWindow],
      ['verdict', `${r.verdict.allowed ? 'allowed' : 'refused'}${r.verdict.reason ? `: ${r.verdict.reason}` : ''}`],
      ['onto commit', shortSha(r.environmentCommit) ?? 'none (nothing ran there)'],
      ['running now', r.runningArtifactId],
      ['source', `${r.branch}, author ${r.artifactAuthor}`],
      ['requested', formatTime(r.requestedAt)],
      ['expires', formatTime(r.expiresAt)],
      ['decided by', r.decidedBy],
      ['comment', r.decisionComment],
      ['you', mayApprove(r, 'may not approve: ')],
    ]),
    `changes (${changed.length} file${changed.length === 1 ? '' : 's'}):`,
    ...changed.flatMap(f => [`  ${f.change} ${f.path}`, ...(f.patch ?? '').split('\n').filter(Boolean).map(l => `    ${l}`)]),
  ];
}

/** `approvals list | show | approve | reject` and `freeze list`. */
export function registerApprovalCommands(program: Command, world: World): void {
  const approvals = program
    .command('approvals')
    .description('four-eyes approval requests: changes into environments that require a second person');

  approvals
    .command('list')
    .description('pending requests you may approve (--all: every request, newest first)')
    .option('--service <name>', 'only this service')
    .option('--status <list>', `comma-separated: ${STATUSES.join(', ')}`)
    .option('--all', 'not only those waiting for you')
    .action(async (opts, cmd) => {
      const ctx = createContext(world, cmd);
      const service = opts.service === undefined ? undefined : checkedName('service', opts.service);
      if (opts.status !== undefined) {
        for (const s of String(opts.status).split(',')) {
          if (!STATUSES.includes(s)) throw usageError(`--status: '${s.slice(0, 40)}' is not one of ${STATUSES.join(', ')}`);
        }
      }
      const mine = !opts.all && opts.status === undefined && service === undefined;
      const page = await ctx.client.getApprovals({
        service,
        status: opts.status ?? (opts.all ? undefined : 'pending'),
        ...(mine ? { mine: true } : {}),
      });
      ctx.out.result(page, () => renderApprovals(page.items));
    });

  approvals
    .command('show <id>')
    .description('one request: the artifact, the manifest diff, the verdict, who asked, expiry')
    .action(async (id: string, _opts, cmd) => {
      const ctx = createContext(world, cmd);
      const r = await ctx.client.getApproval(checkedId(id));
      ctx.out.result(r, () => renderApproval(r));
    });

  approvals
    .command('approve <id>')
    .description('approve: writes exactly the reviewed artifact onto the reviewed environment commit')
    .option('--comment <text>', 'optional note, kept with the request')
    .action(async (id: string, opts, cmd) => {
      const ctx = createContext(world, cmd);
      const comment = checkedComment('--comment', opts.comment, false);
      const result = await ctx.client.approve(checkedId(id), comment);
      ctx.out.result(result, () =>
        result.release
          ? [
              `approved: ${result.release.service} ${result.release.artifactId} released to ${result.release.environment}`,
              `  commit ${shortSha(result.release.id)} by ${result.release.releasedBy}, approved by ${result.release.approvedBy ?? 'you'}: ${result.release.commitTitle}`,
            ]
          : [`approved: ${result.message}`],
      );
    });

  approvals
    .command('reject <id>')
    .description('reject with a reason (the requester may also withdraw their own)')
    .option('--reason <text>', 'why (required)')
    .action(async (id: string, opts, cmd) => {
      const ctx = createContext(world, cmd);
      const reason = checkedComment('--reason', opts.reason, true)!;
      const r = await ctx.client.reject(checkedId(id), reason);
      ctx.out.result(r, () => [`rejected ${r.id}: ${r.decisionComment ?? reason}`]);
    });

  const freeze = program.command('freeze').description('freeze windows: scheduled and incident freezes');
  freeze
    .command('list')
    .description('freeze windows in force now and coming up')
    .option('--service <name>', "only what freezes this service (its system's windows, its incidents)")
    .option('-e, --env <environment>', 'only this environment')
    .option('--days <n>', 'how far ahead to look (1-366, default 14)')
    .action(async (opts, cmd) => {
      const ctx = createContext(world, cmd);
      const service = opts.service === undefined ? undefined : checkedName('service', opts.service);
      const environment = opts.env === undefined ? undefined : checkedName('environment', opts.env);
      let days: number | undefined;
      if (opts.days !== undefined) {
        if (!/^[0-9]{1,3}$/.test(opts.days) || Number(opts.days) < 1 || Number(opts.days) > 366) {
          throw usageError('--days must be a whole number from 1 to 366');
        }
        days = Number(opts.days);
      }
      const windows = await ctx.client.getFreezeWindows({ service, environment, days: days ?? 14 });
      ctx.out.result(windows, () => renderFreezeWindows(windows));
    });
}

/** The lines of `freeze list`: in force first, then the next occurrence of each. */
export function renderFreezeWindows(windows: FreezeWindowView[]): string[] {
  if (windows.length === 0) return ['no freeze windows configured'];
  return table(
    ['id', 'title', 'env', 'scope', 'schedule', 'now', 'next'],
    windows.map(w => [
      w.id,
      w.title,
      w.environments.join(','),
      w.systems?.length ? `systems ${w.systems.join(',')}` : 'org-wide',
      w.schedule,
      w.current ? `FROZEN until ${formatTime(w.current.end)}` : 'open',
      w.upcoming[0] ? `${formatTime(w.upcoming[0].start)} – ${formatTime(w.upcoming[0].end)}` : undefined,
    ]),
  );
}
