#!/usr/bin/env node
/* eslint-disable no-console */
/**
 * The whole test run behind `./dev test`: type check, lint, unit tests (jest, every workspace),
 * the reliability suite (reliability/, about two minutes; its cases count in the summary, and
 * without PostgreSQL on 127.0.0.1:5432 its sections count as skipped), then the browser
 * end-to-end tests against the running app. Between unit tests and reliability: the install test
 * (scripts/install-test.js: builds and packs every plugin, installs the tarballs into a separate
 * Backstage backend in a temp directory and calls each plugin; a few minutes). Ends with one summary line:
 * `N passed, N failed, N skipped`.
 *
 * Flags: --skip-e2e, --skip-reliability, --skip-install, --full (the reliability suite's full
 *        profile: 20 crash kills, 200 racing promotions; default is its CI profile, `--ci`),
 *        --only=typecheck|lint|unit|install|reliability|e2e (comma separated)
 * Env: DEVPLANE_E2E_ONLY=releases,owner-rule runs only the e2e files whose names contain one of these.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, '.e2e');
const args = process.argv.slice(2);
const only = (args.find(a => a.startsWith('--only=')) || '')
  .slice(7)
  .split(',')
  .filter(Boolean);
const want = step =>
  (only.length === 0 || only.includes(step)) &&
  !(step === 'e2e' && args.includes('--skip-e2e')) &&
  !(step === 'reliability' && args.includes('--skip-reliability')) &&
  !(step === 'install' && args.includes('--skip-install'));

const totals = { passed: 0, failed: 0, skipped: 0 };
const rows = [];
function record(suite, passed, failed, skipped, note = '') {
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += skipped;
  rows.push({ suite, passed, failed, skipped, note });
}

function run(cmd, cmdArgs, opts = {}) {
  return new Promise(resolve => {
    const t0 = Date.now();
    console.log(`\n\u001b[1m$ ${cmd} ${cmdArgs.join(' ')}\u001b[0m`);
    const child = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: 'inherit', ...opts });
    child.on('close', code =>
      resolve({ code, seconds: Math.round((Date.now() - t0) / 1000) }),
    );
  });
}

function canConnect(port, host = '127.0.0.1') {
  return new Promise(resolve => {
    const s = net.connect({ port, host });
    s.setTimeout(1000);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const bin = name => path.join(ROOT, 'node_modules', '.bin', name);

/**
 * Runs `scripts/<script> --json <file>` and records the pass/fail/skip counts it writes; a run
 * that wrote no results (a crash) counts as one failure, never as a stale earlier result.
 */
async function runCountedScript(suite, script, results, note, what, extraArgs = []) {
  const jsonFile = path.join(OUT, results);
  fs.rmSync(jsonFile, { force: true });
  const r = await run(process.execPath, [
    path.join('scripts', script),
    '--json',
    jsonFile,
    ...extraArgs,
  ]);
  if (fs.existsSync(jsonFile)) {
    const j = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    record(suite, j.passed, j.failed, j.skipped, note(j, r.seconds));
  } else {
    record(suite, 0, 1, 0, `${what} produced no results (exit ${r.code})`);
  }
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });

  if (want('typecheck')) {
    // Emits the declarations (dist-types, declarations only) while it checks: the install test
    // needs them for `backstage-cli package build`, and a second whole-repo tsc there cost ~2 min.
    const r = await run(bin('tsc'), ['-p', 'tsconfig.json']);
    if (r.code === 0) process.env.DEVPLANE_DIST_TYPES_FRESH = '1';
    record(
      'typecheck (tsc)',
      r.code === 0 ? 1 : 0,
      r.code === 0 ? 0 : 1,
      0,
      `${r.seconds}s`,
    );
  }

  if (want('lint')) {
    const r = await run(bin('backstage-cli'), ['repo', 'lint']);
    record(
      'lint (eslint)',
      r.code === 0 ? 1 : 0,
      r.code === 0 ? 0 : 1,
      0,
      `${r.seconds}s`,
    );
  }

  if (want('unit')) {
    // No Docker engine on these machines: PostgreSQL tests use the running server or are skipped.
    const env = {
      ...process.env,
      CI: 'true',
      BACKSTAGE_TEST_DISABLE_DOCKER: '1',
    };
    const pgUp = await canConnect(5432);
    if (pgUp) {
      env.BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING =
        process.env.BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING ||
        'postgresql://postgres@127.0.0.1:5432';
      console.log(
        'PostgreSQL found on 127.0.0.1:5432: database tests run on SQLite and PostgreSQL',
      );
    } else {
      env.DEVPLANE_SKIP_POSTGRES = '1';
      console.log(
        '\u001b[33mPostgreSQL is NOT reachable on 127.0.0.1:5432: PostgreSQL test cases are SKIPPED (reported as skipped below)\u001b[0m',
      );
    }
    const jsonFile = path.join(OUT, 'jest-results.json');
    fs.rmSync(jsonFile, { force: true });
    const r = await run(
      bin('backstage-cli'),
      [
        'repo',
        'test',
        '--ci',
        '--json',
        `--outputFile=${jsonFile}`,
        '--maxWorkers=2',
        // Many suites drive real git, real HTTP servers and real databases: jest's 5 s default
        // per test fails them on a busy 2-core machine for no reason of their own. Tests that
        // need a tighter bound set it themselves.
        '--testTimeout=60000',
      ],
      { env },
    );
    if (fs.existsSync(jsonFile)) {
      const j = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
      const suiteErrors = j.numRuntimeErrorTestSuites || 0;
      record(
        'unit (jest)',
        j.numPassedTests,
        j.numFailedTests + suiteErrors,
        j.numPendingTests + (j.numTodoTests || 0),
        `${j.numTotalTestSuites} suites${
          suiteErrors ? `, ${suiteErrors} failed to run` : ''
        }${pgUp ? '' : ', PostgreSQL skipped'}, ${r.seconds}s`,
      );
    } else {
      record(
        'unit (jest)',
        0,
        1,
        0,
        `jest produced no results (exit ${r.code})`,
      );
    }
  }

  if (want('install')) {
    await runCountedScript(
      'install (packed plugins)',
      'install-test.js',
      'install-results.json',
      (j, seconds) =>
        `separate Backstage app from npm pack tarballs, ${seconds}s`,
      'install test',
    );
  }

  if (want('reliability')) {
    await runCountedScript(
      'reliability',
      'reliability.js',
      'reliability-results.json',
      (j, seconds) =>
        `profile ${j.profile}, ${j.adversarialCases} adversarial cases${
          j.skipped
            ? `, ${j.skipped} skipped (${(j.results ?? [])
                .filter(r => r.skipped)
                .map(r => `${r.section}: ${r.name}`.slice(0, 60))
                .join('; ')})`
            : ''
        }, ${seconds}s`,
      'reliability suite',
      // the CI profile: every section and case type, fewer crash/racing repetitions (--full: all)
      args.includes('--full') ? [] : ['--ci'],
    );
  }

  if (want('e2e')) {
    await runE2e();
  }

  console.log('\nSuite                         passed  failed  skipped  note');
  for (const r of rows) {
    console.log(
      `${r.suite.padEnd(30)}${String(r.passed).padStart(6)}${String(
        r.failed,
      ).padStart(8)}${String(r.skipped).padStart(9)}  ${r.note}`,
    );
  }
  console.log(
    `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`,
  );
  process.exitCode = totals.failed > 0 ? 1 : 0;
}

async function runE2e() {
  // DEVPLANE_E2E_ONLY=releases,owner-rule runs only the e2e files whose names contain one of these
  const only = (process.env.DEVPLANE_E2E_ONLY || '').split(',').filter(Boolean);
  const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  const files = fs
    .readdirSync(path.join(ROOT, 'e2e'))
    .filter(f => f.endsWith('.e2e.js'))
    .filter(f => !only.length || only.some(o => f.includes(o)))
    .sort();
  if (!fs.existsSync(chromium)) {
    console.log(
      `\u001b[33mChromium not found at ${chromium}: browser tests SKIPPED\u001b[0m`,
    );
    record('e2e (chromium)', 0, 0, files.length, 'chromium missing');
    return;
  }
  if ((await canConnect(7007)) || (await canConnect(3000))) {
    record(
      'e2e (chromium)',
      0,
      1,
      0,
      'ports 3000/7007 are busy: stop the running app first',
    );
    return;
  }
  const dataDir = fs.mkdtempSync(
    path.join(require('node:os').tmpdir(), 'devplane-e2e-'),
  );
  const logFile = path.join(OUT, 'app.log');
  const log = fs.openSync(logFile, 'w');
  // The browser tests run against the built frontend (`backstage-cli package build`, what
  // production serves), served by the backend's real app-backend plugin on the backend's origin
  // (e2e/app-config.e2e.yaml: app.baseUrl = backend.baseUrl, the production shape; APP_URL for the
  // tests). The dev server's bundle (53 MB of eval-source-mapped JS, no HTTP caching) cost 13-30 s
  // per full page load on 2 cores; the built one 1-3 s (docs/bench-and-reliability.md, "CI time").
  // DEVPLANE_E2E_DEV_SERVER=1 runs them against `backstage-cli repo start` (the dev server on :3000).
  const devServer = process.env.DEVPLANE_E2E_DEV_SERVER === '1';
  if (!devServer) {
    const buildLog = path.join(OUT, 'app-build.log');
    const b = await run(bin('backstage-cli'), ['package', 'build'], {
      cwd: path.join(ROOT, 'packages', 'app'),
      stdio: ['ignore', fs.openSync(buildLog, 'w'), 'inherit'],
    });
    console.log(`frontend build: ${b.seconds} s (exit ${b.code}; output in ${buildLog})`);
    if (b.code !== 0) {
      record('e2e (chromium)', 0, files.length || 1, 0, 'frontend build failed');
      return;
    }
    process.env.APP_URL = 'http://localhost:7007';
  }
  console.log(
    `\nstarting the app for browser tests (${
      devServer ? 'dev server' : 'built frontend served by the backend'
    }; data: ${dataDir}, log: ${logFile})`,
  );
  const app = devServer
    ? spawn(bin('backstage-cli'), ['repo', 'start'], {
        cwd: ROOT,
        env: { ...process.env, DEVPLANE_DATA_DIR: dataDir, BROWSER: 'none' },
        stdio: ['ignore', log, log],
        detached: true,
      })
    : spawn(
        bin('backstage-cli'),
        [
          'package',
          'start',
          '--config',
          '../../app-config.yaml',
          '--config',
          '../../e2e/app-config.e2e.yaml',
        ],
        {
          cwd: path.join(ROOT, 'packages', 'backend'),
          env: { ...process.env, DEVPLANE_DATA_DIR: dataDir },
          stdio: ['ignore', log, log],
          detached: true,
        },
      );
  const stop = () => {
    try {
      process.kill(-app.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  process.on('exit', stop);
  const { waitForApp } = require('../e2e/lib');
  try {
    await waitForApp({ timeoutMs: 240_000 });
  } catch (e) {
    console.log(
      `app did not come up: ${e.message}; last log lines:\n${fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .slice(-30)
        .join('\n')}`,
    );
    record('e2e (chromium)', 0, files.length || 1, 0, 'app did not start');
    stop();
    return;
  }
  // when the app answered: e2e/00-search-first-minute.e2e.js measures search freshness from here
  const readyAt = String(Date.now());
  let passed = 0;
  let failed = 0;
  const notes = [];
  for (const f of files) {
    let seconds = 0;
    const outcome = await runE2eFile(path.join(OUT, `${f}.json`), async () => {
      const r = await run(process.execPath, [path.join('e2e', f)], {
        env: {
          ...process.env,
          DEVPLANE_DATA_DIR: dataDir,
          DEVPLANE_E2E_APP_READY_AT: readyAt,
        },
      });
      seconds = r.seconds;
      return r.code;
    });
    console.log(`e2e ${f}: ${seconds} s, ${outcome.passed} passed, ${outcome.failed} failed`);
    passed += outcome.passed;
    failed += outcome.failed;
    if (outcome.note) notes.push(`${f}: ${outcome.note}`);
  }
  stop();
  record(
    'e2e (chromium)',
    passed,
    failed,
    0,
    [`${files.length} files, screenshots in .e2e/screenshots`, ...notes].join(
      '; ',
    ),
  );
}

/**
 * Runs one e2e file (`runFile` resolves to its exit code) and says what it counts for. A result
 * file left by an earlier run is removed first: it can never be counted for this one.
 */
async function runE2eFile(resultFile, runFile) {
  fs.rmSync(resultFile, { force: true });
  const exitCode = await runFile();
  return e2eFileOutcome(resultFile, exitCode);
}

/**
 * What one e2e file counts for. A file that exits without writing its result (it crashed before
 * or while running its tests) is a failure, so is one whose result is unreadable, and so is one
 * that wrote a result but then exited non-zero with no failed test in it.
 */
function e2eFileOutcome(resultFile, exitCode) {
  if (!fs.existsSync(resultFile)) {
    return {
      passed: 0,
      failed: 1,
      note: `crashed before writing its result (exit ${exitCode})`,
    };
  }
  let res;
  try {
    res = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
  } catch (e) {
    res = undefined;
  }
  if (!res || !Number.isInteger(res.passed) || !Number.isInteger(res.failed)) {
    return {
      passed: 0,
      failed: 1,
      note: `wrote an unreadable result (exit ${exitCode})`,
    };
  }
  if (exitCode !== 0 && !(res.failed > 0)) {
    return {
      passed: res.passed,
      failed: 1,
      note: `exited ${exitCode} after its tests`,
    };
  }
  return { passed: res.passed, failed: res.failed };
}

module.exports = { e2eFileOutcome, runE2eFile };

if (require.main === module) {
  main().catch(e => {
    console.error(e);
    console.log(
      `${totals.passed} passed, ${totals.failed + 1} failed, ${
        totals.skipped
      } skipped`,
    );
    process.exitCode = 1;
  });
}
