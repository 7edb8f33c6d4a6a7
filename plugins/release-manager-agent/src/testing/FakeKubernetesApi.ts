import http from 'node:http';
import type { AddressInfo } from 'node:net';

const RESOURCES: Record<string, { path: string; apiVersion: string; kind: string }> = {
  Deployment: { path: '/apis/apps/v1/deployments', apiVersion: 'apps/v1', kind: 'Deployment' },
  StatefulSet: { path: '/apis/apps/v1/statefulsets', apiVersion: 'apps/v1', kind: 'StatefulSet' },
  DaemonSet: { path: '/apis/apps/v1/daemonsets', apiVersion: 'apps/v1', kind: 'DaemonSet' },
  Job: { path: '/apis/batch/v1/jobs', apiVersion: 'batch/v1', kind: 'Job' },
  Pod: { path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod' },
};

interface WatchEvent {
  rv: number;
  kind: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: any;
}

/**
 * A stand-in for the Kubernetes API server, speaking its wire contract for what the agent uses:
 * cluster-wide list (`metadata.resourceVersion`), watch (`?watch=true&resourceVersion=N`, a chunked
 * stream of `{"type","object"}` lines, `410 Gone` as an ERROR event when N is older than the kept
 * history), and the pod log endpoint. Tests change objects with {@link upsert} and can cut every
 * watch stream with {@link dropWatches} to exercise reconnects. Not a cluster: nothing is scheduled.
 */
export class FakeKubernetesApi {
  private server?: http.Server;
  private rv = 1;
  private readonly objects = new Map<string, Map<string, any>>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<{ kind: string; res: http.ServerResponse }>();
  private readonly logs = new Map<string, string>();
  /** Oldest resourceVersion a watch may resume from (older → 410 Gone). */
  private compactedTo = 0;
  readonly requests: string[] = [];

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>(r => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.dropWatches();
    await new Promise<void>(r => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Creates or replaces an object (by namespace/name); watchers get ADDED or MODIFIED. */
  upsert(kind: string, obj: any): any {
    const byKey = this.objects.get(kind) ?? new Map();
    this.objects.set(kind, byKey);
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const rv = ++this.rv;
    const stored = {
      apiVersion: RESOURCES[kind].apiVersion,
      kind,
      ...obj,
      metadata: { uid: key, ...obj.metadata, resourceVersion: String(rv) },
    };
    const type = byKey.has(key) ? 'MODIFIED' : 'ADDED';
    byKey.set(key, stored);
    this.emit({ rv, kind, type, object: stored });
    return stored;
  }

  setLog(namespace: string, pod: string, container: string, text: string) {
    this.logs.set(`${namespace}/${pod}/${container}`, text);
  }

  /** Ends every open watch stream (as an API server does on timeout or restart). */
  dropWatches() {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Forgets history up to now: a watch resuming from an older resourceVersion gets 410 Gone. */
  compact() {
    this.compactedTo = this.rv;
    this.history.length = 0;
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  private emit(e: WatchEvent) {
    this.history.push(e);
    if (this.history.length > 100_000) this.history.splice(0, 50_000);
    for (const w of this.watchers) {
      if (w.kind === e.kind) w.res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const log = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (log) {
      const text = this.logs.get(`${log[1]}/${log[2]}/${url.searchParams.get('container') ?? ''}`);
      if (text === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 }));
        return;
      }
      const tail = Number(url.searchParams.get('tailLines') ?? 0);
      const lines = text.split('\n');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(tail > 0 ? lines.slice(-tail).join('\n') : text);
      return;
    }
    const kind = Object.keys(RESOURCES).find(k => RESOURCES[k].path === url.pathname);
    if (!kind || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404 }));
      return;
    }
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      const from = Number(url.searchParams.get('resourceVersion') ?? 0);
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders(); // like the API server: headers first, events as they happen
      if (from < this.compactedTo) {
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${this.compactedTo})` } })}\n`);
        return;
      }
      for (const e of this.history) {
        if (e.kind === kind && e.rv > from) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
      }
      const w = { kind, res };
      this.watchers.add(w);
      req.on('close', () => this.watchers.delete(w));
      return;
    }
    const items = [...(this.objects.get(kind)?.values() ?? [])];
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ apiVersion: RESOURCES[kind].apiVersion, kind: `${kind}List`, metadata: { resourceVersion: String(this.rv) }, items }),
    );
  }
}
