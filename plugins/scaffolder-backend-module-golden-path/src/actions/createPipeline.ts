import { InputError, stringifyError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { GoldenPathDeps } from '../lib/deps';
import { pipelineFiles } from '../lib/files';
import { SERVICE_KINDS, serviceNameProblem } from '../lib/names';
import { describeRollback, repoUndo, rollBack } from '../lib/rollback';
import { authorFromUser, taskTrailer } from './createRepo';

export const CREATE_PIPELINE_ACTION_ID = 'devplane:pipeline:create';

/** `devplane:pipeline:create`: commits the CI workflow and a CI-agnostic pipeline script. */
export function createPipelineAction(deps: GoldenPathDeps) {
  return createTemplateAction({
    id: CREATE_PIPELINE_ACTION_ID,
    description:
      'Commits .github/workflows/ci.yaml (build, test, release-manager artifact push) and ci/pipeline.sh into the service repository, and registers the pipeline where the CI system needs it.',
    supportsDryRun: true,
    examples: [
      {
        description: 'Add the CI pipeline to a new repository',
        example: [
          'steps:',
          '  - id: pipeline',
          `    action: ${CREATE_PIPELINE_ACTION_ID}`,
          '    input:',
          '      name: ${{ steps.repo.output.repoName }}',
          '      squad: ${{ steps.validate.output.squad }}',
          '      kind: ${{ parameters.kind }}',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        name: z => z.string().describe('Repository (= service) name'),
        squad: z => z.string().describe('Squad name'),
        kind: z =>
          z
            .enum(SERVICE_KINDS)
            .describe('Skeleton kind: decides build and test commands'),
        host: z =>
          z.string().optional().describe("'local' (default) or a GitHub host"),
        owner: z =>
          z
            .string()
            .optional()
            .describe('GitHub organisation (GitHub hosts only)'),
        cleanupOnFailure: z =>
          z
            .boolean()
            .optional()
            .describe(
              'Delete the repository when this step fails (default true)',
            ),
      },
      output: {
        commit: z => z.string().describe('Sha of the pipeline commit'),
        workflowPath: z => z.string(),
      },
    },
    async handler(ctx) {
      const { input } = ctx;
      const problem = serviceNameProblem(input.name);
      if (problem) throw new InputError(problem);
      const host = deps.repoHosts.get(input.host, input.owner);
      const files = pipelineFiles({
        ...input,
        imageRegistry: deps.imageRegistry,
      });
      ctx.logger.info(
        `Adding the CI pipeline to '${input.name}': ${Object.keys(
          files,
        ).join(', ')}`,
      );
      if (ctx.isDryRun) {
        ctx.logger.info('Dry run: nothing committed');
        ctx.output('commit', '0000000000000000000000000000000000000000');
        ctx.output('workflowPath', '.github/workflows/ci.yaml');
        return;
      }
      try {
        const commit = await ctx.checkpoint({
          key: `pipeline.commit.${host.host}.${input.name}`,
          fn: () =>
            host.commitFiles(input.name, files, {
              message: `Add CI pipeline: build, test, upload to the release manager\n\n${taskTrailer(
                ctx.task.id,
              )}`,
              author: authorFromUser(ctx.user),
            }),
        });
        ctx.logger.info(`Pipeline committed (${commit.slice(0, 10)})`);
        if (host.host === 'local') {
          ctx.logger.info(
            'Pipeline registration: none needed — the local git host has no CI server. ci/pipeline.sh runs the same steps in any CI system.',
          );
        } else {
          ctx.logger.info(
            `Pipeline registration: GitHub Actions picks up .github/workflows/ci.yaml by itself; set the RELEASE_MANAGER_URL variable and RELEASE_MANAGER_TOKEN secret on ${host.repoUrl(
              input.name,
            )}`,
          );
        }
        ctx.output('commit', commit);
        ctx.output('workflowPath', '.github/workflows/ci.yaml');
      } catch (e) {
        ctx.logger.error(`Creating the pipeline failed: ${stringifyError(e)}`);
        if (input.cleanupOnFailure === false) throw e;
        const report = await rollBack(
          [repoUndo(host, input.name)],
          ctx.logger,
        );
        throw new Error(
          `Creating the pipeline failed: ${stringifyError(
            e,
          )}. ${describeRollback(report)}`,
        );
      }
    },
  });
}
