/* eslint-disable no-console */
// Reliability suite (`./dev reliability`). Not part of `./dev test`.
//   node scripts/reliability.js [--only adversarial,racing,crash,upstream] [--promotions 200] [--services 50] [--kills 20]
import { counters, results } from './lib/harness';

const argv = process.argv.slice(2);
const onlyIdx = argv.indexOf('--only');
const only = onlyIdx >= 0 ? new Set(argv[onlyIdx + 1].split(',')) : undefined;
export const flag = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};

async function main() {
  const started = Date.now();
  const sections: [string, () => Promise<unknown>][] = [
    ['adversarial', async () => require('./sections/adversarial').adversarial()],
    ['racing', async () => require('./sections/racing').racing({ promotions: flag('promotions', 200), services: flag('services', 50) })],
    ['crash', async () => require('./sections/crash').crash({ kills: flag('kills', 20), services: flag('crash-services', 6) })],
    ['upstream', async () => require('./sections/upstream').upstream()],
  ];
  for (const [name, fn] of sections) {
    if (only && !only.has(name)) continue;
    console.log(`\n== ${name}`);
    const t0 = Date.now();
    try {
      await fn();
    } catch (e: any) {
      results.push({ section: name, name: 'section crashed', ok: false, detail: String(e?.stack ?? e) });
      console.log(`  FAIL  ${name}: section crashed — ${e?.stack ?? e}`);
    }
    console.log(`   (${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const passed = results.filter(r => r.ok).length;
  const failed = results.length - passed;
  console.log(
    `\ncases tried: ${results.length}; lost updates: ${counters.lostUpdates}; duplicates: ${counters.duplicates}; corruptions: ${counters.corruptions}; ${Math.round((Date.now() - started) / 1000)} s`,
  );
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch(e => {
  console.error(e);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
// Hard bound on the whole suite.
setTimeout(() => {
  console.log('suite timed out after 20 minutes');
  console.log(`${results.filter(r => r.ok).length} passed, ${results.filter(r => !r.ok).length + 1} failed`);
  process.exit(1);
}, 20 * 60_000).unref();
