import crypto from 'node:crypto';
import { ServiceUnavailableError } from '@backstage/errors';
import type { Knex } from 'knex';

/**
 * Serialises the writers of one config repo branch across replicas: each replica's whole
 * fetch → apply → sign → push runs inside it (see GitOpsWriter `pushLock`). Correctness never
 * depends on it — git refuses a non-fast-forward push either way — but without it two busy
 * replicas keep moving the branch inside each other's retry window and a release can run out of
 * its retry budget (a 503). See docs/decisions.md, "Config repo pushes across replicas".
 */
export interface PushLock {
  /** Runs `fn` holding the lock; a ServiceUnavailableError when the lock is not had within the bound. */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/** The two signed 32-bit halves PostgreSQL's two-key advisory lock takes, from a name. */
export function advisoryLockKeys(name: string): [number, number] {
  const h = crypto.createHash('sha256').update(name).digest();
  return [h.readInt32BE(0), h.readInt32BE(4)];
}

/**
 * A PostgreSQL transaction-level advisory lock (`pg_advisory_xact_lock`) on the plugin's own
 * database, waited for at most `waitMs` (`lock_timeout`). Released when the transaction ends —
 * also when the replica dies mid-push (its connection closes), so a crash never wedges the others.
 * One pooled connection is held per replica while it writes (a replica's writer is serial).
 */
export class PostgresAdvisoryLock implements PushLock {
  private readonly keys: [number, number];

  constructor(
    private readonly knex: Knex,
    readonly name: string,
    private readonly waitMs = 30_000,
  ) {
    this.keys = advisoryLockKeys(name);
  }

  /** The lock works only on PostgreSQL; other databases (SQLite: one process) get none. */
  static forDatabase(
    knex: Knex,
    name: string,
    waitMs?: number,
  ): PostgresAdvisoryLock | undefined {
    const client = String((knex.client as any)?.config?.client ?? '');
    return client === 'pg' || client === 'postgres' || client === 'postgresql'
      ? new PostgresAdvisoryLock(knex, name, waitMs)
      : undefined;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    return this.knex.transaction(async trx => {
      // SET cannot take a bind parameter; the value is an integer we computed.
      await trx.raw(
        `SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.waitMs))}`,
      );
      try {
        await trx.raw('SELECT pg_advisory_xact_lock(?, ?)', this.keys);
      } catch (e: any) {
        if (e?.code === '55P03') {
          throw new ServiceUnavailableError(
            `The config repo is busy: another replica has been writing it for ${Math.round(
              (Date.now() - t0) / 1000,
            )} s; nothing was written, retry later`,
          );
        }
        throw e;
      }
      return fn();
    });
  }
}
