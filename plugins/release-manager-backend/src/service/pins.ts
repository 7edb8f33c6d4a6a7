/**
 * Pinned actions: a release, promotion or rollback request carries what the user saw (the
 * artifact and the environment's commit). If either moved before the write, the request fails
 * with 409 {@link STALE_PIN_ERROR} saying what changed, and nothing is written.
 */
import { ConflictError } from '@backstage/errors';
import { STALE_PIN_ERROR } from '@devplane/plugin-release-manager-common';
import type { ActionPin } from '@devplane/plugin-release-manager-common';
import type { HistoryReader } from '../history/HistoryReader';

/** 409: what the user looked at moved. */
export class ChangedSinceYouLookedError extends ConflictError {
  name = STALE_PIN_ERROR as any;
  readonly statusCode = 409;
}

/**
 * The last config repo commit (first-parent history of the remote branch as last fetched) that
 * changed the service's folder in the environment, any namespace; '' when none. Read from the
 * verified reader's scan (kept up to date incrementally), not by walking history per call.
 */
export async function environmentCommit(
  reader: HistoryReader,
  environment: string,
  service: string,
): Promise<string> {
  return reader.lastCommitOf(environment, service);
}

/**
 * Checks a pin against what the action would do now. `shipping` is the artifact the action
 * would release; `currentCommit` the environment's commit now; `runningNow` what runs there now.
 */
export function checkPin(args: {
  pin: ActionPin | undefined;
  environment: string;
  service: string;
  shipping: string;
  currentCommit: string;
  runningNow?: string;
  /** promote: the environment the artifact comes from. */
  from?: string;
}): void {
  const { pin } = args;
  if (!pin) return;
  const changes: string[] = [];
  if (pin.artifactId !== undefined && pin.artifactId !== args.shipping) {
    changes.push(
      args.from
        ? `${args.from} now runs ${args.shipping}, not ${pin.artifactId} that you looked at`
        : `this would now ship ${args.shipping}, not ${pin.artifactId} that you looked at`,
    );
  }
  if (pin.environmentCommit !== undefined && pin.environmentCommit !== args.currentCommit) {
    changes.push(
      `${args.environment} changed: its last commit is ${args.currentCommit.slice(0, 12) || 'none'}, not ${pin.environmentCommit.slice(0, 12) || 'none'}${args.runningNow ? ` (it runs ${args.runningNow} now)` : ''}`,
    );
  }
  if (changes.length) {
    throw new ChangedSinceYouLookedError(
      `${args.service} changed since you looked: ${changes.join('; ')}. Nothing was written; look again and retry.`,
    );
  }
}
