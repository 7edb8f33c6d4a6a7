import type { Command } from 'commander';
import type { ServicePolicies } from '@devplane/plugin-release-manager-common';
import { Environment as World, createContext } from '../context';
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

  policy
    .command('list')
    .description('list the policies of a service')
    .option('--service <name>', 'service (default: from shuttle.yaml)')
    .action(async (opts, cmd: Command) => {
      const ctx = createContext(world, cmd);
      const service = ctx.service(opts.service);
      const policies = await ctx.client.getPolicies(service);
      ctx.out.result(policies, () => renderPolicies(service, policies));
    });

  const apply = policy
    .command('apply')
    .description('create or replace a policy');

  apply
    .command('auto-release')
    .description(
      'release every new artifact of a branch into an environment by itself',
    )
    .option('--service <name>', 'service (default: from shuttle.yaml)')
    .requiredOption(
      '--branch <branch>',
      'branch whose artifacts are released, e.g. master',
    )
    .requiredOption('--env <environment>', 'environment they go to')
    .action(async (opts, cmd: Command) => {
      const ctx = createContext(world, cmd);
      const service = ctx.service(opts.service);
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
      ctx.out.result(policies, () => [
        `${service}: artifacts from branch ${branch} will be released to ${environment} automatically`,
        ...renderPolicies(service, policies).slice(1),
      ]);
    });

  apply
    .command('branch-restriction')
    .description(
      'only branches matching a regular expression may reach an environment',
    )
    .option('--service <name>', 'service (default: from shuttle.yaml)')
    .requiredOption(
      '--regex <regex>',
      "branch regular expression, e.g. '^(master|main)$'",
    )
    .requiredOption('--env <environment>', 'restricted environment')
    .action(async (opts, cmd: Command) => {
      const ctx = createContext(world, cmd);
      const service = ctx.service(opts.service);
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
      ctx.out.result(policies, () => [
        `${service}: only branches matching ${branchRegex} may reach ${environment}`,
        ...renderPolicies(service, policies).slice(1),
      ]);
    });

  policy
    .command('delete')
    .description('delete a policy by id (see `policy list`)')
    .option('--service <name>', 'service (default: from shuttle.yaml)')
    .requiredOption('--id <policyId>', 'policy id')
    .action(async (opts, cmd: Command) => {
      const ctx = createContext(world, cmd);
      const service = ctx.service(opts.service);
      const id = String(opts.id);
      if (!POLICY_ID.test(id) || id.includes('..')) {
        throw usageError(
          `policy id '${id}' is invalid; copy it from \`policy list\``,
        );
      }
      const policies = await ctx.client.deletePolicy(service, id);
      ctx.out.result(policies, () => [
        `${service}: deleted policy ${id}`,
        ...renderPolicies(service, policies).slice(1),
      ]);
    });
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
