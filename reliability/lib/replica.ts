/* eslint-disable no-console */
// A backend replica as its own OS process (for racing replicas and kill -9). Reads
// REPLICA_DATA_DIR, REPLICA_DB, REPLICA_SERVICES (count), prints `READY <port>` when serving.
import { startBackend } from './backend';

const services = Array.from({ length: Number(process.env.REPLICA_SERVICES ?? 50) }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
startBackend({
  dataDir: process.env.REPLICA_DATA_DIR!,
  dbPrefix: process.env.REPLICA_DB_PREFIX!,
  services,
  // JSON config merged over the defaults (e.g. the config repo's URL).
  extraConfig: process.env.REPLICA_EXTRA_CONFIG ? JSON.parse(process.env.REPLICA_EXTRA_CONFIG) : undefined,
  liveSignals: process.env.REPLICA_LIVE_SIGNALS === '1',
})
  .then(({ port }) => console.log(`READY ${port}`))
  .catch(e => {
    console.error(e);
    process.exit(1);
  });
// Profiling (REPLICA_CPU_PROF_DIR, see replicas.ts): a stop exits normally, so V8 writes the profile.
if (process.env.REPLICA_CPU_PROF_DIR) process.once('SIGTERM', () => process.exit(0));
// REPLICA_CPU_PROF_WINDOW_DIR: a first SIGUSR2 starts a CPU profile, the second writes it there
// (`window-<pid>.cpuprofile`): a bench profiles its timed phase only, not start-up or set-up.
if (process.env.REPLICA_CPU_PROF_WINDOW_DIR) {
  const dir = process.env.REPLICA_CPU_PROF_WINDOW_DIR;
  const { Session } = require('node:inspector') as typeof import('node:inspector');
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.start'));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err) require('node:fs').writeFileSync(`${dir}/window-${process.pid}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}
// Never outlive the suite.
setTimeout(() => process.exit(3), Number(process.env.REPLICA_MAX_MS ?? 600_000)).unref();
