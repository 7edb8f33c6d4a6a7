import type { Command } from 'commander';
import {
  FreezeOverride,
  invalidArtifactIdReason,
  invalidFreezeOverrideReason,
  ReleaseResult,
} from '@devplane/plugin-release-manager-common';
import {
  CommandContext,
  Environment as World,
  serviceCommand,
  withService,
} from '../context';
import { CliError, ExitCode, usageError } from '../errors';
import { formatTime, shortSha, table } from '../output';
import { checkedName } from '../shuttle';
import { currentGitBranch } from '../git';

const PIN_COMMIT_HELP =
  "refuse (409, nothing written) unless the environment's last commit is still <sha>, as `status` printed it ('' = nothing ran there)";
const PIN_ARTIFACT_HELP =
  'refuse (409, nothing written) unless the artifact that would ship is still <id> (promote: what the source environment runs)';

/** `--pin-commit` / `--pin-artifact` as the request's pin: what the user looked at. */
export function checkedPin(opts: { pinCommit?: string; pinArtifact?: string }): {
  pin?: { artifactId?: string; environmentCommit?: string };
} {
  if (opts.pinCommit === undefined && opts.pinArtifact === undefined) return {};
  if (opts.pinCommit !== undefined && !/^([0-9a-f]{40}|[0-9a-f]{64})?$/.test(opts.pinCommit)) {
    throw usageError('--pin-commit must be a full commit sha (as `status --json` prints it), or empty');
  }
  return {
    pin: {
      ...(opts.pinArtifact !== undefined ? { artifactId: checkedArtifactId(opts.pinArtifact) } : {}),
      ...(opts.pinCommit !== undefined ? { environmentCommit: opts.pinCommit } : {}),
    },
  };
}

const BREAK_GLASS_HELP =
  'release without the required approval or inside a freeze window, with a reason (this value, else --reason): ' +
  'written at once with the platform role (Break-glass: trailer, flagged), otherwise a request a second person approves';

const OVERRIDE_FREEZE_HELP =
  'release into production although an open incident froze it; the reason is recorded in the release commit';

/** `release`, `promote` and `rollback`: each one commit in the config repo, or a no-op. */
export function registerReleaseCommands(program: Command, world: World): void {
  serviceCommand(program, 'release', 'release an artifact into an environment')
    .requiredOption('-e, --env <environment>', 'target environment')
    .option('--artifact <id>', 'artifact id, e.g. master-1a2b3c4d5e-6f7a8b9c0d')
    .option('-b, --branch <branch>', 'release the newest artifact of this branch')
    .option(
      '--current-branch',
      'release the newest artifact of the branch checked out here (git)',
    )
    .option('--reason <text>', 'why, recorded in the release log')
    .option('--override-freeze <reason>', OVERRIDE_FREEZE_HELP)
    .option('--break-glass [reason]', BREAK_GLASS_HELP)
    .option('--pin-commit <sha>', PIN_COMMIT_HELP)
    .option('--pin-artifact <id>', PIN_ARTIFACT_HELP)
    .action(
      withService(world, async (opts, ctx, service) => {
        const environment = checkedName('environment', opts.env);
        const override = checkedOverride(opts.overrideFreeze);
        const breakGlass = checkedBreakGlass(opts.breakGlass, opts.reason);
        const artifactId = await chosenArtifact(world, ctx, service, opts);
        const result = await ctx.client.release({
          service,
          environment,
          artifactId,
          reason: opts.reason,
          ...override,
          ...breakGlass,
          ...checkedPin(opts),
        });
        showResult(ctx, result, {
          service,
          environment,
          artifactId,
          verb: 'released',
          overrideFreeze: override.overrideFreeze?.reason,
        });
      }),
    );

  serviceCommand(
    program,
    'promote',
    'release what runs in one environment into another',
  )
    .option(
      '--from <environment>',
      'environment to take the artifact from (default: the one before --to)',
    )
    .option('--to <environment>', 'environment to release it into')
    .option('-e, --env <environment>', 'same as --to (hamctl habit)')
    .option('--reason <text>', 'why, recorded in the release log')
    .option('--override-freeze <reason>', OVERRIDE_FREEZE_HELP)
    .option('--break-glass [reason]', BREAK_GLASS_HELP)
    .option('--pin-commit <sha>', PIN_COMMIT_HELP)
    .option('--pin-artifact <id>', PIN_ARTIFACT_HELP)
    .action(
      withService(world, async (opts, ctx, service) => {
        if (opts.to && opts.env && opts.to !== opts.env) {
          throw usageError('--to and --env name different environments; give one');
        }
        const to = opts.to ?? opts.env;
        if (!to) throw usageError("required option '--to <environment>' (or -e) not specified");
        const toEnvironment = checkedName('environment', to);
        const fromEnvironment = checkedName(
          'environment',
          opts.from ?? (await previousEnvironment(ctx, toEnvironment)),
        );
        if (fromEnvironment === toEnvironment) {
          throw usageError(
            `--from and --to are both '${toEnvironment}'; promote between two environments`,
          );
        }
        const override = checkedOverride(opts.overrideFreeze);
        const breakGlass = checkedBreakGlass(opts.breakGlass, opts.reason);
        const result = await ctx.client.promote({
          service,
          fromEnvironment,
          toEnvironment,
          reason: opts.reason,
          ...override,
          ...breakGlass,
          ...checkedPin(opts),
        });
        showResult(ctx, result, {
          service,
          environment: toEnvironment,
          verb: `promoted from ${fromEnvironment}`,
          overrideFreeze: override.overrideFreeze?.reason,
        });
      }),
    );

  serviceCommand(
    program,
    'rollback',
    'return an environment to an earlier artifact: pick one on a terminal, or --artifact / --previous',
  )
    .requiredOption('-e, --env <environment>', 'environment to roll back')
    .option('--artifact <id>', 'earlier artifact to return to')
    .option(
      '--previous',
      'return to the artifact that ran before the current one (a rollback after a rollback goes further back)',
    )
    .option('--reason <text>', 'why, recorded in the release log')
    .option('--override-freeze <reason>', OVERRIDE_FREEZE_HELP)
    .option('--break-glass [reason]', BREAK_GLASS_HELP)
    .option('--pin-commit <sha>', PIN_COMMIT_HELP)
    .option('--pin-artifact <id>', PIN_ARTIFACT_HELP)
    .action(
      withService(world, async (opts, ctx, service) => {
        const environment = checkedName('environment', opts.env);
        if (opts.artifact !== undefined && opts.previous) {
          throw usageError('give --artifact or --previous, not both');
        }
        let artifactId =
          opts.artifact === undefined
            ? undefined
            : checkedArtifactId(opts.artifact);
        let pinned = checkedPin(opts);
        if (artifactId === undefined && !opts.previous) {
          if (!world.interactive || !world.prompt || ctx.out.json) {
            throw usageError(
              'which artifact? pass --artifact <id>, or --previous for the one before the current ' +
                '(on a terminal, rollback lets you pick)',
            );
          }
          const picked = await pickRollbackTarget(world, ctx, service, environment);
          artifactId = picked.artifactId;
          // send exactly what the picker printed: the chosen artifact and the environment's commit
          pinned = { pin: { artifactId, environmentCommit: picked.environmentCommit, ...pinned.pin } };
        }
        const override = checkedOverride(opts.overrideFreeze);
        const breakGlass = checkedBreakGlass(opts.breakGlass, opts.reason);
        const result = await ctx.client.rollback({
          service,
          environment,
          ...(artifactId ? { artifactId } : {}),
          reason: opts.reason,
          ...override,
          ...breakGlass,
          ...pinned,
        });
        showResult(ctx, result, {
          service,
          environment,
          artifactId,
          verb: 'rolled back to',
          overrideFreeze: override.overrideFreeze?.reason,
        });
      }),
    );
}

/** Prints a release result, in plain words unless --json. */
function showResult(
  ctx: CommandContext,
  result: ReleaseResult,
  what: Parameters<typeof describeResult>[1],
): void {
  ctx.out.result(result, () => describeResult(result, what));
}

export function checkedArtifactId(value: string): string {
  const reason = invalidArtifactIdReason(value);
  if (reason) throw usageError(reason);
  return value;
}

/** `--override-freeze <reason>` as the request field, checked before anything is sent. */
export function checkedOverride(reason: string | undefined): {
  overrideFreeze?: FreezeOverride;
} {
  if (reason === undefined) return {};
  const invalid = invalidFreezeOverrideReason(reason);
  if (invalid) throw usageError(`--override-freeze: ${invalid}`);
  return { overrideFreeze: { reason: reason.trim() } };
}

/**
 * `--break-glass [reason]` as the request field: the flag's value, else `--reason`; a usage error
 * (nothing sent) when there is no reason or it is not one line of at most 500 characters.
 */
export function checkedBreakGlass(
  flag: string | boolean | undefined,
  reason: string | undefined,
): { breakGlass?: { reason: string } } {
  if (flag === undefined || flag === false) return {};
  const text = typeof flag === 'string' ? flag : reason;
  if (text === undefined) {
    throw usageError('--break-glass needs a reason: --break-glass "<why it cannot wait>" or --reason "<why>"');
  }
  const invalid = invalidFreezeOverrideReason(text);
  if (invalid) throw usageError(`--break-glass: ${invalid}`);
  return { breakGlass: { reason: text.trim() } };
}

/** Plain words for a release result; a no-op says so. */
export function describeResult(
  result: ReleaseResult,
  what: {
    service: string;
    environment: string;
    artifactId?: string;
    verb: string;
    /** Reason of `--override-freeze`, when given. */
    overrideFreeze?: string;
  },
): string[] {
  const artifactId = result.release?.artifactId ?? what.artifactId;
  if (result.approval) {
    const r = result.approval;
    return [
      `${what.service}: waiting for approval, nothing was written (${r.why.join('; ')})`,
      `  request ${r.id} for ${r.artifactId} in ${r.environment}, expires ${formatTime(r.expiresAt)}`,
      `  someone else who may release there runs: release-manager approvals approve ${r.id}`,
    ];
  }
  if (!result.changed) {
    if (artifactId) {
      return [
        `${what.service}: ${artifactId} already runs in ${what.environment}, nothing to do`,
      ];
    }
    const message = result.message || `nothing changes in ${what.environment}`;
    return [
      `${what.service}: ${message}${
        /nothing to do/i.test(message) ? '' : ', nothing to do'
      }`,
    ];
  }
  const lines: string[] = [];
  if (what.verb === 'rolled back to') {
    lines.push(
      `${what.service}: rolled ${what.environment} back to ${
        artifactId ?? 'the previous artifact'
      }`,
    );
  } else if (what.verb.startsWith('promoted')) {
    lines.push(
      `${what.service}: ${artifactId ?? 'artifact'} ${what.verb} to ${
        what.environment
      }`,
    );
  } else {
    lines.push(
      `${what.service}: ${what.verb} ${artifactId ?? 'artifact'} to ${
        what.environment
      }`,
    );
  }
  if (result.release) {
    lines.push(
      `  commit ${shortSha(result.release.id)} by ${
        result.release.releasedBy
      }: ${result.release.commitTitle}`,
    );
    if (result.release.breakGlass) {
      lines.push(`  BREAK-GLASS (recorded and flagged): ${result.release.breakGlass}`);
    }
  }
  // The server's message says so when the override lifted a freeze (else it was ignored).
  if (
    what.overrideFreeze &&
    /production freeze overridden/i.test(result.message)
  ) {
    lines.push(`  production freeze overridden: ${what.overrideFreeze}`);
  }
  return lines;
}

/** The artifact of `release`: `--artifact`, or the newest of `--branch` / the checked-out branch. */
async function chosenArtifact(
  world: World,
  ctx: CommandContext,
  service: string,
  opts: { artifact?: string; branch?: string; currentBranch?: boolean },
): Promise<string> {
  const given = [opts.artifact !== undefined, opts.branch !== undefined, Boolean(opts.currentBranch)];
  if (given.filter(Boolean).length !== 1) {
    throw usageError('give exactly one of --artifact <id>, --branch <branch> or --current-branch');
  }
  if (opts.artifact !== undefined) return checkedArtifactId(opts.artifact);
  const branch = opts.branch ?? currentGitBranch(world.cwd);
  if (!branch.trim() || branch.length > 250 || /[\s\0]/.test(branch)) {
    throw usageError(`branch '${branch}' is invalid: a git branch name without spaces`);
  }
  const page = await ctx.client.getArtifacts(service, { branch, limit: 1 });
  const newest = page.items[0];
  if (!newest) {
    throw new CliError(
      `${service}: no artifact from branch '${branch}' yet (has CI pushed one?)`,
      ExitCode.NotFound,
    );
  }
  ctx.out.note(
    `newest artifact of ${branch}: ${newest.id} (${shortSha(newest.sha)}, ${formatTime(newest.createdAt)})`,
  );
  return newest.id;
}

/** The environment ordered just before `to` (dev → staging → prod), for `promote` without --from. */
async function previousEnvironment(ctx: CommandContext, to: string): Promise<string> {
  const envs = [...(await ctx.client.getEnvironments())].sort((a, b) => a.order - b.order);
  const index = envs.findIndex(e => e.name === to);
  if (index < 0) {
    throw new CliError(
      `environment '${to}' is not configured (known: ${envs.map(e => e.name).join(', ')})`,
      ExitCode.NotFound,
    );
  }
  if (index === 0) {
    throw usageError(`${to} is the first environment; nothing comes before it to promote from (pass --from)`);
  }
  return envs[index - 1].name;
}

/**
 * The interactive picker of `rollback` on a terminal: the distinct artifacts that ran in the
 * environment other than the current one, newest first; Enter takes the first row.
 */
async function pickRollbackTarget(
  world: World,
  ctx: CommandContext,
  service: string,
  environment: string,
): Promise<{ artifactId: string; environmentCommit?: string }> {
  // the environment's commit as it is when the list is printed (the pin of the rollback)
  const environmentCommit = (await ctx.client.getStatus(service)).find(s => s.environment === environment)?.commit;
  const page = await ctx.client.getReleases(service, { environment, limit: 50 });
  const current = page.items[0]?.artifactId;
  if (!current) {
    throw new CliError(`${service}: nothing runs in ${environment}, nothing to roll back`, ExitCode.NotFound);
  }
  const seen = new Set([current]);
  const choices = page.items.filter(r => {
    if (seen.has(r.artifactId)) return false;
    seen.add(r.artifactId);
    return true;
  }).slice(0, 9);
  if (!choices.length) {
    throw new CliError(
      `${service}: no earlier artifact ran in ${environment}; pass --artifact <id>`,
      ExitCode.NotFound,
    );
  }
  const lines = [
    `${service} in ${environment} runs ${current}. Roll back to:`,
    ...table(
      ['#', 'artifact', 'branch', 'released', 'by'],
      choices.map((r, i) => [
        String(i + 1),
        r.artifactId,
        r.branch,
        formatTime(r.releasedAt),
        r.releasedBy,
      ]),
    ).map(l => `  ${l}`),
  ];
  world.io.stderr(`${lines.join('\n')}\n`);
  for (let attempt = 0; attempt < 3; attempt++) {
    const answer = (await world.prompt!(`Choose 1-${choices.length} [1], or q to cancel: `)).trim();
    if (answer === '') return { artifactId: choices[0].artifactId, environmentCommit };
    if (/^q(uit)?$/i.test(answer)) throw new CliError('cancelled, nothing changed', ExitCode.Usage);
    const n = Number(answer);
    if (Number.isInteger(n) && n >= 1 && n <= choices.length) {
      return { artifactId: choices[n - 1].artifactId, environmentCommit };
    }
    world.io.stderr(`'${answer}' is not one of 1-${choices.length}\n`);
  }
  throw new CliError('no choice made, nothing changed', ExitCode.Usage);
}

