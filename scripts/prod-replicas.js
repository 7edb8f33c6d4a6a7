#!/usr/bin/env node
/* eslint-disable no-console */
/**
 * Two replicas of the PRODUCTION BUNDLE racing (reliability section `prod-racing`,
 * reliability/sections/prod-racing.ts): the bundle of scripts/prod-bundle.js started twice with
 * app-config.production.yaml, PostgreSQL (fresh database names), the config repo over HTTP with a
 * token, OIDC sign-in against a stand-in IdP, CI's static token for uploads.
 *
 *   node scripts/prod-replicas.js [--bundle DIR] [--build] [--promotions 200] [--services 50]
 *                                 [--lock-wait-ms N] [--json FILE]
 *
 * The bundle is built once (`--build`, or when DIR has none) and reused. Not part of `./dev test`
 * (a bundle build takes minutes). Run under `flock /tmp/pg.lock` on a shared machine.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = name =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
const bundle = path.resolve(
  opt('--bundle') ?? path.join(os.tmpdir(), 'devplane-prod-bundle'),
);

const hasBundle = fs.existsSync(
  path.join(bundle, 'packages', 'backend', 'package.json'),
);
if (args.includes('--build') || !hasBundle) {
  console.log(`prod-replicas: building the production bundle into ${bundle}`);
  const r = spawnSync(
    process.execPath,
    [path.join(__dirname, 'prod-bundle.js'), '--out', bundle],
    { stdio: 'inherit', cwd: ROOT },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const pass = [];
for (const name of ['--promotions', '--services', '--lock-wait-ms', '--json']) {
  if (opt(name) !== undefined) pass.push(name, opt(name));
}
const r = spawnSync(
  process.execPath,
  [
    path.join(__dirname, 'reliability.js'),
    '--only',
    'prod-racing',
    '--prod-bundle',
    bundle,
    ...pass,
  ],
  { stdio: 'inherit', cwd: ROOT },
);
process.exit(r.status ?? 1);
