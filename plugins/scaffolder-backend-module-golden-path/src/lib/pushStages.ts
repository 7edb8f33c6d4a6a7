import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { ResponseError, stringifyError } from '@backstage/errors';
import type { PushProgress } from '@devplane/plugin-release-manager-common';
import { ReleaseManagerClient } from './releaseManager';

/** A stage of the push path the first deploy waits for. */
export type PushStage =
  | { kind: 'received' }
  | { kind: 'artifact' }
  | { kind: 'released'; environment: string };

/** What the release manager reported for one stage. */
export interface StageReport {
  stage: PushStage;
  message: string;
  artifactId?: string;
}

/** The push path refused or failed a stage (a definite answer from the release manager). */
export class PushStageError extends Error {
  name = 'PushStageError';
}

/** No answer for a stage within the timeout. */
export class PushStageTimeoutError extends Error {
  name = 'PushStageTimeoutError';
}

export function stageLabel(stage: PushStage): string {
  if (stage.kind === 'received') return 'push received by the release manager';
  if (stage.kind === 'artifact') return 'artifact built from the push';
  return `released to ${stage.environment} by its auto-release policy`;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * Follows one push through the release manager (`GET /services/:service/pushes`, the per-step
 * progress the portal shows, long-polled: each answer comes when a step is recorded) until every auto-release environment reports a release, calling
 * `onStage` once per stage in order. Throws {@link PushStageError} when a step is refused, failed
 * or skipped, and {@link PushStageTimeoutError} when a stage gets no answer within `stageTimeoutMs`
 * (the clock restarts with every stage reached).
 */
export async function followPush(options: {
  releaseManager: ReleaseManagerClient;
  credentials: BackstageCredentials;
  service: string;
  branch: string;
  sha: string;
  environments: string[];
  stageTimeoutMs: number;
  /** Longest wait of one long-poll request (default 1000 ms). */
  waitMs?: number;
  /** Pause before asking again when an answer came back at once without a change (default 200 ms). */
  pollMs?: number;
  onStage(report: StageReport): void;
}): Promise<{ artifactId: string; progress: PushProgress }> {
  const stages: PushStage[] = [
    { kind: 'received' },
    { kind: 'artifact' },
    ...options.environments.map(environment => ({
      kind: 'released' as const,
      environment,
    })),
  ];
  // how long one request may wait for a change: short enough that a change recorded by another
  // replica (which does not wake this one) is seen within it
  const waitMs = options.waitMs ?? 1000;
  const minPauseMs = options.pollMs ?? 200;
  let next = 0;
  let artifactId: string | undefined;
  let deadline = Date.now() + options.stageTimeoutMs;
  let lastError: string | undefined;
  /** The newest `updatedAt` seen: the release manager answers as soon as a push changes after it. */
  let seen: string | undefined;
  for (;;) {
    let items: PushProgress[] = [];
    const asked = Date.now();
    let changed = false;
    try {
      const all = (
        await options.releaseManager.getPushes(
          options.credentials,
          options.service,
          seen === undefined
            ? undefined
            : {
                changedAfter: seen,
                waitMs: Math.max(
                  0,
                  Math.min(waitMs, deadline - Date.now() + 50),
                ),
              },
        )
      ).items;
      for (const p of all) {
        if (seen === undefined || p.updatedAt > seen) {
          seen = p.updatedAt;
          changed = true;
        }
      }
      seen ??= new Date(0).toISOString();
      items = all.filter(
        p => p.sha === options.sha && p.branch === options.branch,
      );
      lastError = undefined;
    } catch (e) {
      // a 4xx is a definite answer (e.g. 403); anything else may pass: keep asking until the deadline
      if (e instanceof ResponseError && e.response.status < 500) throw e;
      lastError = stringifyError(e);
    }
    // newest first; a push processed twice (a retried task) shows the artifact as "skipped" the
    // second time: the earlier record knows which artifact it built
    const progress = items[0];
    if (progress) {
      const known = items.find(p => p.artifactId)?.artifactId;
      for (; next < stages.length; next++) {
        const stage = stages[next];
        const stepName =
          stage.kind === 'released'
            ? `release:${stage.environment}`
            : stage.kind;
        const step = [...progress.steps]
          .reverse()
          .find(s => s.step === stepName);
        if (!step) {
          const overall = progress.steps.find(
            s => s.step === 'release' && s.status !== 'done',
          );
          if (stage.kind === 'released' && overall) {
            throw new PushStageError(
              `not released to ${stage.environment}: ${overall.message}`,
            );
          }
          if (
            stage.kind === 'released' &&
            progress.steps.some(s => s.step.startsWith('release:'))
          ) {
            // other environments were handled and this one was not: its policy did not match
            const handled = progress.steps.filter(s =>
              s.step.startsWith('release:'),
            );
            const last = handled[handled.length - 1];
            if (last && Date.now() - Date.parse(last.at) > 5000) {
              throw new PushStageError(
                `no auto-release to ${
                  stage.environment
                } happened for the push (handled: ${handled
                  .map(s => s.step.slice('release:'.length))
                  .join(', ')})`,
              );
            }
          }
          break;
        }
        if (stage.kind === 'artifact' && step.status === 'skipped' && known) {
          artifactId = known;
        } else if (step.status !== 'done') {
          throw new PushStageError(
            `${stageLabel(stage)}: ${step.status}: ${step.message}`,
          );
        }
        if (stage.kind === 'artifact')
          artifactId ??= progress.artifactId ?? known;
        options.onStage({ stage, message: step.message, artifactId });
        deadline = Date.now() + options.stageTimeoutMs;
      }
      if (next === stages.length) {
        if (!artifactId) {
          throw new PushStageError(
            'the release manager reported no artifact id for the push',
          );
        }
        return { artifactId, progress };
      }
    }
    if (Date.now() > deadline) {
      throw new PushStageTimeoutError(
        `no ${stageLabel(stages[next])} within ${Math.round(
          options.stageTimeoutMs / 1000,
        )} s${lastError ? ` (last error: ${lastError})` : ''}`,
      );
    }
    // The long poll waited for a change; an answer that came back at once without one (an
    // error, or a server that does not wait) is retried after a pause, never in a busy loop.
    if (!changed && Date.now() - asked < minPauseMs) await sleep(minPauseMs);
  }
}
