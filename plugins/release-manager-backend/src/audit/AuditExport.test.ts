import { PassThrough } from 'node:stream';
import { AUDIT_EXPORT_COLUMNS, AuditExportRow } from '@devplane/plugin-release-manager-common';
import type { VerifiedCommit } from '../history/HistoryReader';
import {
  csvCell,
  csvLine,
  parseAuditExportQuery,
  rowsOfCommit,
  writeAuditExport,
} from './AuditExport';

const ENVS = ['dev', 'staging', 'prod'];
const parse = (q: Record<string, string | undefined>, maxRangeDays = 366) =>
  parseAuditExportQuery(q, { maxRangeDays, environments: ENVS, now: new Date('2026-12-02T00:00:00Z') });

describe('parseAuditExportQuery', () => {
  it('reads dates, a date-only `to` meaning through that day, and defaults to the last 30 days as csv', () => {
    const q = parse({ format: 'ndjson', from: '2026-01-01', to: '2026-01-31', environment: 'prod', service: 'ledger' });
    expect(q).toEqual({
      format: 'ndjson',
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-02-01T00:00:00Z'),
      environment: 'prod',
      service: 'ledger',
      squad: undefined,
    });
    const d = parse({});
    expect(d.format).toBe('csv');
    expect(d.to.toISOString()).toBe('2026-12-02T00:00:00.000Z');
    expect(d.from.toISOString()).toBe('2026-11-02T00:00:00.000Z');
    expect(parse({ from: '2026-01-01T10:00:00+01:00', to: '2026-01-02T00:00:00Z' }).from.toISOString()).toBe(
      '2026-01-01T09:00:00.000Z',
    );
  });

  it.each([
    [{ format: 'xlsx' }, /format must be csv or ndjson/],
    [{ from: 'yesterday' }, /^from must be a date/],
    [{ to: '2026-02-31' }, /^to '2026-02-31' is not a valid date/],
    [{ from: '2026-01-01T10:00' }, /^from must be/],
    [{ from: '2026-05-01', to: '2026-04-01' }, /from must be before to/],
    [{ from: '2025-01-01', to: '2026-12-01' }, /from\.\.to spans 700 days, more than releaseManager\.audit\.maxRangeDays \(366\)/],
    [{ environment: 'qa' }, /environment 'qa' is unknown/],
    [{ environment: '../prod' }, /environment '\.\.\/prod' is invalid/],
    [{ service: 'a/b' }, /service 'a\/b' is invalid/],
    [{ squad: 'Payments' }, /squad 'Payments' is invalid/],
    [{ service: 'ledger', squad: 'payments' }, /service or squad, not both/],
  ])('refuses %j naming the field', (q, message) => {
    expect(() => parse(q as Record<string, string>)).toThrow(message);
  });

  it('takes the configured maximum', () => {
    expect(() => parse({ from: '2026-11-01', to: '2026-11-30' }, 7)).toThrow(/maxRangeDays \(7\)/);
    expect(parse({ from: '2026-11-01', to: '2026-11-07' }, 7).to.toISOString()).toBe('2026-11-08T00:00:00.000Z');
  });
});

describe('CSV cells', () => {
  it.each([
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+1+2', "'+1+2"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\r=1', `"'\r=1"`],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['plain', 'plain'],
    ['', ''],
  ])('%j → %s', (input, output) => {
    expect(csvCell(input)).toBe(output);
  });

  it('writes numbers and booleans as text and ends records with CRLF', () => {
    expect(csvLine([1, true, undefined, 'x'])).toBe('1,true,,x\r\n');
  });
});

function commit(over: Partial<VerifiedCommit>): VerifiedCommit {
  return {
    sha: 'a'.repeat(40),
    parents: [],
    authorName: 'Anna',
    authorEmail: 'anna@bank.example',
    committerName: 'Anna',
    committerEmail: 'anna@bank.example',
    committedAt: '2026-11-30T10:00:00.000Z',
    subject: 's',
    body: '',
    trailers: {},
    signature: 'good',
    paths: [],
    kind: 'maintenance',
    seq: 7,
    ...over,
  };
}

describe('rowsOfCommit', () => {
  it('a release: trailers and reason, break-glass flagged with its reason', () => {
    const rows = rowsOfCommit(
      commit({
        kind: 'release',
        subject: '[prod/ledger] release main-1 by anna@bank.example',
        body: '=cmd|calc\n\nService: ledger\n',
        paths: ['prod/releases/payments/ledger/artifact.json', 'prod/releases/payments/ledger/deployment.yaml'],
        trailers: {
          Service: ['ledger'],
          Environment: ['prod'],
          'Artifact-ID': ['main-1'],
          'Artifact-released-by': ['anna@bank.example'],
          'Release-intent': ['promote'],
          'Approved-by': ['mikkel@bank.example'],
          'Break-glass': ['pager says so'],
        },
      }),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        seq: 7,
        environment: 'prod',
        service: 'ledger',
        namespace: 'payments',
        kind: 'promote',
        requested_by: 'anna@bank.example',
        approved_by: 'mikkel@bank.example',
        artifact: 'main-1',
        signature_verified: true,
        break_glass: true,
        break_glass_reason: 'pager says so',
        reason: '=cmd|calc',
      }),
    ]);
    expect(Object.keys(rows[0]).sort()).toEqual([...AUDIT_EXPORT_COLUMNS].sort());
  });

  it('an outside change: one row per folder it touches, sorted, the committer as git says, unverified', () => {
    const rows = rowsOfCommit(
      commit({
        kind: 'outside',
        signature: 'none',
        committerName: 'Mallory',
        committerEmail: 'm@evil.example',
        paths: ['prod/releases/payments/ledger/deployment.yaml', 'dev/releases/payments/ledger/x.yaml', 'policies/ledger.json'],
      }),
    );
    expect(rows.map(r => [r.kind, r.environment, r.service, r.requested_by, r.signature_verified])).toEqual([
      ['outside-change', 'dev', 'ledger', 'Mallory <m@evil.example>', false],
      ['outside-change', 'prod', 'ledger', 'Mallory <m@evil.example>', false],
      ['outside-change', '', 'ledger', 'Mallory <m@evil.example>', false],
    ]);
  });

  it("platform's decision on outside changes and policy changes; other maintenance makes no row", () => {
    const decision = rowsOfCommit(
      commit({
        trailers: { 'Outside-change-decision': ['revert'], 'Outside-change-commit': ['b'.repeat(40)], 'Decided-by': ['kasper@bank.example'] },
        paths: ['prod/releases/payments/ledger/deployment.yaml'],
      }),
    );
    expect(decision).toEqual([
      expect.objectContaining({ kind: 'outside-decision', environment: 'prod', service: 'ledger', requested_by: 'kasper@bank.example', detail: `revert ${'b'.repeat(40)}` }),
    ]);
    // an unsigned commit claiming to be a decision is not one
    expect(rowsOfCommit(commit({ signature: 'none', trailers: { 'Outside-change-decision': ['adopt'] } }))).toEqual([]);
    const policy = rowsOfCommit(
      commit({ kind: 'policy', paths: ['policies/ledger.json'], trailers: { 'Policy-changed-by': ['anna@bank.example'] } }),
    );
    expect(policy).toEqual([expect.objectContaining({ kind: 'policy-change', service: 'ledger', environment: '', requested_by: 'anna@bank.example' })]);
    expect(rowsOfCommit(commit({ paths: ['README.md'] }))).toEqual([]);
  });
});

describe('writeAuditExport', () => {
  it('writes batch by batch, waiting for a slow stream to drain (a 16-byte buffer)', async () => {
    const out = new PassThrough({ highWaterMark: 16 });
    const chunks: string[] = [];
    let produced = 0;
    const row = rowsOfCommit(
      commit({
        kind: 'release',
        paths: ['dev/releases/p/s/artifact.json'],
        trailers: { Service: ['s'], Environment: ['dev'], 'Artifact-ID': ['a-1'], 'Release-intent': ['release'] },
      }),
    )[0];
    async function* batches(): AsyncIterable<AuditExportRow[]> {
      for (let i = 0; i < 5; i++) {
        produced++;
        yield [row, { ...row, seq: i }];
      }
    }
    out.on('data', d => chunks.push(d.toString()));
    const n = await writeAuditExport(out, 'csv', batches());
    out.end();
    expect(n).toBe(10);
    expect(produced).toBe(5);
    const lines = chunks.join('').split('\r\n');
    expect(lines[0]).toBe(AUDIT_EXPORT_COLUMNS.join(','));
    expect(lines).toHaveLength(12); // header, 10 rows, '' after the last CRLF
  });

  it('leaves no listener behind after waiting for drain (50 waits on a 1-byte buffer)', async () => {
    const out = new PassThrough({ highWaterMark: 1 });
    out.on('data', () => undefined);
    const before = { drain: out.listenerCount('drain'), close: out.listenerCount('close') };
    const row = rowsOfCommit(
      commit({
        kind: 'release',
        paths: ['dev/releases/p/s/artifact.json'],
        trailers: { Service: ['s'], Environment: ['dev'], 'Artifact-ID': ['a-1'], 'Release-intent': ['release'] },
      }),
    )[0];
    async function* batches(): AsyncIterable<AuditExportRow[]> {
      for (let i = 0; i < 50; i++) yield [{ ...row, seq: i }];
    }
    expect(await writeAuditExport(out, 'ndjson', batches())).toBe(50);
    expect({ drain: out.listenerCount('drain'), close: out.listenerCount('close') }).toEqual(before);
  });
});
