import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { checkpointStore, recordingLogger } from '../testing/context';

/**
 * `createMockActionContext` plus what it does not take as options: a checkpoint store with the
 * scaffolder's replay semantics and the dry-run flag. Returns the context, its log and outputs.
 */
export function mockContext(options: {
  input: Record<string, unknown>;
  workspacePath: string;
  checkpoints?: ReturnType<typeof checkpointStore>;
  isDryRun?: boolean;
  taskId?: string;
}) {
  const logger = recordingLogger();
  const base = createMockActionContext({
    input: options.input as any,
    logger,
    workspacePath: options.workspacePath,
    task: { id: options.taskId ?? 'task-1' },
  });
  const checkpoints = options.checkpoints ?? checkpointStore();
  const ctx = {
    ...base,
    checkpoint: checkpoints.checkpoint,
    isDryRun: options.isDryRun,
  } as any;
  return {
    ctx,
    logger,
    checkpoints,
    outputs: () =>
      Object.fromEntries((base.output as jest.Mock).mock.calls) as Record<
        string,
        any
      >,
  };
}
