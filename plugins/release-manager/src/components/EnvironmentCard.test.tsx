import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/test-utils';
import { EnvironmentCard } from './EnvironmentCard';

describe('EnvironmentCard', () => {
  it('shows an environment changed outside the release manager with commit, pusher and paths', async () => {
    await renderInTestApp(
      <EnvironmentCard
        environment={{ name: 'prod', production: true, order: 2 }}
        status={{
          environment: 'prod',
          production: true,
          outsideChanges: [
            {
              commit: '084693d601906d7f9a8052e56612c41a60238a06',
              committedAt: '2026-12-01T05:00:00.000Z',
              pusher: 'Mallory <mallory@evil.example>',
              author: 'Mallory <mallory@evil.example>',
              subject: '[prod/ledger] release main-ffffffffff by alice',
              paths: ['prod/releases/payments/ledger/artifact.json'],
              environments: ['prod'],
              signature: 'none',
            },
          ],
        }}
        guard={() => ({ allowed: true, loading: false })}
        onAction={() => {}}
        onRollback={() => {}}
      />,
    );
    const box = await screen.findByTestId('env-outside-prod');
    expect(box.textContent).toContain('Changed outside the release manager');
    expect(box.textContent).toContain('084693d');
    expect(box.textContent).toContain('Mallory <mallory@evil.example>');
    expect(box.textContent).toContain('prod/releases/payments/ledger/artifact.json');
    expect(box.textContent).toContain('until platform reverts or adopts');
  });

  it('shows no outside warning for a normal environment', async () => {
    await renderInTestApp(
      <EnvironmentCard
        environment={{ name: 'dev', production: false, order: 0 }}
        status={{ environment: 'dev', production: false }}
        guard={() => ({ allowed: true, loading: false })}
        onAction={() => {}}
        onRollback={() => {}}
      />,
    );
    expect(await screen.findByTestId('env-empty-dev')).toBeTruthy();
    expect(screen.queryByTestId('env-outside-dev')).toBeNull();
  });
});
