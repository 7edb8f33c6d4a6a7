/* eslint-disable no-console */
// Reliability suite (`./dev reliability`; also run by `./dev test`).
//   node scripts/reliability.js [--only adversarial,racing,crash,upstream] [--promotions 200] [--services 50]
//                               [--kills 20] [--ci] [--json <file>]
//                               [--prod-bundle <dir> [--lock-wait-ms N]]  (adds section prod-racing:
//                               scripts/prod-replicas.js)
// Adversarial sections: reliability/sections/adversarial.ts plus every
// reliability/sections/adversarial-<name>.ts (picked up by name; `--only adversarial` runs them all,
// `--only adversarial-<name>` one of them). Such a file exports `default` (or `adversarial`):
// an async function that starts what it needs (lib/backend.ts) and records cases with
// lib/harness.ts `check()` or lib/adversarial.ts `runCases()`.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { counters, results, skip } from './lib/harness';

const argv = process.argv.slice(2);
const onlyIdx = argv.indexOf('--only');
const only = onlyIdx >= 0 ? argv[onlyIdx + 1].split(',') : undefined;
const jsonIdx = argv.indexOf('--json');
const jsonFile = jsonIdx >= 0 ? argv[jsonIdx + 1] : undefined;
const prodIdx = argv.indexOf('--prod-bundle');
const prodBundle = prodIdx >= 0 ? argv[prodIdx + 1] : undefined;
export const flag = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
/**
 * `--ci` (what `./dev test` runs unless given `--full`): the same sections and case types with fewer
 * repetitions of the two long ones: crash 6 kill -9 rounds instead of 20 (3 release + 3 promotion
 * rounds, kill points spread over the whole 10-610 ms window), racing 100 promotions instead of 200
 * (same 20 clients, 2 replicas, 50 services, outside committer). Explicit flags still win.
 * Without it (`./dev reliability`, `./dev test --full`): the full profile.
 */
const ciProfile = argv.includes('--ci');
const profile = ciProfile ? 'ci' : 'full';
const defaults = ciProfile ? { kills: 6, promotions: 100 } : { kills: 20, promotions: 200 };

const wanted = (name: string) =>
  !only || only.some(o => o === name || (o === 'adversarial' && name.startsWith('adversarial-')));

function postgresAnswers(): Promise<boolean> {
  const u = new URL(process.env.DEVPLANE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432');
  return new Promise(resolve => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 5432) });
    s.setTimeout(2000);
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

/** reliability/sections/adversarial-<name>.ts, sorted by name. */
export function adversarialFiles(dir = path.join(__dirname, 'sections')): string[] {
  return fs
    .readdirSync(dir)
    .filter(f => /^adversarial-[a-z0-9-]+\.ts$/.test(f))
    .sort();
}

function summary(started: number) {
  const skipped = results.filter(r => r.skipped).length;
  const passed = results.filter(r => r.ok).length;
  const failed = results.length - passed - skipped;
  const adversarial = results.filter(r => r.section.startsWith('adversarial'));
  return {
    profile,
    passed,
    failed,
    skipped,
    adversarialCases: adversarial.filter(r => !r.skipped).length,
    adversarialPassed: adversarial.filter(r => r.ok).length,
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

function finish(started: number, code?: number) {
  const s = summary(started);
  if (jsonFile) {
    fs.mkdirSync(path.dirname(path.resolve(jsonFile)), { recursive: true });
    fs.writeFileSync(jsonFile, JSON.stringify({ ...s, counters, results }, null, 2));
  }
  console.log(
    `\ncases tried: ${results.length - s.skipped}; adversarial cases: ${s.adversarialCases} (${s.adversarialPassed} passed); lost updates: ${counters.lostUpdates}; duplicates: ${counters.duplicates}; corruptions: ${counters.corruptions}; ${s.seconds} s`,
  );
  console.log(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
  process.exit(code ?? (s.failed ? 1 : 0));
}

async function main() {
  const started = Date.now();
  const sections: [string, () => Promise<unknown>][] = [
    ['adversarial', async () => require('./sections/adversarial').adversarial()],
    ...adversarialFiles().map(
      f =>
        [
          f.replace(/\.ts$/, ''),
          async () => {
            const mod = require(`./sections/${f}`);
            const fn = mod.default ?? mod.adversarial;
            if (typeof fn !== 'function') throw new Error(`${f} exports no default (or adversarial) function`);
            await fn();
          },
        ] as [string, () => Promise<unknown>],
    ),
    ['racing', async () => require('./sections/racing').racing({ promotions: flag('promotions', defaults.promotions), services: flag('services', 50) })],
    ['crash', async () => require('./sections/crash').crash({ kills: flag('kills', defaults.kills), services: flag('crash-services', 6) })],
    ['upstream', async () => require('./sections/upstream').upstream()],
    // Only with --prod-bundle <dir> (scripts/prod-replicas.js): two replicas of the production bundle.
    ...(prodBundle
      ? ([
          [
            'prod-racing',
            async () =>
              require('./sections/prod-racing').prodRacing({
                bundle: prodBundle,
                promotions: flag('promotions', defaults.promotions),
                services: flag('services', 50),
                lockWaitMs: flag('lock-wait-ms', 0) || undefined,
              }),
          ],
        ] as [string, () => Promise<unknown>][])
      : []),
  ];
  // Every section runs the real database service on PostgreSQL: without a server they are
  // reported as skipped (and counted so), never as passed.
  console.log(
    `profile: ${profile} (crash ${flag('kills', defaults.kills)} kills, racing ${flag('promotions', defaults.promotions)} promotions)${
      ciProfile ? '; the full profile: ./dev reliability or ./dev test --full' : ''
    }`,
  );
  const pg = await postgresAnswers();
  if (!pg) console.log('PostgreSQL does not answer on 127.0.0.1:5432: every section is SKIPPED');
  for (const [name, fn] of sections) {
    if (!wanted(name)) continue;
    console.log(`\n== ${name}`);
    if (!pg) {
      skip(name, 'whole section', 'skipped: PostgreSQL does not answer on 127.0.0.1:5432');
      continue;
    }
    const t0 = Date.now();
    try {
      await fn();
    } catch (e: any) {
      results.push({ section: name, name: 'section crashed', ok: false, detail: String(e?.stack ?? e) });
      console.log(`  FAIL  ${name}: section crashed — ${e?.stack ?? e}`);
    }
    console.log(`   (${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  finish(started);
}

const startedAt = Date.now();
main().catch(e => {
  console.error(e);
  results.push({ section: 'suite', name: 'suite crashed', ok: false, detail: String(e) });
  finish(startedAt, 1);
});
// Hard bound on the whole suite.
setTimeout(() => {
  console.log('suite timed out after 20 minutes');
  results.push({ section: 'suite', name: 'timed out after 20 minutes', ok: false, detail: '' });
  finish(startedAt, 1);
}, 20 * 60_000).unref();
