import path from 'node:path';
import type { Command } from 'commander';
import {
  Environment as World,
  createContext,
  serviceCommand,
  withService,
} from '../context';
import { usageError } from '../errors';
import { formatTime, shortSha, table } from '../output';
import { readUpload } from '../spec';
import { describeResult } from './release';

/** `artifact push`, `artifacts`, `environments`. */
export function registerArtifactCommands(program: Command, world: World): void {
  const artifact = program
    .command('artifact')
    .description('upload artifacts (CI)');

  artifact
    .command('push')
    .description(
      'upload an artifact spec and its rendered manifests per environment',
    )
    .requiredOption('--spec <file>', 'artifact spec (artifact.json)')
    .requiredOption(
      '--manifests <dir>',
      'directory laid out as <dir>/<env>/*.yaml',
    )
    .option(
      '--dry-run',
      'validate locally and print what would be sent, send nothing',
    )
    .action(async (opts, cmd: Command) => {
      const ctx = createContext(world, cmd);
      const upload = readUpload(
        path.resolve(ctx.cwd, opts.spec),
        path.resolve(ctx.cwd, opts.manifests),
      );
      const { spec } = upload;
      const envs = Object.keys(upload.manifests);
      if (opts.dryRun) {
        ctx.out.result(
          upload,
          () =>
            `${spec.service}: ${spec.id} is valid (${envs
              .map(
                e => `${e}: ${Object.keys(upload.manifests[e]).length} files`,
              )
              .join(', ')}); nothing sent`,
        );
        return;
      }
      const response = await ctx.client.pushArtifact(upload);
      ctx.out.result(response, () => [
        `${spec.service}: pushed artifact ${
          response.artifact?.id ?? spec.id
        } with manifests for ${envs.join(', ')}`,
        ...(response.autoReleases ?? []).flatMap(r =>
          describeResult(r, {
            service: spec.service,
            environment: r.release?.environment ?? 'its environment',
            artifactId: spec.id,
            verb: 'auto-released',
          }),
        ),
      ]);
    });

  serviceCommand(
    program,
    'artifacts',
    'list artifacts of a service, newest first',
  )
    .option('--branch <branch>', 'only artifacts built from this branch')
    .option('--limit <n>', 'how many (default: server default)')
    .option('--cursor <cursor>', 'continue a previous listing')
    .action(
      withService(world, async (opts, ctx, service) => {
        let limit: number | undefined;
        if (opts.limit !== undefined) {
          limit = Number(opts.limit);
          if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
            throw usageError(
              `--limit must be a whole number from 1 to 1000, got '${opts.limit}'`,
            );
          }
        }
        const page = await ctx.client.getArtifacts(service, {
          branch: opts.branch,
          limit,
          cursor: opts.cursor,
        });
        ctx.out.result(page, () => {
          if (page.items.length === 0) {
            return `${service}: no artifacts${
              opts.branch ? ` from branch ${opts.branch}` : ''
            }`;
          }
          return [
            ...table(
              [
                'artifact',
                'branch',
                'commit',
                'author',
                'created',
                'environments',
              ],
              page.items.map(a => [
                a.id,
                a.branch,
                shortSha(a.sha),
                a.authorEmail,
                formatTime(a.createdAt),
                a.environments.join(','),
              ]),
            ),
            ...(page.nextCursor ? [`more: --cursor ${page.nextCursor}`] : []),
          ];
        });
      }),
    );

  program
    .command('environments')
    .description('list the configured environments')
    .action(async (_opts, cmd: Command) => {
      const ctx = createContext(world, cmd);
      const envs = await ctx.client.getEnvironments();
      ctx.out.result(envs, () =>
        table(
          ['environment', 'production'],
          [...envs]
            .sort((a, b) => a.order - b.order)
            .map(e => [e.name, e.production ? 'yes' : 'no']),
        ),
      );
    });
}
