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
import { usageError } from '../errors';
import { shortSha } from '../output';
import { checkedName } from '../shuttle';

const OVERRIDE_FREEZE_HELP =
  'release into production although an open incident froze it; the reason is recorded in the release commit';

/** `release`, `promote` and `rollback`: each one commit in the config repo, or a no-op. */
export function registerReleaseCommands(program: Command, world: World): void {
  serviceCommand(program, 'release', 'release an artifact into an environment')
    .requiredOption('--env <environment>', 'target environment')
    .requiredOption(
      '--artifact <id>',
      'artifact id, e.g. master-1a2b3c4d5e-6f7a8b9c0d',
    )
    .option('--reason <text>', 'why, recorded in the release log')
    .option('--override-freeze <reason>', OVERRIDE_FREEZE_HELP)
    .action(
      withService(world, async (opts, ctx, service) => {
        const environment = checkedName('environment', opts.env);
        const artifactId = checkedArtifactId(opts.artifact);
        const override = checkedOverride(opts.overrideFreeze);
        const result = await ctx.client.release({
          service,
          environment,
          artifactId,
          reason: opts.reason,
          ...override,
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
    .requiredOption(
      '--from <environment>',
      'environment to take the artifact from',
    )
    .requiredOption('--to <environment>', 'environment to release it into')
    .option('--reason <text>', 'why, recorded in the release log')
    .option('--override-freeze <reason>', OVERRIDE_FREEZE_HELP)
    .action(
      withService(world, async (opts, ctx, service) => {
        const fromEnvironment = checkedName('environment', opts.from);
        const toEnvironment = checkedName('environment', opts.to);
        if (fromEnvironment === toEnvironment) {
          throw usageError(
            `--from and --to are both '${toEnvironment}'; promote between two environments`,
          );
        }
        const override = checkedOverride(opts.overrideFreeze);
        const result = await ctx.client.promote({
          service,
          fromEnvironment,
          toEnvironment,
          reason: opts.reason,
          ...override,
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
    'return an environment to an earlier artifact (default: the one before the current)',
  )
    .requiredOption('--env <environment>', 'environment to roll back')
    .option('--artifact <id>', 'earlier artifact to return to')
    .option('--reason <text>', 'why, recorded in the release log')
    .option('--override-freeze <reason>', OVERRIDE_FREEZE_HELP)
    .action(
      withService(world, async (opts, ctx, service) => {
        const environment = checkedName('environment', opts.env);
        const artifactId =
          opts.artifact === undefined
            ? undefined
            : checkedArtifactId(opts.artifact);
        const override = checkedOverride(opts.overrideFreeze);
        const result = await ctx.client.rollback({
          service,
          environment,
          ...(artifactId ? { artifactId } : {}),
          reason: opts.reason,
          ...override,
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
