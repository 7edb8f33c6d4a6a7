import { LoggerService } from '@backstage/backend-plugin-api';
import { stringifyError } from '@backstage/errors';

/** One thing an earlier step created, and how to remove it. */
export interface UndoItem {
  /** What it is, for the task log: "repository payments-api on local". */
  what: string;
  /**
   * Removes it and checks it is gone; undefined when it cannot be removed automatically (manual
   * cleanup). May resolve to a note such as "was already gone" (then it is not reported as
   * removed by us); rejects when it is still there.
   */
  undo?: () => Promise<string | void | undefined>;
  /** Why it must be cleaned up by hand, when `undo` is absent. */
  manualHint?: string;
  /** Left in place on purpose (e.g. a safe default); reported, not undone. */
  keepReason?: string;
}

/** Result of {@link rollBack}. */
export interface RollbackReport {
  undone: string[];
  /** Found already gone when the rollback checked. */
  gone: string[];
  manual: string[];
  kept: string[];
}

/**
 * Undoes what the golden path created, newest first. Every failure to undo is logged and
 * listed for manual cleanup; rollback itself never throws.
 */
export async function rollBack(
  items: UndoItem[],
  logger: LoggerService,
): Promise<RollbackReport> {
  const report: RollbackReport = { undone: [], gone: [], manual: [], kept: [] };
  if (items.length === 0) return report;
  logger.warn(`Rolling back ${items.length} thing(s) created by this task`);
  for (const item of [...items].reverse()) {
    if (item.keepReason) {
      const line = `${item.what} (${item.keepReason})`;
      report.kept.push(line);
      logger.info(`Rollback: kept ${line}`);
      continue;
    }
    if (!item.undo) {
      const line = `${item.what}${
        item.manualHint ? ` (${item.manualHint})` : ''
      }`;
      report.manual.push(line);
      logger.warn(`Rollback: left for manual cleanup: ${line}`);
      continue;
    }
    try {
      const note = await item.undo();
      if (note) {
        report.gone.push(`${item.what} (${note})`);
        logger.info(`Rollback: ${item.what} ${note}`);
      } else {
        report.undone.push(item.what);
        logger.info(`Rollback: removed ${item.what}`);
      }
    } catch (e) {
      const line = `${item.what} (could not remove it: ${stringifyError(e)})`;
      report.manual.push(line);
      logger.error(`Rollback: left for manual cleanup: ${line}`);
    }
  }
  return report;
}

/** One-line summary of a rollback for the error the user sees. */
export function describeRollback(report: RollbackReport): string {
  const parts: string[] = [];
  if (report.undone.length)
    parts.push(`Rolled back: ${report.undone.join('; ')}.`);
  if (report.gone.length)
    parts.push(`Already gone: ${report.gone.join('; ')}.`);
  if (report.kept.length) parts.push(`Kept: ${report.kept.join('; ')}.`);
  if (report.manual.length)
    parts.push(`Needs manual cleanup: ${report.manual.join('; ')}.`);
  return parts.join(' ');
}

/**
 * Deletes the repository and checks the host afterwards: "removed" is only reported when the
 * host no longer has it; a repository that was already gone is reported as such.
 */
export function repoUndo(
  host: { host: string; exists(name: string): Promise<boolean>; deleteRepo(name: string): Promise<unknown> },
  name: string,
): UndoItem {
  return {
    what: `repository ${name} on ${host.host}`,
    undo: async () => {
      if (!(await host.exists(name))) return 'was already gone';
      await host.deleteRepo(name);
      if (await host.exists(name)) {
        throw new Error('the host still has it after the delete call');
      }
      return undefined;
    },
  };
}
