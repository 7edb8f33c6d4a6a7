import {
  ARTIFACT_ID_ANNOTATION,
  ENVIRONMENT_ANNOTATION,
  SERVICE_ANNOTATION,
} from '@devplane/plugin-release-manager-common';
import { NAME_PATTERN, type RolloutStatusReport } from '@devplane/plugin-release-manager-common';

/** What the agent learns from one Kubernetes object. */
export interface Observation {
  report: RolloutStatusReport;
  /** A crashing container whose previous log should be attached: pod, namespace, container. */
  logsOf?: { namespace: string; pod: string; container: string };
}

function identity(obj: any, defaultEnvironment?: string) {
  const a = obj?.metadata?.annotations ?? {};
  const artifactId = a[ARTIFACT_ID_ANNOTATION];
  const service = a[SERVICE_ANNOTATION];
  const environment = a[ENVIRONMENT_ANNOTATION] ?? defaultEnvironment;
  if (typeof artifactId !== 'string' || typeof service !== 'string' || typeof environment !== 'string') {
    return undefined;
  }
  return { artifactId, service, environment };
}

const n = (v: unknown, d = 0) => (typeof v === 'number' && Number.isFinite(v) ? v : d);

/**
 * Reads the rollout state of an annotated Deployment, StatefulSet, DaemonSet, Job or Pod.
 * Objects without the release manager's annotations give undefined (they are not ours).
 */
export function evaluate(kind: string, obj: any, defaultEnvironment?: string): Observation | undefined {
  const id = identity(obj, defaultEnvironment);
  if (!id) return undefined;
  const status = obj.status ?? {};
  const spec = obj.spec ?? {};
  const upToDate = n(status.observedGeneration, -1) >= n(obj.metadata?.generation, 0);
  const rollout = (desired: number, ready: number, updated: number): Observation => ({
    report: {
      ...id,
      state: upToDate && updated >= desired && ready >= desired ? 'succeeded' : 'progressing',
      ready,
      desired,
      message: `${kind} ${obj.metadata?.namespace}/${obj.metadata?.name}: ${ready}/${desired} ready`,
    },
  });
  switch (kind) {
    case 'Deployment': {
      const failed = (status.conditions ?? []).find(
        (c: any) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
      );
      if (failed) {
        return {
          report: { ...id, state: 'failed', reason: 'ProgressDeadlineExceeded', ready: n(status.readyReplicas), desired: n(spec.replicas, 1), message: failed.message },
        };
      }
      return rollout(n(spec.replicas, 1), n(status.readyReplicas), n(status.updatedReplicas));
    }
    case 'StatefulSet':
      return rollout(n(spec.replicas, 1), n(status.readyReplicas), n(status.updatedReplicas));
    case 'DaemonSet':
      return rollout(n(status.desiredNumberScheduled), n(status.numberReady), n(status.updatedNumberScheduled));
    case 'Job': {
      const conditions: any[] = status.conditions ?? [];
      const failed = conditions.find(c => c.type === 'Failed' && c.status === 'True');
      if (failed) {
        return { report: { ...id, state: 'failed', reason: 'JobFailed', message: `Job ${obj.metadata?.name} failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim() } };
      }
      if (conditions.some(c => c.type === 'Complete' && c.status === 'True')) {
        return { report: { ...id, state: 'succeeded', message: `Job ${obj.metadata?.name} completed` } };
      }
      return { report: { ...id, state: 'progressing', message: `Job ${obj.metadata?.name} running` } };
    }
    case 'Pod': {
      for (const cs of (status.containerStatuses ?? []) as any[]) {
        const waiting = cs.state?.waiting;
        const lastTerminated = cs.lastState?.terminated;
        const pod = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
        if (waiting?.reason === 'CreateContainerConfigError') {
          return {
            report: { ...id, state: 'failed', reason: 'CreateContainerConfigError', message: `Pod ${pod} container ${cs.name}: ${waiting.message ?? 'configuration error'}` },
          };
        }
        if (lastTerminated?.reason === 'OOMKilled' || cs.state?.terminated?.reason === 'OOMKilled') {
          return {
            report: { ...id, state: 'failed', reason: 'OOMKilled', message: `Pod ${pod} container ${cs.name} was killed: out of memory (restarts ${n(cs.restartCount)})` },
            logsOf: { namespace: obj.metadata.namespace, pod: obj.metadata.name, container: cs.name },
          };
        }
        if (waiting?.reason === 'CrashLoopBackOff') {
          return {
            report: { ...id, state: 'failed', reason: 'CrashLoopBackOff', message: `Pod ${pod} container ${cs.name}: ${waiting.message ?? 'back-off restarting failed container'} (restarts ${n(cs.restartCount)})` },
            logsOf: { namespace: obj.metadata.namespace, pod: obj.metadata.name, container: cs.name },
          };
        }
        if (waiting?.reason === 'ImagePullBackOff' || waiting?.reason === 'ErrImagePull') {
          return { report: { ...id, state: 'failed', reason: waiting.reason, message: `Pod ${pod} container ${cs.name}: ${waiting.message ?? waiting.reason}` } };
        }
      }
      return undefined; // healthy or pending pods: the workload's own status says it
    }
    default:
      return undefined;
  }
}

/**
 * Maps a Flux notification-controller event (generic webhook provider payload) to the service it
 * concerns: Kustomizations are named after the service (see the config repo's flux/ folder).
 * Only failed reconciliations (severity error) matter.
 */
export function fluxFailure(event: any): { service: string; message: string; reason: string } | undefined {
  const obj = event?.involvedObject;
  if (event?.severity !== 'error' || obj?.kind !== 'Kustomization' || typeof obj?.name !== 'string') return undefined;
  const service = String(obj.name).replace(/^release-/, '');
  if (!NAME_PATTERN.test(service)) return undefined;
  const reason = typeof event.reason === 'string' && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(event.reason) ? event.reason : 'ReconciliationFailed';
  return { service, reason, message: `Flux ${obj.kind} ${obj.namespace ?? ''}/${obj.name}: ${String(event.message ?? '').slice(0, 3000)}` };
}
