#!/usr/bin/env node
/* eslint-disable no-console */
/**
 * "A stranger installs our plugins": builds every plugin with `backstage-cli package build`,
 * packs it with `npm pack` (Backstage's prepack rewrites main/types/exports to dist), and installs
 * the tarballs into a minimal Backstage backend that this script assembles in a temp directory
 * OUTSIDE the workspace (its own package.json, its own node_modules, no workspace links). It
 * starts that backend and calls each plugin once:
 *   - catalog: a Component whose owner comes from its repository's shuttle.yaml (shuttle module,
 *     the repository served by our git host plugin)
 *   - release manager: GET /environments
 *   - on-call: GET /entities/component/default/<name>/oncall (rotation from config)
 *   - scaffolder: the action list contains the golden-path actions
 * The frontend plugins are built and packed too, installed into the same app, and their package
 * `exports` are checked to resolve to built files (a frontend app build is not part of this test).
 *
 * Database: PostgreSQL on 127.0.0.1:5432 (a stock production setup, and no native SQLite build in
 * the temp app). Without PostgreSQL the test reports itself skipped.
 *
 * Usage: node scripts/install-test.js [--json out.json] [--keep]
 * Registry: installs with npm's cache and --prefer-offline; only the packages the minimal app needs.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const keep = args.includes('--keep');
const PG = process.env.DEVPLANE_PG_URL || 'postgresql://postgres@127.0.0.1:5432';
const bin = name => path.join(ROOT, 'node_modules', '.bin', name);

const results = [];
function record(name, ok, detail = '', skipped = false) {
  results.push({ name, ok, detail, skipped });
  console.log(`  ${skipped ? 'skipped' : ok ? 'ok   ' : 'FAIL '} install: ${name}${detail ? ` — ${detail}` : ''}`);
}
function finish() {
  const passed = results.filter(r => r.ok).length;
  const skipped = results.filter(r => r.skipped).length;
  const failed = results.length - passed - skipped;
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ passed, failed, skipped, results }, null, 2));
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed ? 1 : 0;
}

function run(cmd, cmdArgs, opts = {}) {
  return new Promise(resolve => {
    const t0 = Date.now();
    const child = spawn(cmd, cmdArgs, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', d => (out = (out + d).slice(-20000)));
    child.stderr.on('data', d => (out = (out + d).slice(-20000)));
    child.on('close', code => resolve({ code, out, seconds: Math.round((Date.now() - t0) / 1000) }));
  });
}

async function pool(items, n, fn) {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    while (queue.length) await fn(queue.shift());
  }));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise(resolve => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

const plugins = fs
  .readdirSync(path.join(ROOT, 'plugins'))
  .filter(d => fs.existsSync(path.join(ROOT, 'plugins', d, 'package.json')))
  .map(d => ({ dir: path.join(ROOT, 'plugins', d), pkg: JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', d, 'package.json'), 'utf8')) }));
const rootLock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
/** The version the monorepo runs, so the temp app resolves from npm's cache. */
const versionOf = name => rootLock.packages[`node_modules/${name}`]?.version;

async function main() {
  const t0 = Date.now();
  if (!(await canConnect(5432))) {
    record('install the packed plugins into a separate Backstage app', false, 'PostgreSQL not reachable on 127.0.0.1:5432', true);
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'devplane-install-'));
  console.log(`install test: working in ${work}`);
  try {
    // 1. Metadata a stranger's tooling relies on.
    const bad = [];
    for (const { pkg, dir } of plugins) {
      const b = pkg.backstage ?? {};
      if (pkg.private) bad.push(`${pkg.name}: private`);
      if (!b.role) bad.push(`${pkg.name}: backstage.role`);
      if (b.role !== 'cli' && !b.pluginId) bad.push(`${pkg.name}: backstage.pluginId`);
      if (b.role === 'backend-plugin-module' ? !b.pluginPackage : b.role !== 'cli' && !b.pluginPackages?.includes(pkg.name)) {
        bad.push(`${pkg.name}: backstage.pluginPackages/pluginPackage`);
      }
      if (!pkg.files?.includes('dist')) bad.push(`${pkg.name}: files`);
      if (!pkg.exports?.['.'] || !pkg.publishConfig?.main) bad.push(`${pkg.name}: exports/publishConfig`);
      if (!/prepack/.test(pkg.scripts?.prepack ?? '')) bad.push(`${pkg.name}: prepack script`);
      const readme = path.join(dir, 'README.md');
      if (!fs.existsSync(readme) || !/^## Install/im.test(fs.readFileSync(readme, 'utf8'))) {
        bad.push(`${pkg.name}: README has no "Install" section`);
      }
    }
    record(`package metadata of ${plugins.length} plugins (role, pluginId, pluginPackages, files, exports, prepack, README install)`, bad.length === 0, bad.join('; '));

    // 2. Declarations, then `backstage-cli package build` per plugin.
    // scripts/test-all.js sets DEVPLANE_DIST_TYPES_FRESH after its type check emitted them in this run.
    let r = process.env.DEVPLANE_DIST_TYPES_FRESH === '1'
      ? { code: 0, out: '' }
      : await run(bin('tsc'), ['-p', 'tsconfig.json']);
    if (r.code !== 0) {
      record('type declarations (tsc → dist-types)', false, r.out.split('\n').slice(-15).join('\n'));
      return;
    }
    const buildFailures = [];
    const tb = Date.now();
    await pool(plugins, 2, async p => {
      const b = await run(bin('backstage-cli'), ['package', 'build'], { cwd: p.dir });
      if (b.code !== 0) buildFailures.push(`${p.pkg.name}: ${b.out.split('\n').slice(-8).join(' | ')}`);
    });
    record(`backstage-cli package build of ${plugins.length} plugins`, buildFailures.length === 0, buildFailures.join('\n') || `${Math.round((Date.now() - tb) / 1000)} s`);
    if (buildFailures.length) return;

    // 3. npm pack (prepack/postpack rewrite the manifest to dist and back).
    const tarDir = path.join(work, 'tarballs');
    fs.mkdirSync(tarDir);
    const tarballs = {};
    const packFailures = [];
    const tp = Date.now();
    // Two at a time: prepack's feature detection (a TypeScript project over dist-types) is CPU-bound.
    await pool(plugins, 2, async p => {
      const before = fs.readFileSync(path.join(p.dir, 'package.json'), 'utf8');
      const k = await run('npm', ['pack', '--silent', '--pack-destination', tarDir], { cwd: p.dir });
      const after = fs.readFileSync(path.join(p.dir, 'package.json'), 'utf8');
      if (before !== after) fs.writeFileSync(path.join(p.dir, 'package.json'), before);
      const file = k.out.trim().split('\n').pop();
      if (k.code !== 0 || !file || !fs.existsSync(path.join(tarDir, file))) {
        packFailures.push(`${p.pkg.name}: ${k.out.slice(-600)}`);
        return;
      }
      tarballs[p.pkg.name] = path.join(tarDir, file);
    });
    record(`npm pack of ${plugins.length} plugins`, packFailures.length === 0, packFailures.join('\n') || `${Math.round((Date.now() - tp) / 1000)} s`);
    if (packFailures.length) return;

    // 4. A minimal Backstage backend outside the workspace: stock packages from the registry
    // (npm cache first), ours from the tarballs. overrides make every @devplane dependency use the
    // tarball too (npm would otherwise ask the registry for @devplane/*).
    const app = path.join(work, 'app');
    fs.mkdirSync(path.join(app, 'seed', 'install-demo'), { recursive: true });
    const stock = [
      '@backstage/backend-defaults',
      '@backstage/plugin-catalog-backend',
      '@backstage/plugin-scaffolder-backend',
      '@backstage/plugin-events-backend',
      '@backstage/plugin-signals-backend',
      '@backstage/plugin-notifications-backend',
    ];
    const deps = Object.fromEntries(stock.map(n => [n, versionOf(n)]));
    for (const [name, file] of Object.entries(tarballs)) deps[name] = `file:${file}`;
    const overrides = Object.fromEntries(Object.entries(tarballs).map(([n, f]) => [n, `file:${f}`]));
    for (const n of ['react', 'react-dom']) overrides[n] = '^18.3.1';
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'stranger-backstage', version: '0.0.0', private: true, dependencies: deps, overrides }, null, 2),
    );
    // Same registry settings as the repository (legacy peer deps for MUI 4's React range).
    fs.copyFileSync(path.join(ROOT, '.npmrc'), path.join(app, '.npmrc'));
    const ti = Date.now();
    r = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '--omit=dev', '--ignore-scripts'], { cwd: app });
    if (r.code !== 0) {
      record('npm install of the tarballs into the separate app', false, r.out.slice(-2000));
      return;
    }
    const linked = Object.keys(tarballs).filter(n => fs.lstatSync(path.join(app, 'node_modules', n)).isSymbolicLink());
    record(
      'npm install of the tarballs into the separate app (no workspace links)',
      linked.length === 0 && !fs.existsSync(path.join(app, 'node_modules', '@devplane', 'plugin-release-manager', 'src')),
      `${Math.round((Date.now() - ti) / 1000)} s${linked.length ? `; symlinked: ${linked}` : ''}`,
    );

    // Frontend packages: exports resolve to built files.
    const feBad = [];
    for (const p of plugins.filter(x => x.pkg.backstage.role === 'frontend-plugin')) {
      const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', p.pkg.name, 'package.json'), 'utf8'));
      for (const [sub, target] of Object.entries(installed.exports ?? {})) {
        const t = typeof target === 'string' ? target : target.import ?? target.default;
        if (!t || !/^\.\/(dist\/|package\.json)/.test(t) || !fs.existsSync(path.join(app, 'node_modules', p.pkg.name, t))) {
          feBad.push(`${p.pkg.name} ${sub} → ${JSON.stringify(target)}`);
        }
      }
    }
    record('frontend plugins: every export of the installed package points at a built file', feBad.length === 0, feBad.join('; '));

    // 5. Config, demo repository (catalog-info.yaml without owner + shuttle.yaml), backend entry.
    fs.writeFileSync(
      path.join(app, 'seed', 'install-demo', 'catalog-info.yaml'),
      // No owner here: it comes from shuttle.yaml. The squad's Group must exist (the shuttle module's
      // default `requireGroup: true`), so the repository declares it too.
      'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: install-demo\nspec:\n  type: service\n  lifecycle: production\n' +
        '---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: payments\nspec:\n  type: team\n  children: []\n',
    );
    fs.writeFileSync(path.join(app, 'seed', 'install-demo', 'shuttle.yaml'), 'plan: false\nvars:\n  squad: payments\n  service: install-demo\n');
    const port = await freePort();
    const dbName = `install_${Date.now().toString(36)}`;
    const token = require('node:crypto').randomBytes(24).toString('base64');
    const config = {
      app: { baseUrl: `http://127.0.0.1:${port}` },
      backend: {
        baseUrl: `http://127.0.0.1:${port}`,
        listen: { port, host: '127.0.0.1' },
        database: { client: 'pg', connection: `${PG}/postgres`, prefix: `${dbName}_` },
        auth: { externalAccess: [{ type: 'static', options: { token, subject: 'install-test' } }] },
      },
      devplane: { dataDir: path.join(app, 'data') },
      gitHost: { seedFrom: path.join(app, 'seed') },
      catalog: {
        processingInterval: { seconds: 5 },
        rules: [{ allow: ['Component', 'Group', 'User', 'Location', 'Template'] }],
        locations: [{ type: 'url', target: `http://127.0.0.1:${port}/api/git-host/repos/install-demo/blob/main/catalog-info.yaml` }],
      },
      oncall: { rotations: [{ name: 'payments', members: ['anna.jensen', 'erik.berg'], handoffTime: '09:00', lengthDays: 7, start: '2025-01-06' }] },
    };
    fs.writeFileSync(path.join(app, 'app-config.yaml'), JSON.stringify(config, null, 2));
    fs.writeFileSync(
      path.join(app, 'index.js'),
      `// The stock new backend, plus our plugins as their READMEs say.
const { createBackend } = require('@backstage/backend-defaults');
const { gitHostUrlReaderServiceFactory } = require('@devplane/plugin-git-host-node');
const backend = createBackend();
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@backstage/plugin-events-backend'));
backend.add(import('@backstage/plugin-signals-backend'));
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@devplane/plugin-git-host-backend'));
backend.add(gitHostUrlReaderServiceFactory);
backend.add(import('@devplane/plugin-catalog-backend-module-shuttle'));
backend.add(import('@devplane/plugin-oncall-backend'));
backend.add(import('@devplane/plugin-release-manager-backend'));
backend.add(import('@devplane/plugin-scaffolder-backend-module-golden-path'));
backend.start();
`,
    );

    // 6. Start it and call each plugin once.
    const log = fs.openSync(path.join(work, 'app.log'), 'w');
    const child = spawn(process.execPath, ['index.js', '--config', 'app-config.yaml'], {
      cwd: app,
      env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', NODE_OPTIONS: '' },
      stdio: ['ignore', log, log],
    });
    const base = `http://127.0.0.1:${port}`;
    const get = async p => {
      const res = await fetch(`${base}${p}`, { headers: { Authorization: `Bearer ${token}` } });
      const text = await res.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    };
    const until = async (what, fn, ms) => {
      const end = Date.now() + ms;
      let last;
      while (Date.now() < end) {
        if (child.exitCode !== null) throw new Error(`backend exited (${child.exitCode}): ${fs.readFileSync(path.join(work, 'app.log'), 'utf8').slice(-1500)}`);
        try {
          last = await fn();
          if (last.ok) return last;
        } catch (e) {
          last = { detail: String(e.message ?? e) };
        }
        await new Promise(res => setTimeout(res, 1000));
      }
      throw new Error(`${what}: ${last?.detail ?? 'no answer'}`);
    };
    const ts = Date.now();
    try {
      await until('backend start', async () => ({ ok: (await get('/.backstage/health/v1/readiness')).status === 200 }), 120_000);
      record('the separate app starts', true, `${Math.round((Date.now() - ts) / 1000)} s`);
      const checks = [
        ['catalog: Component owned through shuttle.yaml', async () => {
          const e = await get('/api/catalog/entities/by-name/component/default/install-demo');
          const owner = e.json?.spec?.owner;
          let why = '';
          if (e.status !== 200) {
            // Say why: the processing errors the catalog recorded on its locations.
            const locs = await get('/api/catalog/entities?filter=kind=location');
            why = JSON.stringify((locs.json ?? []).map(l => l.status?.items?.map(i => i.error?.message)).flat().filter(Boolean)).slice(0, 300);
          }
          return { ok: e.status === 200 && /payments/.test(owner ?? ''), detail: `${e.status} owner=${owner} squad=${e.json?.metadata?.annotations?.['devplane.io/shuttle-squad']} ${why}` };
        }, 180_000],
        ['release manager: GET /api/release-manager/environments', async () => {
          const e = await get('/api/release-manager/environments');
          const names = (Array.isArray(e.json) ? e.json : e.json?.environments ?? e.json?.items ?? []).map(x => x.name);
          return { ok: e.status === 200 && names.includes('prod'), detail: `${e.status} ${names.join(',') || e.text.slice(0, 200)}` };
        }, 30_000],
        ['on-call: GET /api/oncall/entities/component/default/install-demo/oncall', async () => {
          const e = await get('/api/oncall/entities/component/default/install-demo/oncall');
          const who = JSON.stringify(e.json ?? {});
          return { ok: e.status === 200 && /anna\.jensen|erik\.berg/.test(who), detail: `${e.status} ${who.slice(0, 160)}` };
        }, 30_000],
        ['scaffolder: the action list has the golden-path actions', async () => {
          const e = await get('/api/scaffolder/v2/actions');
          const ids = (e.json ?? []).map(a => a.id).filter(id => /golden|devplane|shuttle/i.test(id));
          return { ok: e.status === 200 && ids.length > 0, detail: `${e.status} ${ids.join(', ') || e.text.slice(0, 200)}` };
        }, 30_000],
      ];
      for (const [name, fn, ms] of checks) {
        try {
          const got = await until(name, fn, ms);
          record(name, true, got.detail);
        } catch (e) {
          record(name, false, String(e.message ?? e).slice(0, 600));
        }
      }
    } catch (e) {
      record('the separate app starts', false, String(e.message ?? e).slice(0, 1500));
    } finally {
      child.kill('SIGTERM');
      await new Promise(res => {
        const t = setTimeout(() => (child.kill('SIGKILL'), res()), 10_000);
        child.once('exit', () => (clearTimeout(t), res()));
      });
      await dropDatabases(dbName);
    }
    console.log(`install test: ${Math.round((Date.now() - t0) / 1000)} s`);
  } finally {
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

async function dropDatabases(prefix) {
  const { Client } = require('pg');
  const c = new Client({ connectionString: `${PG}/postgres` });
  try {
    await c.connect();
    const { rows } = await c.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}%`]);
    for (const r of rows) await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  } catch (e) {
    console.log(`could not drop ${prefix}*: ${e.message}`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

main()
  .catch(e => record('install test', false, String(e?.stack ?? e)))
  .finally(finish);
