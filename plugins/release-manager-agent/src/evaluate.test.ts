import { ARTIFACT_ID_ANNOTATION, SERVICE_ANNOTATION } from '@devplane/plugin-release-manager-common';
import { evaluate, fluxFailure } from './evaluate';

const annotations = { [ARTIFACT_ID_ANNOTATION]: 'main-a-b', [SERVICE_ANNOTATION]: 'ledger' };
const pod = (containerStatus: any) => ({ metadata: { name: 'p', namespace: 'ns', annotations }, status: { containerStatuses: [{ name: 'c', restartCount: 2, ...containerStatus }] } });

describe('evaluate', () => {
  it('ignores objects without the release manager annotation', () => {
    expect(evaluate('Deployment', { metadata: { name: 'x' }, spec: {}, status: {} }, 'dev')).toBeUndefined();
  });

  it('reports a missing secret key from CreateContainerConfigError', () => {
    const o = evaluate('Pod', pod({ state: { waiting: { reason: 'CreateContainerConfigError', message: 'couldn\'t find key DATABASE_URL in Secret ns/db' } } }), 'dev');
    expect(o?.report).toMatchObject({ environment: 'dev', state: 'failed', reason: 'CreateContainerConfigError' });
    expect(o?.report.message).toContain('DATABASE_URL');
    expect(o?.logsOf).toBeUndefined();
  });

  it('reports OOMKilled with the container log to fetch', () => {
    const o = evaluate('Pod', pod({ lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } }, state: { running: {} } }), 'dev');
    expect(o?.report).toMatchObject({ state: 'failed', reason: 'OOMKilled' });
    expect(o?.logsOf).toEqual({ namespace: 'ns', pod: 'p', container: 'c' });
  });

  it('reports failed and completed Jobs, and DaemonSet readiness', () => {
    const job = (conditions: any[]) => ({ metadata: { name: 'migrate', namespace: 'ns', annotations }, status: { conditions } });
    expect(evaluate('Job', job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]), 'dev')?.report).toMatchObject({ state: 'failed', reason: 'JobFailed' });
    expect(evaluate('Job', job([{ type: 'Complete', status: 'True' }]), 'dev')?.report.state).toBe('succeeded');
    const ds = { metadata: { name: 'd', namespace: 'ns', annotations, generation: 2 }, status: { observedGeneration: 2, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3 } };
    expect(evaluate('DaemonSet', ds, 'dev')?.report).toMatchObject({ state: 'succeeded', ready: 3, desired: 3 });
    expect(evaluate('DaemonSet', { ...ds, status: { ...ds.status, observedGeneration: 1 } }, 'dev')?.report.state).toBe('progressing');
  });

  it('maps a failed Flux Kustomization reconciliation to its service', () => {
    expect(fluxFailure({ severity: 'error', reason: 'ReconciliationFailed', message: 'Deployment/ledger dry-run failed', involvedObject: { kind: 'Kustomization', name: 'ledger', namespace: 'flux-system' } })).toEqual({
      service: 'ledger',
      reason: 'ReconciliationFailed',
      message: 'Flux Kustomization flux-system/ledger: Deployment/ledger dry-run failed',
    });
    expect(fluxFailure({ severity: 'info', involvedObject: { kind: 'Kustomization', name: 'ledger' } })).toBeUndefined();
    expect(fluxFailure({ severity: 'error', involvedObject: { kind: 'Kustomization', name: '../x' } })).toBeUndefined();
  });
});
