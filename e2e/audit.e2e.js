/**
 * The auditor's export in the browser (issue 14 "the export downloads and matches the git
 * history"): platform (the guest) opens "Audit export" from the sidebar, narrows it to one demo
 * service, downloads the CSV and the NDJSON through the page (an authenticated fetch saved as a
 * file), and every downloaded row is checked against the running app's config repo read with git
 * itself: the same commits in first-parent order, the committer time, the release trailers
 * (environment, artifact, released by, approved by), signed or not. A row git does not back, or a
 * commit git has that the export lacks, fails the test.
 */
const fs = require('node:fs');
const {
  APP_URL,
  configRepoGit,
  eventually,
  releaseApi,
  runTests,
  screenshot,
  signIn,
  waitForEntity,
} = require('./lib');

const SERVICE = 'ledger';
const DAY_MS = 86_400_000;

/** RFC 4180 records: quoted cells may hold commas, doubled quotes, CR and LF. */
function csvRecords(text) {
  const records = [];
  let record = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') record.push(cell), (cell = '');
    else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell || record.length) throw new Error('the CSV does not end with CRLF');
  return records;
}

/** Trailers of a commit as git parses them (key → values). */
function trailersOf(sha) {
  const t = {};
  for (const line of configRepoGit(['log', '-1', '--format=%(trailers:only,unfold)', sha]).split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) (t[line.slice(0, i)] ??= []).push(line.slice(i + 2));
  }
  return t;
}

/**
 * git's own account of the service in [from, to): first-parent commits of main touching its release
 * folders or its policy file, oldest first, with what a row must say about each. A signed commit
 * without the release trailers (maintenance) makes no row; an unsigned one is an outside change.
 */
function gitAccount(fromMs, toMs) {
  const out = configRepoGit([
    'log', '--reverse', '--first-parent', '--format=%H%x09%cI%x09%G?', 'main', '--',
    `*/releases/*/${SERVICE}/*`, `policies/${SERVICE}.json`,
  ]);
  const commits = [];
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [sha, committedAt, sig] = line.split('\t');
    const t = Date.parse(committedAt);
    if (t < fromMs || t >= toMs) continue;
    const signed = sig !== 'N';
    const trailers = trailersOf(sha);
    const paths = configRepoGit(['show', '--format=', '--name-only', sha]).split('\n');
    const release = signed && trailers.Service?.[0] === SERVICE && trailers.Environment && trailers['Artifact-ID'];
    const policy = signed && paths.includes(`policies/${SERVICE}.json`) && !paths.some(p => /\/releases\//.test(p));
    if (signed && !release && !policy) continue; // maintenance
    commits.push({ sha, committedAt, signed, trailers, paths, release: Boolean(release) });
  }
  return commits;
}

/** Checks each row against the commit git has for it; returns the problems found. */
function compare(rows, account) {
  const problems = [];
  const shas = [...new Set(rows.map(r => r.commit))];
  const expected = account.map(c => c.sha);
  if (JSON.stringify(shas) !== JSON.stringify(expected)) {
    problems.push(
      `commits differ: export ${shas.length} [${shas.slice(0, 5).map(s => s.slice(0, 7))}…], git ${expected.length} [${expected
        .slice(0, 5)
        .map(s => s.slice(0, 7))}…]; missing from the export: ${expected.filter(s => !shas.includes(s)).map(s => s.slice(0, 7))}; not in git: ${shas
        .filter(s => !expected.includes(s))
        .map(s => s.slice(0, 7))}`,
    );
  }
  const bySha = new Map(account.map(c => [c.sha, c]));
  for (const r of rows) {
    const c = bySha.get(r.commit);
    if (!c) continue;
    const at = `${r.commit.slice(0, 7)}`;
    if (new Date(r.committed_at).getTime() !== Date.parse(c.committedAt))
      problems.push(`${at}: committed_at ${r.committed_at}, git ${c.committedAt}`);
    if (r.service !== SERVICE) problems.push(`${at}: service ${r.service}`);
    if (String(r.signature_verified) !== String(c.signed))
      problems.push(`${at}: signature_verified ${r.signature_verified}, git %G? says ${c.signed ? 'signed' : 'unsigned'}`);
    if (!c.signed) {
      if (r.kind !== 'outside-change') problems.push(`${at}: unsigned commit listed as ${r.kind}`);
      continue;
    }
    const t = k => c.trailers[k]?.[0] ?? '';
    // policy commits carry a Service trailer too: a release has Environment and Artifact-ID
    if (c.release) {
      for (const [col, trailer] of [
        ['environment', 'Environment'],
        ['artifact', 'Artifact-ID'],
        ['requested_by', 'Artifact-released-by'],
        ['approved_by', 'Approved-by'],
        ['break_glass_reason', 'Break-glass'],
      ]) {
        if (String(r[col]) !== t(trailer)) problems.push(`${at}: ${col} '${r[col]}', trailer ${trailer} '${t(trailer)}'`);
      }
      if (r.kind !== (t('Release-intent') || 'release')) problems.push(`${at}: kind ${r.kind}, trailer '${t('Release-intent')}'`);
      if (!c.paths.some(p => p.startsWith(`${r.environment}/releases/`) && p.includes(`/${SERVICE}/`)))
        problems.push(`${at}: the commit does not touch ${r.environment}/releases/*/${SERVICE}`);
    } else if (r.kind !== 'policy-change') problems.push(`${at}: policy commit listed as ${r.kind}`);
  }
  return problems;
}

let csvRows;

/** Types the service and waits until the preview shows only its rows (the filter applied). */
async function filterByService(page) {
  await page.getByTestId('audit-service').fill(SERVICE);
  const rows = page.locator('[data-testid^="audit-row-"]');
  await eventually(
    async () => {
      const ids = await rows.evaluateAll(els => els.map(e => e.getAttribute('data-testid')));
      return ids.length > 0 && ids.every(id => id.endsWith(`-${SERVICE}`));
    },
    { timeoutMs: 120_000, intervalMs: 300, what: `the preview filtered to ${SERVICE}` },
  );
}

async function download(page, format) {
  const [file] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.getByTestId(`audit-download-${format}`).click(),
  ]);
  const name = file.suggestedFilename();
  if (!new RegExp(`^audit-\\d{4}-\\d{2}-\\d{2}_\\d{4}-\\d{2}-\\d{2}\\.${format}$`).test(name))
    throw new Error(`unexpected file name ${name}`);
  return fs.readFileSync(await file.path(), 'utf8');
}

runTests(__filename, [
  {
    name: 'platform downloads the export of a service from the Audit export page; it matches the config repo',
    async fn({ page }) {
      await waitForEntity('component', SERVICE);
      // the demo seed releases ledger to dev, staging and prod: wait until it wrote prod
      await eventually(
        async () => (await releaseApi(`/services/${SERVICE}/status`)).find(e => e.environment === 'prod')?.release,
        { timeoutMs: 420_000, intervalMs: 3000, what: `the demo seed of ${SERVICE} in prod` },
      );
      page.setDefaultNavigationTimeout(180_000);
      await signIn(page); // the guest: platform
      await page.getByRole('link', { name: 'Audit export' }).first().click({ timeout: 60_000 });
      await page.getByTestId('audit-download-csv').waitFor({ timeout: 120_000 });
      if (!page.url().endsWith('/audit')) throw new Error(`the sidebar entry opened ${page.url()}`);
      await filterByService(page);
      await screenshot(page, 'audit-export');

      // the page's range: from 30 days before today (UTC) through the end of today
      const from = await page.getByTestId('audit-from').inputValue();
      const to = await page.getByTestId('audit-to').inputValue();
      const fromMs = Date.parse(`${from}T00:00:00Z`);
      const toMs = Date.parse(`${to}T00:00:00Z`) + DAY_MS;

      // git moves while the demo runs: compare against the tip the download was read from
      const problems = await eventually(
        async () => {
          const before = configRepoGit(['rev-parse', 'main']).trim();
          const csv = await download(page, 'csv');
          const after = configRepoGit(['rev-parse', 'main']).trim();
          if (before !== after) return undefined;
          const [header, ...records] = csvRecords(csv);
          csvRows = records.map(r => Object.fromEntries(header.map((h, i) => [h, r[i]])));
          return { found: compare(csvRows, gitAccount(fromMs, toMs)) };
        },
        { timeoutMs: 180_000, intervalMs: 2000, what: 'a download while the config repo held still' },
      );
      if (csvRows.length < 3) throw new Error(`only ${csvRows.length} rows for ${SERVICE}: the demo seed wrote more`);
      if (problems.found.length) throw new Error(`the export disagrees with git:\n${problems.found.slice(0, 20).join('\n')}`);
      await page.getByTestId('audit-downloaded').waitFor();
      console.log(`  ${csvRows.length} rows of ${SERVICE} match git`);
    },
  },
  {
    name: 'the NDJSON download carries the same rows as the CSV',
    async fn({ page }) {
      if (!csvRows) throw new Error('no CSV from the previous test');
      page.setDefaultNavigationTimeout(180_000);
      await signIn(page, `/audit`);
      await filterByService(page);
      const lines = (await download(page, 'ndjson')).trim().split('\n').map(l => JSON.parse(l));
      // the CSV was read first: rows written since are at the end, the common part must agree
      const common = lines.slice(0, csvRows.length);
      if (lines.length < csvRows.length) throw new Error(`NDJSON has ${lines.length} rows, the CSV had ${csvRows.length}`);
      for (let i = 0; i < common.length; i++) {
        for (const key of ['commit', 'environment', 'kind', 'artifact', 'requested_by', 'approved_by']) {
          // the CSV neutralises formula-looking cells with a leading '
          const csv = csvRows[i][key].replace(/^'(?=[=+\-@\t\r])/, '');
          if (String(common[i][key]) !== csv)
            throw new Error(`row ${i} ${key}: NDJSON '${common[i][key]}', CSV '${csvRows[i][key]}'`);
        }
      }
    },
  },
]);
