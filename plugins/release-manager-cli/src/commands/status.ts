import type { Command } from 'commander';
import type { Release } from '@devplane/plugin-release-manager-common';
import { Environment as World, serviceCommand, withService } from '../context';
import { CliError, ExitCode, usageError } from '../errors';
import { fields, firstLine, formatTime, shortSha, table } from '../output';
import { checkedName } from '../shuttle';
import { checkedArtifactId } from './release';

/** `status`, `describe release`, `describe artifact`. */
export function registerStatusCommands(program: Command, world: World): void {
  serviceCommand(program, 'status', 'what runs where for a service').action(
    withService(world, async (_opts, ctx, service) => {
      const statuses = await ctx.client.getStatus(service);
      ctx.out.result(statuses, () => [
        `${service}`,
        ...table(
          [
            'environment',
            'artifact',
            'branch',
            'released by',
            'released',
            'rollout',
          ],
          statuses.map(s => [
            s.production ? `${s.environment} (production)` : s.environment,
            s.release?.artifactId ?? s.artifact?.id,
            s.release?.branch ?? s.artifact?.branch,
            s.release?.releasedBy,
            formatTime(s.release?.releasedAt),
            s.release ? rollout(s.release) : 'nothing released',
          ]),
        ),
      ]);
    }),
  );

  const describe = program
    .command('describe')
    .description('details of the release in an environment, or of an artifact');

  serviceCommand(
    describe,
    'release',
    'what runs in an environment, who released it, when and why; --count N lists the last N releases',
  )
    .alias('releases')
    .requiredOption('-e, --env <environment>', 'environment')
    .option('--count <n>', 'list the last N releases of the environment (1-100)')
    .action(
      withService(world, async (opts, ctx, service) => {
        const environment = checkedName('environment', opts.env);
        const plural = ctx.invokedAs === 'releases';
        if (opts.count !== undefined || plural) {
          const count = checkedCount(opts.count ?? '5');
          const page = await ctx.client.getReleases(service, { environment, limit: count });
          ctx.out.result(page.items, () =>
            page.items.length
              ? [
                  `${service} in ${environment}: last ${page.items.length} release(s), newest first`,
                  ...table(
                    ['released', 'artifact', 'branch', 'intent', 'by', 'rollout', 'reason'],
                    page.items.map(r => [
                      formatTime(r.releasedAt),
                      r.artifactId,
                      r.branch,
                      r.intent + (r.promotedFrom ? ` from ${r.promotedFrom}` : ''),
                      r.releasedBy,
                      rollout(r),
                      firstLine(r.reason),
                    ]),
                  ),
                ]
              : [`${service}: nothing has been released to ${environment} yet`],
          );
          return;
        }
        const statuses = await ctx.client.getStatus(service);
        const status = statuses.find(s => s.environment === environment);
        if (!status) {
          throw new CliError(
            `environment '${environment}' is not configured (known: ${
              statuses.map(s => s.environment).join(', ') || 'none'
            })`,
            ExitCode.NotFound,
          );
        }
        if (!status.release) {
          throw new CliError(
            `${service}: nothing has been released to ${environment} yet`,
            ExitCode.NotFound,
          );
        }
        const r = status.release;
        const a = status.artifact;
        ctx.out.result(status, () =>
          fields([
            ['Service', service],
            [
              'Environment',
              `${environment}${status.production ? ' (production)' : ''}`,
            ],
            ['Artifact', r.artifactId],
            ['Branch', r.branch ?? a?.branch],
            [
              'Commit',
              a ? `${shortSha(a.sha)} ${firstLine(a.message)}` : undefined,
            ],
            ['Author', a ? `${a.authorName} <${a.authorEmail}>` : undefined],
            ['Intent', r.intent],
            ['Released by', r.releasedBy],
            ['Released at', formatTime(r.releasedAt)],
            ['Promoted from', r.promotedFrom],
            ['Rollback of', r.rollbackOf],
            ['Reason', r.reason],
            ['Rollout', rollout(r)],
            ['Rollout note', r.rollout.message],
            ['Config commit', `${shortSha(r.id)} ${r.commitTitle}`],
            ['CI job', a?.ciJobUrl],
          ]).concat(
            r.rollout.logLines?.length
              ? ['Last log lines:', ...r.rollout.logLines.map(l => `  ${l}`)]
              : [],
          ),
        );
      }),
    );

  serviceCommand(
    describe,
    'artifact',
    'details of one artifact; --count N lists the newest N artifacts (of --branch)',
  )
    .alias('artifacts')
    .option('--artifact <id>', 'artifact id')
    .option('-b, --branch <branch>', 'only artifacts built from this branch (with --count)')
    .option('--count <n>', 'list the newest N artifacts (1-100)')
    .action(
      withService(world, async (opts, ctx, service) => {
        const plural = ctx.invokedAs === 'artifacts';
        if (opts.artifact === undefined || opts.count !== undefined || plural) {
          if (opts.artifact !== undefined) {
            throw usageError('--artifact shows one artifact; --count lists several: give one of them');
          }
          const count = checkedCount(opts.count ?? '5');
          const page = await ctx.client.getArtifacts(service, {
            branch: opts.branch,
            limit: count,
          });
          ctx.out.result(page.items, () =>
            page.items.length
              ? [
                  `${service}: newest ${page.items.length} artifact(s)${
                    opts.branch ? ` of ${opts.branch}` : ''
                  }`,
                  ...table(
                    ['created', 'artifact', 'branch', 'commit', 'author', 'environments'],
                    page.items.map(a => [
                      formatTime(a.createdAt),
                      a.id,
                      a.branch,
                      `${shortSha(a.sha)} ${firstLine(a.message)?.slice(0, 50) ?? ''}`.trim(),
                      a.authorEmail,
                      a.environments.join(','),
                    ]),
                  ),
                ]
              : [`${service}: no artifacts${opts.branch ? ` from ${opts.branch}` : ''} yet`],
          );
          return;
        }
        const artifactId = checkedArtifactId(opts.artifact);
        const a = await ctx.client.getArtifact(service, artifactId);
        ctx.out.result(a, () =>
          fields([
            ['Artifact', a.id],
            ['Service', a.service],
            ['Namespace', a.namespace],
            ['Squad', a.spec?.squad],
            ['Branch', a.branch],
            ['Commit', `${shortSha(a.sha)} ${firstLine(a.message)}`],
            ['Author', `${a.authorName} <${a.authorEmail}>`],
            ['Repository', a.spec?.application?.url],
            ['CI job', a.ciJobUrl],
            ['Created at', formatTime(a.createdAt)],
            ['Created by', a.createdBy],
            ['Environments', a.environments.join(', ') || 'none'],
          ]),
        );
      }),
    );
}

function rollout(r: Release): string {
  const counts =
    r.rollout.desired !== undefined
      ? ` ${r.rollout.ready ?? 0}/${r.rollout.desired}`
      : '';
  return `${r.rollout.state}${counts}`;
}

/** `--count`: a whole number 1-100. */
function checkedCount(value: string): number {
  if (!/^[0-9]{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 100) {
    throw usageError(`--count must be a whole number from 1 to 100, not '${value}'`);
  }
  return Number(value);
}

