import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { GoldenPathDeps } from '../lib/deps';
import {
  entityNameFromRef,
  SERVICE_KINDS,
  serviceNameProblem,
} from '../lib/names';

export const VALIDATE_ACTION_ID = 'devplane:golden-path:validate';

/** Checks a golden-path request against catalog and git host; returns the problems found. */
export async function findProblems(
  deps: GoldenPathDeps,
  input: {
    name: string;
    squad: string;
    system?: string;
    host?: string;
    owner?: string;
  },
): Promise<{ problems: string[]; squad?: string; system?: string }> {
  const problems: string[] = [];
  const nameProblem = serviceNameProblem(input.name);
  if (nameProblem) problems.push(nameProblem);

  const token = await deps.catalog.token();
  const squadRef = entityNameFromRef(input.squad ?? '', 'group');
  let squad: string | undefined;
  if (!input.squad || !squadRef) {
    problems.push(
      `Squad '${
        input.squad ?? ''
      }' must be a Group (e.g. group:default/payments)`,
    );
  } else {
    const group = await deps.catalog.api.getEntityByRef(
      `group:${squadRef.namespace}/${squadRef.name}`,
      { token },
    );
    if (!group) {
      problems.push(`Squad '${squadRef.name}' is not a Group in the catalog`);
    } else if (serviceNameProblem(group.metadata.name)) {
      problems.push(
        `Squad '${group.metadata.name}' cannot be used as a Kubernetes namespace`,
      );
    } else {
      squad = group.metadata.name;
    }
  }

  let system: string | undefined;
  if (input.system) {
    const systemRef = entityNameFromRef(input.system, 'system');
    const entity = systemRef
      ? await deps.catalog.api.getEntityByRef(
          `system:${systemRef.namespace}/${systemRef.name}`,
          {
            token,
          },
        )
      : undefined;
    if (!entity)
      problems.push(`System '${input.system}' is not a System in the catalog`);
    else system = entity.metadata.name;
  }

  if (!nameProblem) {
    const existing = await deps.catalog.api.getEntities(
      {
        filter: { kind: 'Component', 'metadata.name': input.name },
        fields: ['kind', 'metadata.name', 'metadata.namespace'],
      },
      { token },
    );
    if (existing.items.length > 0) {
      const e = existing.items[0];
      problems.push(
        `Name '${input.name}' is taken: component:${
          e.metadata.namespace ?? 'default'
        }/${e.metadata.name} is already in the catalog`,
      );
    }
    const host = deps.repoHosts.get(input.host, input.owner);
    if (await host.exists(input.name)) {
      problems.push(
        `Name '${input.name}' is taken: a repository with that name exists on ${host.host}`,
      );
    }
  }
  return { problems, squad, system };
}

/** `devplane:golden-path:validate`: checks the five fields before anything is created. */
export function createValidateAction(deps: GoldenPathDeps) {
  return createTemplateAction({
    id: VALIDATE_ACTION_ID,
    description:
      'Checks a new service request: name is a lowercase DNS label not used in the catalog or on the git host, squad is a Group, system exists. Creates nothing.',
    supportsDryRun: true,
    examples: [
      {
        description: 'Validate the golden path form',
        example: [
          'steps:',
          '  - id: validate',
          `    action: ${VALIDATE_ACTION_ID}`,
          '    input:',
          '      name: ${{ parameters.name }}',
          '      squad: ${{ parameters.squad }}',
          '      system: ${{ parameters.system }}',
          '      kind: ${{ parameters.kind }}',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        name: z => z.string().describe('Service name (lowercase DNS label)'),
        squad: z =>
          z.string().describe('Owning squad: a Group entity ref or name'),
        system: z =>
          z.string().optional().describe('System entity ref or name'),
        description: z =>
          z.string().max(500).optional().describe('One-line description'),
        kind: z =>
          z
            .enum(SERVICE_KINDS)
            .optional()
            .describe('Skeleton: node, go or static'),
        host: z =>
          z
            .string()
            .optional()
            .describe("Repository host: 'local' (default) or a GitHub host"),
        owner: z =>
          z
            .string()
            .optional()
            .describe('GitHub organisation, for GitHub hosts'),
      },
      output: {
        name: z => z.string(),
        squad: z =>
          z
            .string()
            .describe(
              'Squad name (Group metadata.name) = Kubernetes namespace',
            ),
        system: z => z.string().optional(),
      },
    },
    async handler(ctx) {
      ctx.logger.info(
        `Checking name '${ctx.input.name}', squad and system`,
      );
      const { problems, squad, system } = await findProblems(deps, ctx.input);
      if (problems.length > 0 || !squad) {
        for (const p of problems) ctx.logger.error(p);
        throw new InputError(
          `Cannot create the service: ${problems.join('; ')}`,
        );
      }
      ctx.logger.info(
        `Name '${ctx.input.name}' is free; squad '${squad}'${
          system ? `, system '${system}'` : ''
        } exist`,
      );
      ctx.output('name', ctx.input.name);
      ctx.output('squad', squad);
      if (system) ctx.output('system', system);
    },
  });
}
