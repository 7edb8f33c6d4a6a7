#!/usr/bin/env node
/* eslint-disable no-console */
// Benchmark of the shuttle catalog module: processor overhead per entity against a no-op
// processor, and discovery of many repositories. Prints a table, writes bench/results/shuttle.json.
// Usage: node bench/shuttle.js [--entities 5000] [--repos 5000] [--real-git-repos 200] [--real-git-entities 50]
const fs = require('node:fs');
const path = require('node:path');

try {
  require('@backstage/cli/config/nodeTransform.cjs');
} catch (e) {
  // The Backstage node transform needs @swc/core; fall back to Sucrase when it is missing.
  console.warn(`Backstage node transform unavailable (${e.message.split('\n')[0]}); using sucrase/register`);
  require('sucrase/register/ts');
}
const { runShuttleBench } = require('../plugins/catalog-backend-module-shuttle/src/bench/shuttleBench');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

(async () => {
  const r = await runShuttleBench({
    entities: arg('entities', 5000),
    repos: arg('repos', 5000),
    realGitRepos: arg('real-git-repos', 200),
    realGitEntities: arg('real-git-entities', 50),
  });
  const f = n => n.toFixed(4);
  const ms = n => n.toFixed(0);
  console.table([
    { measure: `processor, warm (ETag not modified), ${r.processor.entities} entities`, value: `${f(r.processor.warmMsPerEntity)} ms/entity over no-op`, target: '≤ 0.2 ms/entity' },
    { measure: `processor, cold (first read + parse), ${r.processor.entities} entities`, value: `${f(r.processor.coldMsPerEntity)} ms/entity over no-op`, target: '' },
    { measure: 'no-op processor (same run)', value: `${f(r.processor.noopMsPerEntity)} ms/entity`, target: '' },
    { measure: `processor, real git URL reader, ${r.processorRealGit.entities} entities, cold`, value: `${f(r.processorRealGit.coldMsPerEntity)} ms/entity`, target: '' },
    { measure: `processor, real git URL reader, ${r.processorRealGit.entities} entities, warm`, value: `${f(r.processorRealGit.warmMsPerEntity)} ms/entity`, target: '' },
    { measure: `discovery, fake listing, ${r.discoveryFake.scanned} repos, first run`, value: `${ms(r.discoveryFake.coldMs)} ms`, target: '' },
    { measure: `discovery, fake listing, ${r.discoveryFake.scanned} repos, unchanged`, value: `${ms(r.discoveryFake.warmMs)} ms`, target: '' },
    { measure: `discovery, real git host, ${r.discoveryRealGit.scanned} repos, first run`, value: `${ms(r.discoveryRealGit.coldMs)} ms`, target: '' },
    { measure: `discovery, real git host, ${r.discoveryRealGit.scanned} repos, unchanged`, value: `${ms(r.discoveryRealGit.warmMs)} ms`, target: '' },
  ]);
  const out = path.join(__dirname, 'results', 'shuttle.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(r, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  if (r.processor.errors || r.processorRealGit.errors) {
    console.error(`unexpected processing errors: ${r.processor.errors + r.processorRealGit.errors}`);
    process.exitCode = 1;
  }
})().catch(e => {
  console.error(e);
  process.exit(1);
});
