import fs from 'node:fs/promises';
import path from 'node:path';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  ActionContext,
  TemplateAction,
} from '@backstage/plugin-scaffolder-node';
import { createGoldenPathActions } from '../actions';
import { GoldenPathDeps } from '../lib/deps';
import { ServiceKind } from '../lib/names';
import { checkpointStore, recordingLogger } from '../testing/context';
import { createGoldenPathFixture, renderSkeleton } from '../testing/fixture';

/** Options of {@link runGoldenPathBench}. */
export interface GoldenPathBenchOptions {
  iterations?: number;
  kind?: ServiceKind;
  squad?: string;
  /**
   * Real dependencies (local git host of a running backend, real release manager). Without them
   * the bench builds a temporary local git host and a release manager stand-in that commits each
   * release to a config repo, as the real one does.
   */
  deps?: GoldenPathDeps;
  /** Where to render workspaces (default: a temporary directory). */
  workDir?: string;
  /** Credentials the release manager calls are made on behalf of. */
  user?: BackstageCredentials;
  /** Commit author of the generated commits (the scaffolder takes it from the user entity). */
  author?: { name: string; email: string };
}

/** Timings of one run of the chain, in milliseconds. */
export interface GoldenPathBenchRun {
  name: string;
  validate: number;
  skeleton: number;
  repo: number;
  pipeline: number;
  firstDeploy: number;
  total: number;
  releaseId: string;
}

const STEPS = [
  'validate',
  'skeleton',
  'repo',
  'pipeline',
  'firstDeploy',
  'total',
] as const;

function percentile(values: number[], p: number) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  ];
}

/**
 * Times the golden path's action chain — validate → render skeleton → create repo → create
 * pipeline → first production deploy — against a real local git host. The catalog registration
 * (built-in `catalog:register`) is not part of the chain here; the lead's end-to-end run through
 * the scaffolder API covers it.
 */
export async function runGoldenPathBench(options: GoldenPathBenchOptions = {}) {
  const iterations = options.iterations ?? 5;
  const kind = options.kind ?? 'node';
  const squad = options.squad ?? 'payments';
  const fixture = options.deps ? undefined : await createGoldenPathFixture();
  const deps = options.deps ?? fixture!.deps;
  const workDir = options.workDir ?? fixture!.root;
  const user =
    options.user ??
    ({
      $$type: '@backstage/BackstageCredentials',
      principal: { type: 'user', userEntityRef: 'user:default/bench' },
    } as BackstageCredentials);
  const [validate, repo, pipeline, firstDeploy] = createGoldenPathActions(deps);
  const runs: GoldenPathBenchRun[] = [];
  try {
    for (let i = 0; i < iterations; i++) {
      const name = `bench-${Date.now().toString(36)}-${i}`;
      const workspacePath = path.join(workDir, `ws-${name}`);
      await fs.mkdir(workspacePath, { recursive: true });
      const checkpoints = checkpointStore();
      const call = async (
        action: TemplateAction<any, any, any>,
        input: Record<string, unknown>,
      ) => {
        const outputs: Record<string, any> = {};
        const ctx = {
          input,
          logger: recordingLogger(),
          workspacePath,
          checkpoint: checkpoints.checkpoint,
          output: (k: string, v: unknown) => {
            outputs[k] = v;
          },
          createTemporaryDirectory: async () =>
            fs.mkdtemp(path.join(workspacePath, 'tmp-')),
          getInitiatorCredentials: async () => user,
          task: { id: `bench-task-${name}` },
          user: options.author && {
            ref: 'user:default/bench',
            entity: {
              metadata: { name: 'bench' },
              spec: {
                profile: {
                  email: options.author.email,
                  displayName: options.author.name,
                },
              },
            },
          },
          isDryRun: false,
        } as unknown as ActionContext<any, any>;
        await action.handler(ctx);
        return outputs;
      };
      const t: Record<string, number> = {};
      const time = async <T>(step: string, fn: () => Promise<T>) => {
        const start = performance.now();
        const out = await fn();
        t[step] = performance.now() - start;
        return out;
      };
      const start = performance.now();
      const v = await time('validate', () =>
        call(validate, {
          name,
          squad: `group:default/${squad}`,
          system: 'system:default/banking-core',
          kind,
        }),
      );
      await time('skeleton', () =>
        renderSkeleton(
          kind,
          { name, description: 'Bench service', squad: v.squad },
          workspacePath,
        ),
      );
      await time('repo', () =>
        call(repo, {
          name,
          squad: v.squad,
          system: v.system,
          description: 'Bench service',
          kind,
        }),
      );
      await time('pipeline', () =>
        call(pipeline, { name, squad: v.squad, kind }),
      );
      const d = await time('firstDeploy', () =>
        call(firstDeploy, { name, squad: v.squad }),
      );
      runs.push({
        name,
        validate: t.validate,
        skeleton: t.skeleton,
        repo: t.repo,
        pipeline: t.pipeline,
        firstDeploy: t.firstDeploy,
        total: performance.now() - start,
        releaseId: d.releaseId,
      });
      await fs.rm(workspacePath, { recursive: true, force: true });
    }
  } finally {
    await fixture?.close();
  }
  const summary = STEPS.map(step => {
    const values = runs.map(r => r[step]);
    return {
      step,
      p50: percentile(values, 50),
      max: Math.max(...values),
      mean: values.reduce((a, b) => a + b, 0) / values.length,
    };
  });
  return { iterations, kind, runs, summary };
}

/** The bench result as a plain-text table. */
export function formatGoldenPathBench(
  result: Awaited<ReturnType<typeof runGoldenPathBench>>,
): string {
  const lines = [
    `golden path action chain, kind=${result.kind}, ${result.iterations} run(s), milliseconds`,
    `${'step'.padEnd(12)} ${'p50'.padStart(8)} ${'mean'.padStart(
      8,
    )} ${'max'.padStart(8)}`,
  ];
  for (const s of result.summary) {
    lines.push(
      `${s.step.padEnd(12)} ${s.p50.toFixed(0).padStart(8)} ${s.mean
        .toFixed(0)
        .padStart(8)} ${s.max.toFixed(0).padStart(8)}`,
    );
  }
  return lines.join('\n');
}
