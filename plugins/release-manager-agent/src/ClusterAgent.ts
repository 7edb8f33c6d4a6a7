import http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import type { RolloutStatusReport } from '@devplane/plugin-release-manager-common';
import { evaluate, fluxFailure } from './evaluate';

/** Options of {@link ClusterAgent}. */
export interface ClusterAgentOptions {
  kubeConfig: k8s.KubeConfig;
  /** Base URL of the Backstage backend, e.g. `https://backstage.example.com`. */
  releaseManagerUrl: string;
  /** The agent's own credential: an external-access static token of the backend. */
  token: string;
  /** Environment this cluster runs, for objects without the environment annotation. */
  environment?: string;
  /** Lines of a crashing container's log to attach (default 30). */
  logLines?: number;
  /** Reports delivered at the same time (default 8). */
  maxInFlight?: number;
  /** Delay before re-establishing a broken watch (default 1000 ms). */
  reconnectMs?: number;
  logger?: Pick<Console, 'info' | 'warn' | 'error'>;
  fetchImpl?: typeof fetch;
}

type Lister = () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;

/**
 * Runs in a cluster: watches Deployments, StatefulSets, DaemonSets, Jobs and Pods that carry
 * the release manager's artifact annotation (list + watch from the last resourceVersion,
 * reconnecting when a watch ends) and reports their rollout to `POST /api/release-manager/status`
 * — ready/desired, success, CrashLoopBackOff with the container's last log lines,
 * CreateContainerConfigError with the missing key, OOMKilled, failed Jobs. A report is sent only
 * when it differs from the last one sent for that service, environment and artifact.
 */
export class ClusterAgent {
  private readonly informers: Array<{ kind: string; informer: k8s.Informer<k8s.KubernetesObject> }> = [];
  private readonly lastSent = new Map<string, string>();
  private readonly queue: Promise<void>[] = [];
  private stopped = false;
  /** Deliveries in flight are bounded: a burst of changes queues instead of opening 1,000 sockets. */
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  readonly stats = { delivered: 0, duplicatesSkipped: 0, failedDeliveries: 0, reconnects: 0 };
  private readonly log: Pick<Console, 'info' | 'warn' | 'error'>;

  constructor(private readonly options: ClusterAgentOptions) {
    this.log = options.logger ?? console;
  }

  private listers(): Array<{ kind: string; path: string; list: Lister }> {
    const kc = this.options.kubeConfig;
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    return [
      { kind: 'Deployment', path: '/apis/apps/v1/deployments', list: () => apps.listDeploymentForAllNamespaces() as any },
      { kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets', list: () => apps.listStatefulSetForAllNamespaces() as any },
      { kind: 'DaemonSet', path: '/apis/apps/v1/daemonsets', list: () => apps.listDaemonSetForAllNamespaces() as any },
      { kind: 'Job', path: '/apis/batch/v1/jobs', list: () => batch.listJobForAllNamespaces() as any },
      { kind: 'Pod', path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() as any },
    ];
  }

  /** Starts every watch; resolves once each has listed. */
  async start(): Promise<void> {
    for (const { kind, path, list } of this.listers()) {
      const informer = k8s.makeInformer(this.options.kubeConfig, path, list);
      const onObject = (obj: k8s.KubernetesObject) => this.observe(kind, obj);
      informer.on('add', onObject);
      informer.on('update', onObject);
      informer.on('error', (err: any) => {
        if (this.stopped) return;
        this.stats.reconnects++;
        this.log.warn(`watch of ${kind} ended (${err?.message ?? err}); reconnecting`);
        setTimeout(() => {
          if (!this.stopped) informer.start().catch(e => this.log.error(`restart of ${kind} watch failed: ${e?.message ?? e}`));
        }, this.options.reconnectMs ?? 1000);
      });
      this.informers.push({ kind, informer });
      await informer.start();
    }
    this.log.info(`release manager agent watching ${this.informers.map(i => i.kind).join(', ')}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map(i => i.informer.stop()));
    await this.idle();
  }

  /** Waits for reports in flight. */
  async idle(): Promise<void> {
    while (this.queue.length) await Promise.all(this.queue.splice(0));
  }

  private observe(kind: string, obj: k8s.KubernetesObject) {
    const observation = evaluate(kind, obj, this.options.environment);
    if (!observation) return;
    const p = (async () => {
      const report = { ...observation.report };
      if (observation.logsOf && report.state === 'failed') {
        report.logLines = await this.lastLogLines(observation.logsOf);
      }
      await this.send(report);
    })().catch(e => this.log.error(`report failed: ${e?.message ?? e}`));
    this.queue.push(p);
  }

  private async lastLogLines(of: { namespace: string; pod: string; container: string }): Promise<string[]> {
    const core = this.options.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const tailLines = this.options.logLines ?? 30;
    try {
      // the crashed run's log (previous), else the current one
      const text = await core
        .readNamespacedPodLog({ name: of.pod, namespace: of.namespace, container: of.container, previous: true, tailLines })
        .catch(() => core.readNamespacedPodLog({ name: of.pod, namespace: of.namespace, container: of.container, tailLines }));
      return String(text).split('\n').filter(l => l.length > 0).slice(-tailLines).map(l => l.slice(0, 2000));
    } catch (e: any) {
      return [`(could not read the log of ${of.namespace}/${of.pod} ${of.container}: ${e?.message ?? e})`];
    }
  }

  /** Sends a report unless the same one was the last sent for this release. */
  async send(report: RolloutStatusReport): Promise<void> {
    const key = `${report.environment}/${report.service}/${report.artifactId}`;
    const body = JSON.stringify(report);
    if (this.lastSent.get(key) === body) {
      this.stats.duplicatesSkipped++;
      return;
    }
    this.lastSent.set(key, body);
    await this.acquire();
    try {
      await this.deliver(key, body);
    } finally {
      this.release();
    }
  }

  private async acquire() {
    if (this.inFlight < (this.options.maxInFlight ?? 8)) {
      this.inFlight++;
      return;
    }
    await new Promise<void>(resolve => this.waiting.push(resolve));
  }

  private release() {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  private async deliver(key: string, body: string): Promise<void> {
    const doFetch = this.options.fetchImpl ?? fetch;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const res = await doFetch(`${this.options.releaseManagerUrl.replace(/\/+$/, '')}/api/release-manager/status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.token}` },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        if (res.ok) {
          this.stats.delivered++;
          return;
        }
        if (res.status >= 400 && res.status < 500) {
          // not retried: the release manager refused it (unknown release, not allowed)
          this.stats.failedDeliveries++;
          this.log.warn(`status report for ${key} refused: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
          return;
        }
      } catch (e: any) {
        if (attempt === 3) this.log.warn(`status report for ${key} failed: ${e?.message ?? e}`);
      }
      await new Promise(r => setTimeout(r, 200 * 2 ** attempt));
    }
    this.stats.failedDeliveries++;
    if (this.lastSent.get(key) === body) this.lastSent.delete(key); // let the next observation try again
  }

  /**
   * An HTTP handler for Flux notification-controller's generic webhook provider (`Provider`
   * type `generic`, address `http://<agent>/flux`): a failed Kustomization reconciliation is
   * reported as a failed rollout of the service's current release in this environment.
   */
  fluxHandler(): http.RequestListener {
    return (req, res) => {
      if (req.method !== 'POST' || req.url !== '/flux') {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 256 * 1024) chunks.push(c);
      });
      req.on('end', async () => {
        let event: any;
        try {
          event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400).end('body must be a Flux event (JSON)');
          return;
        }
        const failure = fluxFailure(event);
        const environment = this.options.environment;
        if (!failure || !environment) {
          res.writeHead(202).end();
          return;
        }
        try {
          const artifactId = await this.currentArtifact(failure.service, environment);
          if (artifactId) {
            await this.send({ service: failure.service, environment, artifactId, state: 'failed', reason: failure.reason, message: failure.message });
          }
          res.writeHead(202).end();
        } catch (e: any) {
          res.writeHead(502).end(String(e?.message ?? e));
        }
      });
    };
  }

  private async currentArtifact(service: string, environment: string): Promise<string | undefined> {
    const doFetch = this.options.fetchImpl ?? fetch;
    const res = await doFetch(
      `${this.options.releaseManagerUrl.replace(/\/+$/, '')}/api/release-manager/services/${encodeURIComponent(service)}/status`,
      { headers: { authorization: `Bearer ${this.options.token}` }, signal: AbortSignal.timeout(10_000) },
    );
    if (!res.ok) return undefined;
    const statuses: any[] = await res.json();
    return statuses.find(s => s.environment === environment)?.release?.artifactId;
  }
}
