import { screen } from '@testing-library/react';
import { renderInTestApp } from '@backstage/test-utils';
import { Incident } from '@devplane/plugin-oncall-common';
import { TriggerOutcome } from './TriggerIncidentDialog';

const at = '2025-01-07T12:00:00.000Z';
const incident: Incident = {
  id: 'inc-1',
  provider: 'embedded',
  entityRef: 'component:default/ledger',
  title: 'Postings duplicated',
  severity: 'critical',
  status: 'triggered',
  createdAt: at,
  triggeredBy: 'user:default/kim.ek',
  actionable: true,
};

describe('TriggerOutcome', () => {
  it('tells the second reporter that they joined the open incident', async () => {
    await renderInTestApp(
      <TriggerOutcome
        result={{
          deduplicated: true,
          joined: true,
          incident: {
            ...incident,
            reporters: ['user:default/kim.ek', 'user:default/ole.dam'],
          },
        }}
      />,
    );
    expect(screen.getByRole('alert')).toHaveTextContent(
      'This outage was already reported: you joined the open incident inc-1 (Postings duplicated), reported by kim.ek. It is triggered; nobody was paged again.',
    );
  });

  it('says the notification failed instead of "has been paged"', async () => {
    await renderInTestApp(
      <TriggerOutcome
        result={{
          deduplicated: false,
          incident: {
            ...incident,
            timeline: [
              { at, type: 'triggered', actor: 'user:default/kim.ek' },
              {
                at,
                type: 'notification-failed',
                level: 1,
                people: ['user:default/anna.jensen'],
              },
            ],
          },
        }}
      />,
    );
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent(
      'the notification to anna.jensen failed: call them directly',
    );
    expect(alert).not.toHaveTextContent('has been paged');
  });
});
