#!/usr/bin/env node
/* eslint-disable no-console */
/**
 * The production backend bundle, built and installed WITHOUT yarn:
 *   1. the frontend (`backstage-cli package build` in packages/app → packages/app/dist), which
 *      app-backend serves from the same port as the API;
 *   2. the backend's workspace dependencies (our plugins) built to dist/ with Backstage's own
 *      package builder (the CLI's `package build` outputs, without type declarations);
 *   3. the backend bundle: Backstage's `createDistWorkspace` (what `backstage-cli package build`
 *      runs for a backend), handed `package-lock.json` instead of the `yarn.lock` it copies by
 *      default → packages/backend/dist/{skeleton,bundle}.tar.gz (the CLI's own layout);
 *   4. installed OUTSIDE the workspace (default: <tmp>/devplane-prod-bundle, so nothing resolves
 *      from the monorepo's node_modules): the bundle extracted, its root package.json narrowed to
 *      the bundled workspaces, `npm install --omit=dev` against the monorepo's package-lock.json;
 *   5. checks that every installed package has a version the monorepo's lockfile has (0 must
 *      differ) and that the backend's direct dependencies are the lockfile's versions.
 *
 * Usage: node scripts/prod-bundle.js [--out DIR] [--skip-frontend] [--skip-build] [--json FILE]
 * Then:  cd DIR && node packages/backend --config app-config.yaml --config app-config.production.yaml
 * (the production environment variables: docs/production.md).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = name =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
const OUT = path.resolve(
  opt('--out') ?? path.join(os.tmpdir(), 'devplane-prod-bundle'),
);
const bin = name => path.join(ROOT, 'node_modules', '.bin', name);
// Backstage's CLI build library (no `exports` map: these are its own modules, pinned by the lockfile).
const cliBuild = rel =>
  require(path.join(
    ROOT,
    'node_modules',
    '@backstage',
    'cli-module-build',
    'dist',
    'lib',
    rel,
  ));

function run(cmd, cmdArgs, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, cmdArgs, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = d => {
      out = (out + d).slice(-20000);
      if (opts.echo) process.stdout.write(d);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', code => {
      const seconds = Math.round((Date.now() - t0) / 1000);
      if (code === 0) resolve({ out, seconds });
      else
        reject(
          new Error(
            `${cmd} ${cmdArgs.join(
              ' ',
            )} exited ${code} after ${seconds} s:\n${out.slice(-4000)}`,
          ),
        );
    });
  });
}

/** Every `node_modules/**` package.json under `dir`: { path relative to dir, name, version }. */
function installedPackages(dir) {
  const out = [];
  const walk = nm => {
    let entries;
    try {
      entries = fs.readdirSync(nm, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const names = e.name.startsWith('@')
        ? fs.readdirSync(path.join(nm, e.name)).map(n => `${e.name}/${n}`)
        : [e.name];
      for (const name of names) {
        const pkgDir = path.join(nm, name);
        if (fs.lstatSync(pkgDir).isSymbolicLink()) continue; // a workspace link
        try {
          const pkg = JSON.parse(
            fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'),
          );
          out.push({
            path: path.relative(dir, pkgDir),
            name,
            version: pkg.version,
          });
        } catch {
          // a directory without package.json (e.g. .bin)
        }
        walk(path.join(pkgDir, 'node_modules'));
      }
    }
  };
  walk(path.join(dir, 'node_modules'));
  return out;
}

/** Which versions of each package the monorepo's lockfile holds. */
function lockVersions(lock) {
  const m = new Map();
  for (const [p, e] of Object.entries(lock.packages)) {
    if (!p.includes('node_modules/') || e.link || !e.version) continue;
    const name = p.slice(
      p.lastIndexOf('node_modules/') + 'node_modules/'.length,
    );
    if (!m.has(name)) m.set(name, new Set());
    m.get(name).add(e.version);
  }
  return m;
}

async function buildBundle({ skipFrontend }) {
  process.chdir(ROOT);
  const { PackageGraph, PackageRoles } = require(path.join(
    ROOT,
    'node_modules',
    '@backstage',
    'cli-node',
  ));
  const { createDistWorkspace } = cliBuild(
    'packager/createDistWorkspace.cjs.js',
  );
  const packager = cliBuild('builder/packager.cjs.js');
  const { Output } = cliBuild('builder/types.cjs.js');
  const tar = require(path.join(ROOT, 'node_modules', 'tar'));

  const backendDir = path.join(ROOT, 'packages', 'backend');
  const backendPkg = JSON.parse(
    fs.readFileSync(path.join(backendDir, 'package.json'), 'utf8'),
  );
  const packages = await PackageGraph.listTargetPackages();
  const graph = PackageGraph.fromPackages(packages);
  const deps = graph.collectPackageNames([backendPkg.name], node => [
    ...node.localDependencies.keys(),
  ]);

  if (!skipFrontend) {
    console.log('prod-bundle: building the frontend (packages/app/dist)');
    const r = await run(bin('backstage-cli'), ['package', 'build'], {
      cwd: path.join(ROOT, 'packages', 'app'),
    });
    console.log(`prod-bundle: frontend built in ${r.seconds} s`);
  }
  const t0 = Date.now();
  const builds = packages
    .filter(
      p =>
        deps.has(p.packageJson.name) && p.packageJson.name !== backendPkg.name,
    )
    .filter(
      p =>
        !PackageRoles.getRoleInfo(p.packageJson.backstage.role).output.includes(
          'bundle',
        ),
    )
    .map(p => {
      const outputs = packager.getOutputsForRole(p.packageJson.backstage.role);
      outputs.delete(Output.types); // declarations are not needed to run the bundle
      return {
        targetDir: p.dir,
        packageJson: p.packageJson,
        outputs,
        logPrefix: `${path.relative(ROOT, p.dir)}: `,
        workspacePackages: packages,
      };
    });
  console.log(
    `prod-bundle: building ${builds.length} workspace packages the backend uses`,
  );
  await packager.buildPackages(builds);
  await packager.buildPackage({
    targetDir: backendDir,
    packageJson: backendPkg,
    outputs: new Set([Output.cjs]),
    workspacePackages: packages,
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devplane-bundle-'));
  try {
    await createDistWorkspace([backendPkg.name], {
      targetDir: tmp,
      buildDependencies: false,
      files: [
        'package.json',
        'package-lock.json',
        '.npmrc',
        'app-config.yaml',
        'app-config.production.yaml',
        'app-config.production.github.yaml',
      ].filter(f => fs.existsSync(path.join(ROOT, f))),
      skeleton: 'skeleton.tar.gz',
    });
    const dist = path.join(backendDir, 'dist');
    fs.rmSync(dist, { recursive: true, force: true });
    fs.mkdirSync(dist);
    fs.renameSync(
      path.join(tmp, 'skeleton.tar.gz'),
      path.join(dist, 'skeleton.tar.gz'),
    );
    await tar.create(
      {
        file: path.join(dist, 'bundle.tar.gz'),
        cwd: tmp,
        portable: true,
        noMtime: true,
        gzip: true,
      },
      [''],
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(
    `prod-bundle: packages/backend/dist/{skeleton,bundle}.tar.gz in ${Math.round(
      (Date.now() - t0) / 1000,
    )} s`,
  );
}

/** Extracts the bundle outside the workspace and installs its dependencies with npm. */
async function install() {
  const tar = require(path.join(ROOT, 'node_modules', 'tar'));
  const dist = path.join(ROOT, 'packages', 'backend', 'dist');
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  await tar.extract({ file: path.join(dist, 'bundle.tar.gz'), cwd: OUT });
  const rootPkg = JSON.parse(
    fs.readFileSync(path.join(OUT, 'package.json'), 'utf8'),
  );
  // Only the bundled workspaces (the monorepo's globs name packages that are not in the bundle).
  const skeleton = [];
  await tar.list({
    file: path.join(dist, 'skeleton.tar.gz'),
    onentry: e => skeleton.push(path.dirname(e.path)),
  });
  const bundled = {
    name: rootPkg.name,
    version: rootPkg.version,
    private: true,
    workspaces: skeleton.sort(),
    overrides: rootPkg.overrides,
    engines: rootPkg.engines,
  };
  fs.writeFileSync(
    path.join(OUT, 'package.json'),
    `${JSON.stringify(bundled, null, 2)}\n`,
  );
  console.log(
    `prod-bundle: installing ${skeleton.length} bundled workspaces' dependencies in ${OUT} (npm install --omit=dev, lockfile from the monorepo)`,
  );
  const r = await run(
    'npm',
    [
      'install',
      '--omit=dev',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    { cwd: OUT },
  );
  console.log(`prod-bundle: npm install took ${r.seconds} s`);
}

/** 0 installed versions the monorepo's lockfile does not have; direct deps as in the lockfile. */
function checkVersions() {
  const lock = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'),
  );
  const known = lockVersions(lock);
  const installed = installedPackages(OUT);
  const differ = installed.filter(p => !known.get(p.name)?.has(p.version));
  const backendPkg = JSON.parse(
    fs.readFileSync(
      path.join(OUT, 'packages', 'backend', 'package.json'),
      'utf8',
    ),
  );
  const directDiffer = [];
  for (const name of Object.keys(backendPkg.dependencies)) {
    const inLock =
      lock.packages[`packages/backend/node_modules/${name}`] ??
      lock.packages[`node_modules/${name}`];
    const here =
      installed.find(p => p.path === `packages/backend/node_modules/${name}`) ??
      installed.find(p => p.path === `node_modules/${name}`);
    if (!inLock || inLock.link || !here) continue; // workspace packages are links
    if (inLock.version !== here.version)
      directDiffer.push(`${name} ${here.version} (lockfile ${inLock.version})`);
  }
  return { installed: installed.length, differ, directDiffer };
}

async function main() {
  const t0 = Date.now();
  if (!args.includes('--skip-build'))
    await buildBundle({ skipFrontend: args.includes('--skip-frontend') });
  await install();
  const v = checkVersions();
  console.log(
    `prod-bundle: ${v.installed} packages installed; ${v.differ.length} with a version the lockfile lacks; ${v.directDiffer.length} direct backend dependencies differ from the lockfile`,
  );
  for (const d of [
    ...v.differ.map(p => `${p.path}@${p.version}`),
    ...v.directDiffer,
  ].slice(0, 20))
    console.log(`  differs: ${d}`);
  const ok =
    v.differ.length === 0 &&
    v.directDiffer.length === 0 &&
    fs.existsSync(path.join(OUT, 'packages', 'app', 'dist', 'index.html'));
  const summary = {
    out: OUT,
    seconds: Math.round((Date.now() - t0) / 1000),
    installed: v.installed,
    versionsDiffer: v.differ.length,
    directDiffer: v.directDiffer.length,
    ok,
  };
  if (opt('--json'))
    fs.writeFileSync(opt('--json'), JSON.stringify(summary, null, 2));
  console.log(
    `prod-bundle: ${ok ? 'ready' : 'NOT ready'} in ${
      summary.seconds
    } s: ${OUT}`,
  );
  console.log(
    `  cd ${OUT} && node packages/backend --config app-config.yaml --config app-config.production.yaml`,
  );
  process.exitCode = ok ? 0 : 1;
}

if (require.main === module) {
  main().catch(e => {
    console.error(e?.stack ?? e);
    process.exitCode = 1;
  });
}

module.exports = { installedPackages, lockVersions, OUT };
