/*
 * `audit export`: the CLI's side (flags, streaming to stdout or a file, refusals as exit codes).
 * The server is a stand-in fetch that streams a body in chunks the way the backend's
 * `GET /audit/export` does; the export itself is tested against the real backend in
 * packages/backend/src/auditExport.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './index';

const CSV = ['commit,seq,committed_at\r\n', 'aaaa,1,2026-11-30T10:00:00.000Z\r\n', 'bbbb,2,2026-11-30T11:00:00.000Z\r\n'];

function streamingFetch(chunks: string[], seen: URL[], status = 200, errorBody?: object): typeof fetch {
  return (async (input: any) => {
    seen.push(new URL(String(input)));
    if (status !== 200) {
      return new Response(JSON.stringify(errorBody), { status, headers: { 'content-type': 'application/json' } });
    }
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(new TextEncoder().encode(chunks[i++]));
        else controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/csv' } });
  }) as typeof fetch;
}

async function cli(argv: string[], fetchImpl: typeof fetch, dir: string) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    io: { stdout: t => void (stdout += t), stderr: t => void (stderr += t) },
    cwd: dir,
    env: { RELEASE_MANAGER_URL: 'http://rm.test/api/release-manager', RELEASE_MANAGER_TOKEN: 't', RELEASE_MANAGER_CONFIG_DIR: path.join(dir, 'cfg') },
    fetch: fetchImpl,
    interactive: false,
  });
  return { code, stdout, stderr };
}

describe('release-manager audit export', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-audit-cli-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams the export to stdout with the query it was given', async () => {
    const seen: URL[] = [];
    const r = await cli(['audit', 'export', '--format', 'csv', '--from', '2026-11-01', '--to', '2026-11-30', '--env', 'prod', '--service', 'ledger'], streamingFetch(CSV, seen), dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(CSV.join(''));
    expect(seen[0].pathname).toBe('/api/release-manager/audit/export');
    expect(Object.fromEntries(seen[0].searchParams)).toEqual({ format: 'csv', from: '2026-11-01', to: '2026-11-30', environment: 'prod', service: 'ledger' });
  });

  it('writes to a file with -o', async () => {
    const file = path.join(dir, 'audit.ndjson');
    const r = await cli(['audit', 'export', '--format', 'ndjson', '--squad', 'payments', '-o', file], streamingFetch(['{"a":1}\n', '{"a":2}\n'], []), dir);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    expect(r.stderr).toContain(`wrote ${file}`);
  });

  it.each([
    [['--format', 'xlsx'], /--format: 'xlsx' is not csv or ndjson/],
    [['--from', 'yesterday'], /--from: 'yesterday' is not a date/],
    [['--service', 'a', '--squad', 'b'], /--service or --squad, not both/],
    [['--service', '../x'], /service/],
  ])('refuses %j before asking the server', async (args, message) => {
    const seen: URL[] = [];
    const r = await cli(['audit', 'export', ...args], streamingFetch(CSV, seen), dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(seen).toHaveLength(0);
  });

  it("the server's refusal is the exit code and its message; no file is left behind", async () => {
    const file = path.join(dir, 'audit.csv');
    const r = await cli(
      ['audit', 'export', '-o', file],
      streamingFetch([], [], 403, { error: { name: 'NotAllowedError', message: 'You are not allowed to export the audit trail of all services (permission release-manager.audit.export without conditions: platform); give service= or squad=' } }),
      dir,
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/permission release-manager\.audit\.export/);
    expect(fs.existsSync(file)).toBe(false);
    const range = await cli(['audit', 'export'], streamingFetch([], [], 400, { error: { name: 'InputError', message: 'from..to spans 700 days, more than releaseManager.audit.maxRangeDays (366); export a shorter range' } }), dir);
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/maxRangeDays/);
  });
});
