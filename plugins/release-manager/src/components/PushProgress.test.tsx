import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/test-utils';
import { ReleasesContent } from './ReleasesContent';
import {
  Providers,
  componentEntity,
  makeRelease,
  masterNew,
  mockReleaseManagerApi,
  statuses,
} from '../__testUtils__';

describe('push progress and simulated rollouts on the Releases tab', () => {
  it('lists pushes with their steps, the no-image note and a refusal reason', async () => {
    const api = mockReleaseManagerApi();
    const at = new Date().toISOString();
    api.getPushes.mockResolvedValue({
      items: [
        {
          id: '1',
          service: 'payment-gateway',
          repo: 'payment-gateway',
          branch: 'main',
          sha: 'abcdef1234'.padEnd(40, '0'),
          pusher: 'user:default/anna',
          source: 'local-git-host',
          artifactId: 'main-abcdef1234-0000000000',
          state: 'released',
          imageBuilt: false,
          createdAt: at,
          updatedAt: at,
          steps: [
            { step: 'received', status: 'done', message: 'received', at },
            { step: 'artifact', status: 'done', message: 'created', at },
            { step: 'release:dev', status: 'done', message: 'Auto-released', at },
          ],
        },
        {
          id: '2',
          service: 'payment-gateway',
          repo: 'payment-gateway',
          branch: 'main',
          sha: '9999999999'.padEnd(40, '1'),
          pusher: 'user:default/anna',
          source: 'local-git-host',
          state: 'refused',
          imageBuilt: false,
          createdAt: at,
          updatedAt: at,
          steps: [
            { step: 'received', status: 'done', message: 'received', at },
            { step: 'artifact', status: 'refused', message: 'k8s/x.yaml uses {{ .Vars.nope }}', at },
          ],
        },
      ],
    });
    await renderInTestApp(
      <Providers api={api} entity={componentEntity}>
        <ReleasesContent />
      </Providers>,
    );
    expect(await screen.findByText(/No container image is built by the embedded git host/)).toBeInTheDocument();
    expect(screen.getByTestId('push-step-release-dev-done')).toHaveTextContent('release to dev: done');
    expect(screen.getByTestId('push-step-artifact-refused')).toBeInTheDocument();
    expect(screen.getByText('k8s/x.yaml uses {{ .Vars.nope }}')).toBeInTheDocument();
  });

  it('marks simulated rollouts and shows a crash reason with its log lines', async () => {
    const api = mockReleaseManagerApi();
    api.getStatus.mockResolvedValue([
      {
        ...statuses[0],
        release: makeRelease(masterNew, 'dev', {
          rollout: {
            state: 'failed',
            ready: 0,
            desired: 2,
            reason: 'CrashLoopBackOff',
            simulated: true,
            logLines: ['[simulated] panic: boom'],
          },
        }),
      },
      statuses[1],
      statuses[2],
    ]);
    await renderInTestApp(
      <Providers api={api} entity={componentEntity}>
        <ReleasesContent />
      </Providers>,
    );
    expect(await screen.findByTestId('rollout-status-dev-simulated')).toHaveTextContent('simulated');
    expect(screen.getByTestId('rollout-status-dev-log-lines')).toHaveTextContent('[simulated] panic: boom');
    expect(screen.queryByTestId('rollout-status-staging-simulated')).not.toBeInTheDocument();
  });
});
