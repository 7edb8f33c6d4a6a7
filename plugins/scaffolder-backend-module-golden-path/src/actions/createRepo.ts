import { ConflictError, InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { GoldenPathDeps } from '../lib/deps';
import { platformFiles, ServiceDescription } from '../lib/files';
import {
  DEFAULT_ENVIRONMENTS,
  SERVICE_KINDS,
  serviceNameProblem,
} from '../lib/names';
import { CommitAuthor } from '../lib/repoHost';
import { readWorkspaceFiles } from '../lib/workspace';

export const CREATE_REPO_ACTION_ID = 'devplane:repo:create';

/** The commit author for generated commits: the user who ran the template, when known. */
export function authorFromUser(user?: {
  entity?: { metadata: { name: string }; spec?: any };
}): CommitAuthor | undefined {
  const profile = user?.entity?.spec?.profile;
  if (!profile?.email) return undefined;
  return {
    name: profile.displayName ?? user!.entity!.metadata.name,
    email: profile.email,
  };
}

/** Trailer that marks commits made by one scaffolder task, so a retried task can recognise its own repository. */
export function taskTrailer(taskId: string) {
  return `Scaffolder-Task: ${taskId}`;
}

/** `devplane:repo:create`: a new repository with skeleton code and the platform files. */
export function createRepoAction(deps: GoldenPathDeps) {
  return createTemplateAction({
    id: CREATE_REPO_ACTION_ID,
    description:
      'Creates the service repository (local git host by default, or GitHub) with the skeleton from the workspace plus shuttle.yaml, catalog-info.yaml, k8s/<env>/ manifests and TechDocs.',
    supportsDryRun: true,
    examples: [
      {
        description: 'Create a Node service repository on the local git host',
        example: [
          'steps:',
          '  - id: repo',
          `    action: ${CREATE_REPO_ACTION_ID}`,
          '    input:',
          '      name: payment-api',
          '      squad: payments',
          '      system: banking-core',
          '      kind: node',
          '      description: Takes payments',
        ].join('\n'),
      },
      {
        description: 'Create it on GitHub through the github.com integration',
        example: [
          'steps:',
          '  - id: repo',
          `    action: ${CREATE_REPO_ACTION_ID}`,
          '    input:',
          '      name: payment-api',
          '      squad: payments',
          '      kind: go',
          '      description: Takes payments',
          '      host: github.com',
          '      owner: my-org',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        name: z => z.string().describe('Service = repository name'),
        squad: z =>
          z
            .string()
            .describe(
              'Squad name (Group metadata.name), also the k8s namespace',
            ),
        system: z => z.string().optional().describe('System name'),
        description: z => z.string().max(500).describe('One-line description'),
        kind: z => z.enum(SERVICE_KINDS).describe('Skeleton kind'),
        host: z =>
          z
            .string()
            .optional()
            .describe("'local' (default) or a GitHub host, e.g. github.com"),
        owner: z =>
          z
            .string()
            .optional()
            .describe('GitHub organisation (GitHub hosts only)'),
        sourcePath: z =>
          z
            .string()
            .optional()
            .describe(
              'Workspace directory holding the rendered skeleton (default: workspace root)',
            ),
        environments: z =>
          z
            .array(z.string())
            .optional()
            .describe(
              'Environments to write manifests for (default dev, staging, prod)',
            ),
      },
      output: {
        repoName: z => z.string(),
        host: z => z.string(),
        repoUrl: z => z.string().describe('Browse URL of the repository'),
        cloneUrl: z => z.string(),
        catalogInfoUrl: z =>
          z.string().describe('URL of catalog-info.yaml, for catalog:register'),
        commit: z => z.string().describe('Sha of the first commit'),
      },
    },
    async handler(ctx) {
      const { input } = ctx;
      for (const [label, value] of [
        ['name', input.name],
        ['squad', input.squad],
        ...(input.system ? [['system', input.system]] : []),
        ...(input.environments ?? []).map(e => ['environment', e]),
      ] as const) {
        const problem = serviceNameProblem(value);
        if (problem) throw new InputError(`Invalid ${label}: ${problem}`);
      }
      const host = deps.repoHosts.get(input.host, input.owner);
      const svc: ServiceDescription = {
        name: input.name,
        squad: input.squad,
        system: input.system,
        description: input.description,
        kind: input.kind,
        environments: input.environments ?? DEFAULT_ENVIRONMENTS,
        imageRegistry: deps.imageRegistry,
      };
      ctx.logger.info(
        `Creating repository '${input.name}' on ${host.host}`,
      );
      const skeleton = await readWorkspaceFiles(
        ctx.workspacePath,
        input.sourcePath,
      );
      const platform = platformFiles(svc);
      for (const p of Object.keys(platform)) {
        if (p in skeleton)
          ctx.logger.warn(
            `The skeleton's ${p} is replaced by the generated one`,
          );
      }
      const files = { ...skeleton, ...platform };
      ctx.logger.info(
        `${Object.keys(skeleton).length} skeleton file(s) for kind '${
          input.kind
        }' + ${Object.keys(platform).length} platform file(s): ${Object.keys(
          platform,
        ).join(', ')}`,
      );

      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would create ${host.host} repository '${input.name}' with ${
            Object.keys(files).length
          } files`,
        );
        ctx.output('repoName', input.name);
        ctx.output('host', host.host);
        ctx.output('repoUrl', host.repoUrl(input.name));
        ctx.output('cloneUrl', host.cloneUrl(input.name));
        ctx.output(
          'catalogInfoUrl',
          `${host.repoUrl(input.name)}/catalog-info.yaml`,
        );
        ctx.output('commit', '0000000000000000000000000000000000000000');
        return;
      }

      const message = `Create ${input.name} from the golden path (${
        input.kind
      })\n\n${input.description}\n\n${taskTrailer(ctx.task.id)}`;
      const { commit } = await ctx.checkpoint({
        key: `repo.create.${host.host}.${input.name}`,
        fn: async () => {
          try {
            return await host.createRepo(input.name, files, {
              message,
              description: input.description,
              author: authorFromUser(ctx.user),
            });
          } catch (e) {
            // A retry after a crash between "created" and "checkpoint saved": adopt our own repo.
            if (e instanceof ConflictError) {
              const head = await host
                .headCommit(input.name)
                .catch(() => undefined);
              if (head?.message.includes(taskTrailer(ctx.task.id))) {
                ctx.logger.info(
                  `Repository '${input.name}' was already created by this task; reusing it`,
                );
                return { commit: head.sha };
              }
              throw new ConflictError(
                `Repository '${input.name}' already exists on ${host.host}; pick another name`,
              );
            }
            throw e;
          }
        },
      });
      if (!(await host.exists(input.name))) {
        throw new Error(
          `Repository '${input.name}' was created by an earlier attempt of this task and removed by its rollback; start a new task`,
        );
      }
      const repoUrl = host.repoUrl(input.name);
      ctx.logger.info(
        `Repository ready: ${repoUrl} (commit ${commit.slice(0, 10)})`,
      );
      ctx.output('repoName', input.name);
      ctx.output('host', host.host);
      ctx.output('repoUrl', repoUrl);
      ctx.output('cloneUrl', host.cloneUrl(input.name));
      ctx.output(
        'catalogInfoUrl',
        await host.fileUrl(input.name, 'catalog-info.yaml'),
      );
      ctx.output('commit', commit);
    },
  });
}
