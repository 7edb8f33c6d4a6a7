// Shared pieces for adversarial sections (reliability/sections/adversarial*.ts): the table-driven
// HTTP case runner and the "nothing was written" snapshot. A case must answer the expected 4xx
// with a clear message, and the snapshot taken before and after must be equal.
import { mockCredentials } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import { assert, check, errorMessage, gitOut, request, Res } from './harness';

/** Mock-token Authorization headers of the demo identities (see lib/backend.ts demoEntities). */
export const AUTH = {
  /** alice: member of group payments (owner of every test service). */
  owner: mockCredentials.user.header('user:default/alice'),
  /** mallory: member of group lending (owns nothing the tests use). */
  nonOwner: mockCredentials.user.header('user:default/mallory'),
  /** pat: member of group platform (the admins of the permission policy). */
  platform: mockCredentials.user.header('user:default/pat'),
  none: mockCredentials.none.header(),
  /** A service principal (plugin-to-plugin, `plugin:test` subject). */
  service: mockCredentials.service.header(),
};

/** One HTTP case of an adversarial table. */
export type Case = {
  name: string;
  method: string;
  path: string;
  auth?: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  expect: number | number[];
};

export type Snapshot = Record<string, string | number>;

/**
 * What "nothing written" means for the release path: the config repo's HEAD and file list, and the
 * row counts of the release manager's and on-call's main tables. Pass your own `extra` for more.
 */
export function standardSnapshot(opts: {
  configRemote: string;
  rmDb?: Knex;
  ocDb?: Knex;
  extra?: () => Promise<Snapshot>;
}): () => Promise<Snapshot> {
  const count = async (db: Knex, table: string) => Number((await db(table).count({ c: '*' }))[0].c);
  return async () => ({
    head: (await gitOut(opts.configRemote, ['rev-parse', 'HEAD'])).trim(),
    files: (await gitOut(opts.configRemote, ['ls-tree', '-r', '--name-only', 'HEAD'])).split('\n').length,
    ...(opts.rmDb
      ? { artifacts: await count(opts.rmDb, 'rm_artifacts'), releases: await count(opts.rmDb, 'rm_releases') }
      : {}),
    ...(opts.ocDb ? { incidents: await count(opts.ocDb, 'oncall_incidents') } : {}),
    ...(opts.extra ? await opts.extra() : {}),
  });
}

/**
 * Runs every case through the real HTTP route: expected status, a 4xx, a message of at least
 * 8 characters that is not an HTML page, and an unchanged snapshot.
 */
export async function runCases(section: string, baseUrl: string, cases: Case[], snapshot: () => Promise<Snapshot>) {
  for (const c of cases) {
    await check(section, c.name, async () => {
      const before = await snapshot();
      const r: Res = await request(baseUrl, c.method, c.path, {
        auth: c.auth,
        body: c.raw === undefined ? c.body : undefined,
        raw: c.raw,
        contentType: c.contentType,
      });
      const want = Array.isArray(c.expect) ? c.expect : [c.expect];
      const msg = errorMessage(r);
      assert(want.includes(r.status), `expected ${want.join('/')} got ${r.status}: ${msg}`);
      assert(r.status >= 400 && r.status < 500, `not a 4xx: ${r.status}`);
      assert(msg && msg.length >= 8 && !/^<!DOCTYPE/i.test(msg), `unclear message: '${msg}'`);
      const after = await snapshot();
      const changed = Object.keys(before).filter(k => before[k] !== after[k]);
      if (changed.length) throw new Error(`written despite ${r.status}: ${changed.join(', ')} changed`);
      return `${r.status} ${msg.slice(0, 90)}`;
    });
  }
}
