#!/usr/bin/env node
/* eslint-disable no-console */
// Promotion benchmark of the release manager: config repo of 1,000 services × 3 environments,
// release latency vs a raw git write+commit+push in the same run, throughput with 20 concurrent
// clients, lost releases. Prints a table and writes bench/results/promotion.json.
// Usage: node bench/promotion.js [--services 1000] [--samples 200] [--clients 20] [--per-client 25]
const fs = require('node:fs');
const path = require('node:path');

require('@backstage/cli/config/nodeTransform.cjs');
const { runPromotionBench } = require('../plugins/release-manager-backend/src/bench/promotionBench');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

(async () => {
  const r = await runPromotionBench({
    services: arg('services', 1000),
    samples: arg('samples', 200),
    clients: arg('clients', 20),
    releasesPerClient: arg('per-client', 25),
  });
  const ok = b => (b ? 'yes' : 'NO');
  console.log(`config repo: ${r.configRepo.services} services × ${r.configRepo.environments} envs = ${r.configRepo.folders} folders, ${r.configRepo.files} files`);
  console.table([
    { measure: 'raw git write+commit+push, p50', value: `${r.baseline.p50Ms} ms`, target: '' },
    { measure: 'raw git write+commit+push, p99', value: `${r.baseline.p99Ms} ms`, target: '' },
    { measure: 'release (serial, signed + history verified), p50', value: `${r.release.p50Ms} ms (${r.ratioP50}× baseline)`, target: `≤ 1.2× baseline (signing): ${ok(r.ratioP50 <= 1.2)}; ≤ 1.5×: ${ok(r.targets.p50WithinOneAndHalfBaseline)}` },
    { measure: 'OpenPGP sign / verify of one commit (in process)', value: `${r.signing.signUs} µs / ${r.signing.verifyUs} µs`, target: '' },
    { measure: 'verified history read (git log + verify), all commits', value: `${r.history.commits} commits in ${r.history.ms} ms`, target: '' },
    { measure: 'release (serial), p99', value: `${r.release.p99Ms} ms`, target: `≤ 400 ms: ${ok(r.targets.p99Under400Ms)}` },
    { measure: `${r.concurrent.clients} concurrent clients, ${r.concurrent.releases} releases`, value: `${r.concurrent.perSecond} releases/s`, target: `≥ 20/s: ${ok(r.targets.atLeast20PerSecond)}` },
    { measure: 'concurrent latency p50 / p99', value: `${r.concurrent.p50Ms} / ${r.concurrent.p99Ms} ms`, target: '' },
    { measure: 'commits per push (batching)', value: `${r.concurrent.commitsPerPush} (${r.concurrent.pushes} pushes)`, target: '' },
    { measure: 'lost releases / merge commits', value: `${r.concurrent.lost} / ${r.concurrent.mergeCommits}`, target: `0 lost: ${ok(r.targets.zeroLost)}` },
  ]);
  const out = path.join(__dirname, 'results', 'promotion.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ measuredAt: new Date().toISOString(), ...r }, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
})().catch(e => {
  console.error(e);
  process.exit(1);
});
