import { LoggerService } from '@backstage/backend-plugin-api';
import { JsonValue } from '@backstage/types';

/** A logger that keeps the task log lines, for assertions and the bench. */
export function recordingLogger(
  lines: string[] = [],
): LoggerService & { lines: string[] } {
  const rec = (level: string) => (message: string) => {
    lines.push(`${level}: ${message}`);
  };
  const logger: any = {
    lines,
    info: rec('info'),
    warn: rec('warn'),
    error: rec('error'),
    debug: rec('debug'),
    child: () => logger,
  };
  return logger;
}

/**
 * Checkpoints with the scaffolder's semantics: a key that succeeded before returns its stored
 * (JSON round-tripped) value without running `fn` again. Share one store between two runs to
 * play a retried task.
 */
export function checkpointStore(store = new Map<string, JsonValue>()) {
  return {
    store,
    async checkpoint<T extends JsonValue | void>(opts: {
      key: string;
      fn: () => Promise<T> | T;
    }): Promise<T> {
      if (store.has(opts.key)) return store.get(opts.key) as T;
      const value = await opts.fn();
      store.set(opts.key, JSON.parse(JSON.stringify(value ?? {})));
      return value;
    },
  };
}
