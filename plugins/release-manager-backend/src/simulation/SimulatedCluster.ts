import crypto from 'node:crypto';
import type { LoggerService } from '@backstage/backend-plugin-api';
import type { RolloutStatusReport } from '@devplane/plugin-release-manager-common';
import { parseAllDocuments } from 'yaml';
import type { ReleaseManager } from '../service/ReleaseManager';

/** Settings of the simulated cluster (`releaseManager.simulatedCluster`). */
export interface SimulatedClusterOptions {
  /** Milliseconds between rollout steps (one more replica ready per step). Default 1500. */
  stepMs?: number;
  /** Share of rollouts that crash (0..1), decided per artifact and environment. Default 0.1. */
  failureRate?: number;
  /**
   * How often a tick looks at the remote for commits made elsewhere (another replica, an outside
   * commit); this replica's own pushes are seen at once. Default 2000 ms (a look is a git
   * process on each side of the remote).
   */
  remoteCheckMs?: number;
}

/** What the config repo says runs somewhere, as the simulator saw it. */
interface Workload {
  environment: string;
  namespace: string;
  service: string;
  artifactId: string;
  desired: number;
}

interface Rollout extends Workload {
  startedAt: number;
  fails: boolean;
  /** Last state reported, so nothing is reported twice. */
  reported?: string;
  done: boolean;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);

/** Replicas the manifests ask for (Deployments and StatefulSets; 1 when unset; at least 1). */
export function desiredReplicas(files: Record<string, string>): number {
  let total = 0;
  for (const [name, text] of Object.entries(files)) {
    if (!/\.ya?ml$/i.test(name)) continue;
    for (const doc of parseAllDocuments(text)) {
      if (!('errors' in doc) || doc.errors.length) continue;
      const js: any = doc.toJS({ maxAliasCount: 100 });
      if (js && WORKLOAD_KINDS.has(js.kind)) {
        total += Number.isInteger(js.spec?.replicas) ? js.spec.replicas : 1;
      }
    }
  }
  return Math.max(total, 1);
}

/** Deterministic "does this rollout crash" from the artifact and environment. */
export function simulatedFailure(artifactId: string, environment: string, rate: number): boolean {
  if (rate <= 0) return false;
  const h = crypto.createHash('sha1').update(`${environment}/${artifactId}`).digest();
  return h.readUInt32BE(0) / 0xffffffff < rate;
}

/**
 * The embedded default's stand-in for a cluster: it reads what the config repo says runs in each
 * environment and "rolls it out" — progressing one replica per step, then succeeded, or an
 * occasional simulated CrashLoopBackOff — reporting through the same `reportStatus` path as the
 * cluster agent, with `simulated: true` on every report (the portal shows a "simulated" chip, logs
 * and notifications say "[simulated cluster]"). Off in production, where the cluster agent reports.
 */
export class SimulatedCluster {
  private readonly rollouts = new Map<string, Rollout>();
  private lastHead?: string;
  private readonly stepMs: number;
  private readonly failureRate: number;
  private readonly remoteCheckMs: number;

  constructor(
    private readonly manager: ReleaseManager,
    private readonly logger: LoggerService,
    options: SimulatedClusterOptions = {},
  ) {
    this.stepMs = options.stepMs ?? 1500;
    this.failureRate = options.failureRate ?? 0.1;
    this.remoteCheckMs = options.remoteCheckMs ?? 2000;
  }

  /** One step: rescan the config repo when its head moved, then advance every rollout. */
  async tick(now = Date.now()): Promise<void> {
    const writer = this.manager.writer;
    await writer.refresh(this.remoteCheckMs);
    const head = await writer.head();
    if (head && head !== this.lastHead) {
      await this.scan(now);
      this.lastHead = head;
    }
    for (const r of this.rollouts.values()) {
      if (!r.done) await this.advance(r, now);
    }
  }

  private async scan(now: number) {
    const writer = this.manager.writer;
    const seen = new Set<string>();
    for (const env of this.manager.environments()) {
      const files = await writer.readDir(`${env.name}/releases`);
      const byService = new Map<string, Record<string, string>>();
      for (const [rel, content] of Object.entries(files)) {
        const parts = rel.split('/');
        if (parts.length !== 3) continue;
        const key = `${parts[0]}/${parts[1]}`;
        if (!byService.has(key)) byService.set(key, {});
        byService.get(key)![parts[2]] = content;
      }
      for (const [key, svcFiles] of byService) {
        const [namespace, service] = key.split('/');
        let artifactId: string | undefined;
        try {
          artifactId = JSON.parse(svcFiles['artifact.json'] ?? '{}').id;
        } catch {
          artifactId = undefined;
        }
        if (typeof artifactId !== 'string') continue;
        const id = `${env.name}/${namespace}/${service}`;
        seen.add(id);
        const known = this.rollouts.get(id);
        if (known?.artifactId === artifactId) continue;
        const { 'artifact.json': _spec, ...manifests } = svcFiles;
        const workload: Workload = { environment: env.name, namespace, service, artifactId, desired: desiredReplicas(manifests) };
        const rollout: Rollout = {
          ...workload,
          startedAt: now,
          fails: simulatedFailure(artifactId, env.name, this.failureRate),
          done: false,
        };
        if (!known && (await this.alreadyReported(workload))) rollout.done = true; // after a restart: nothing replayed
        this.rollouts.set(id, rollout);
        if (!rollout.done) {
          this.logger.info(`[simulated cluster] ${env.name}: rolling out ${artifactId} of ${service} (${workload.desired} replicas)`);
        }
      }
    }
    for (const id of [...this.rollouts.keys()]) if (!seen.has(id)) this.rollouts.delete(id);
  }

  private async alreadyReported(w: Workload): Promise<boolean> {
    try {
      const status = (await this.manager.status(w.service)).find(s => s.environment === w.environment);
      const rollout = status?.release?.artifactId === w.artifactId ? status.release.rollout : undefined;
      return rollout?.state === 'succeeded' || rollout?.state === 'failed';
    } catch {
      return false;
    }
  }

  private async advance(r: Rollout, now: number) {
    const steps = Math.floor((now - r.startedAt) / this.stepMs);
    let report: Omit<RolloutStatusReport, 'service' | 'environment' | 'artifactId'>;
    if (steps < 1) return;
    if (r.fails && steps >= 2) {
      report = {
        state: 'failed',
        ready: 0,
        desired: r.desired,
        reason: 'CrashLoopBackOff',
        message: `Back-off restarting failed container ${r.service} (simulated cluster: releaseManager.simulatedCluster.failureRate)`,
        logLines: [
          `[simulated] ${r.service} starting, artifact ${r.artifactId}`,
          `[simulated] connecting to dependencies`,
          `[simulated] panic: simulated failure injected by the embedded simulated cluster`,
        ],
      };
    } else {
      const ready = Math.min(Math.max(steps - 1, 0), r.desired);
      report =
        ready >= r.desired
          ? { state: 'succeeded', ready, desired: r.desired, message: 'Rolled out (simulated cluster)' }
          : { state: 'progressing', ready, desired: r.desired, message: 'Rolling out (simulated cluster)' };
    }
    const key = `${report.state}:${report.ready}`;
    if (key === r.reported) return;
    r.reported = key;
    if (report.state === 'succeeded' || report.state === 'failed') r.done = true;
    try {
      await this.manager.reportStatus({
        service: r.service,
        environment: r.environment,
        artifactId: r.artifactId,
        ...report,
        simulated: true,
      });
      this.logger.info(`[simulated cluster] ${r.environment}/${r.service} ${r.artifactId}: ${report.state} ${report.ready}/${report.desired}`);
    } catch (e: any) {
      // the release log may not hold the release yet (sync lag): try again next tick
      r.reported = undefined;
      r.done = false;
      this.logger.debug?.(`[simulated cluster] report for ${r.service} deferred: ${e?.message ?? e}`);
    }
  }
}
