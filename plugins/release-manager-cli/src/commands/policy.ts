import type { Command } from 'commander';
import type { ServicePolicies } from '@devplane/plugin-release-manager-common';
import {
  CommandContext,
  Environment as World,
  serviceCommand,
  withService,
} from '../context';
import { usageError } from '../errors';
import { table } from '../output';
import { checkedName } from '../shuttle';

const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const MAX_REGEX = 500;

/** `policy list | apply auto-release | apply branch-restriction | delete`. */
export function registerPolicyCommands(program: Command, world: World): void {
  const policy = program
    .command('policy')
    .description('auto-release and branch-restriction policies of a service');

  serviceCommand(policy, 'list', 'list the policies of a service').action(
    withService(world, async (_opts, ctx, service) => {
      const policies = await ctx.client.getPolicies(service);
      ctx.out.result(policies, () => renderPolicies(service, policies));
    }),
  );

  const apply = policy
    .command('apply')
    .description('create or replace a policy');

  serviceCommand(
    apply,
    'auto-release',
    'release every new artifact of a branch into an environment by itself',
  )
    .requiredOption(
      '--branch <branch>',
      'branch whose artifacts are released, e.g. master',
    )
    .requiredOption('--env <environment>', 'environment they go to')
    .action(
      withService(world, async (opts, ctx, service) => {
        const environment = checkedName('environment', opts.env);
        const branch = String(opts.branch);
        if (!branch.trim() || branch.length > 250 || /[\s\0]/.test(branch)) {
          throw usageError(
            `branch '${branch}' is invalid: a git branch name without spaces`,
          );
        }
        const policies = await ctx.client.setAutoReleasePolicy(service, {
          branch,
          environment,
        });
        showChange(
          ctx,
          service,
          policies,
          `${service}: artifacts from branch ${branch} will be released to ${environment} automatically`,
        );
      }),
    );

  serviceCommand(
    apply,
    'branch-restriction',
    'only branches matching a regular expression may reach an environment',
  )
    .requiredOption(
      '--regex <regex>',
      "branch regular expression, e.g. '^(master|main)$'",
    )
    .requiredOption('--env <environment>', 'restricted environment')
    .action(
      withService(world, async (opts, ctx, service) => {
        const environment = checkedName('environment', opts.env);
        const branchRegex = String(opts.regex);
        if (!branchRegex || branchRegex.length > MAX_REGEX) {
          throw usageError(`--regex must be 1 to ${MAX_REGEX} characters`);
        }
        try {
          RegExp(branchRegex);
        } catch (error) {
          throw usageError(
            `--regex '${branchRegex}' is not a valid regular expression: ${
              (error as Error).message
            }`,
          );
        }
        const policies = await ctx.client.setBranchRestrictionPolicy(service, {
          branchRegex,
          environment,
        });
        showChange(
          ctx,
          service,
          policies,
          `${service}: only branches matching ${branchRegex} may reach ${environment}`,
        );
      }),
    );

  serviceCommand(policy, 'delete', 'delete a policy by id (see `policy list`)')
    .requiredOption('--id <policyId>', 'policy id')
    .action(
      withService(world, async (opts, ctx, service) => {
        const id = String(opts.id);
        if (!POLICY_ID.test(id) || id.includes('..')) {
          throw usageError(
            `policy id '${id}' is invalid; copy it from \`policy list\``,
          );
        }
        const policies = await ctx.client.deletePolicy(service, id);
        showChange(ctx, service, policies, `${service}: deleted policy ${id}`);
      }),
    );
}

/** The headline, then the policies as they are now. */
function showChange(
  ctx: CommandContext,
  service: string,
  policies: ServicePolicies,
  headline: string,
): void {
  ctx.out.result(policies, () => [
    headline,
    ...renderPolicies(service, policies).slice(1),
  ]);
}

function renderPolicies(service: string, p: ServicePolicies): string[] {
  const rows = [
    ...p.autoReleases.map(a => [
      a.id,
      'auto-release',
      a.environment,
      `branch ${a.branch}`,
    ]),
    ...p.branchRestrictions.map(b => [
      b.id,
      'branch-restriction',
      b.environment,
      `branches matching ${b.branchRegex}`,
    ]),
  ];
  if (rows.length === 0) return [`${service}: no policies`];
  return [
    `${service}: ${rows.length} ${rows.length === 1 ? 'policy' : 'policies'}`,
    ...table(['id', 'type', 'environment', 'rule'], rows),
  ];
}
