import { ReactNode, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { InfoCard, Link, Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useSignal } from '@backstage/plugin-signals-react';
import Box from '@material-ui/core/Box';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import type { Release, SinceYesterdayReport } from '@devplane/plugin-release-manager-common';
import { relativeTime, releaseOutcome } from '../helpers';
import { useLastVisit } from '../SinceYesterday';
import { ApprovalsWaitingForMe } from '../Approvals';
import { releaseManagerApiRef } from '../../api';

function Section(props: { title: string; count: number; testId: string; children?: ReactNode }) {
  return (
    <Box mt={1} data-testid={`since-${props.testId}`}>
      <Typography variant="subtitle2">
        {props.title} ({props.count})
      </Typography>
      {props.count === 0 ? (
        <Typography variant="body2" color="textSecondary">
          none
        </Typography>
      ) : (
        props.children
      )}
    </Box>
  );
}

function ReleaseLine(props: { release: Release }) {
  const r = props.release;
  return (
    <Box data-testid={`since-release-${r.id.slice(0, 12)}`}>
      <Typography variant="body2">
        <Link to={`/catalog/default/component/${r.service}/releases`}>{r.service}</Link> → {r.environment}:{' '}
        {r.artifactId} · {r.releasedBy} · {relativeTime(r.releasedAt)}
      </Typography>
      {releaseOutcome(r) === 'failed' && (
        <Box component="pre" m={0} fontSize={12} style={{ whiteSpace: 'pre-wrap', color: '#c62828' }}>
          {[r.rollout.reason ?? r.rollout.message ?? 'rollout failed', ...(r.rollout.logLines ?? []).slice(-5)].join('\n')}
        </Box>
      )}
    </Box>
  );
}

/**
 * Home page "Since yesterday": the signed-in person's squads (catalog memberships, all squads
 * for platform; filterable) since their last visit: releases, rollbacks, failed rollouts with
 * their crash lines, incidents, and the approvals waiting for them. Every section is shown with
 * its count, also when empty.
 */
export function HomeSinceYesterdayContent() {
  const api = useApi(releaseManagerApiRef);
  const since = useLastVisit('home');
  const [squad, setSquad] = useState('');
  const { lastSignal } = useSignal('release-manager');
  const report = useAsync(
    (): Promise<SinceYesterdayReport> => api.getSinceYesterday(since, squad || undefined),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, since, squad, lastSignal],
  );
  const [allSquads, setAllSquads] = useState<string[] | undefined>();
  if (report.value && !squad && allSquads === undefined) setAllSquads(report.value.squads.map(s => s.name));

  if (report.error) return <ResponseErrorPanel error={report.error} />;
  if (!report.value) return <Progress />;
  const r = report.value;
  if (!squad && r.squads.length === 0) {
    return (
      <Box>
        <Typography color="textSecondary" data-testid="since-yesterday-no-squad">
          You belong to no squad that owns services (your Group memberships in the catalog), so there is nothing
          to follow here yet. Ask your team lead to add you to your squad's Group.
        </Typography>
        <ApprovalsWaitingForMe />
      </Box>
    );
  }
  const released = r.releases.filter(x => releaseOutcome(x) === 'released');
  const rolledBack = r.releases.filter(x => releaseOutcome(x) === 'rolled back');
  const failed = r.releases.filter(x => releaseOutcome(x) === 'failed');
  const squads = allSquads ?? r.squads.map(s => s.name);
  return (
    <Box data-testid="since-yesterday-mine">
      <Box display="flex" alignItems="center" justifyContent="space-between">
        <Typography variant="caption" color="textSecondary">
          {r.releases.length + r.incidents.length} change{r.releases.length + r.incidents.length === 1 ? '' : 's'}{' '}
          since {relativeTime(r.since)} · {r.platform ? 'platform: all squads' : `squads: ${squads.join(', ')}`}
        </Typography>
        <TextField
          select
          size="small"
          label="Squad"
          value={squad}
          onChange={e => setSquad(e.target.value)}
          SelectProps={{ native: true }}
          inputProps={{ 'data-testid': 'since-squad' }}
        >
          <option value="">{r.platform ? 'All squads' : 'All my squads'}</option>
          {squads.map(s => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </TextField>
      </Box>
      <Section title="Releases" count={released.length} testId="releases">
        {released.map(x => <ReleaseLine key={`${x.id}-${x.environment}`} release={x} />)}
      </Section>
      <Section title="Rollbacks" count={rolledBack.length} testId="rollbacks">
        {rolledBack.map(x => <ReleaseLine key={`${x.id}-${x.environment}`} release={x} />)}
      </Section>
      <Section title="Failed rollouts" count={failed.length} testId="failed">
        {failed.map(x => <ReleaseLine key={`${x.id}-${x.environment}`} release={x} />)}
      </Section>
      <Section title="Incidents" count={r.incidents.length} testId="incidents">
        {r.incidents.map(i => (
          <Typography key={i.id} variant="body2">
            {i.service}: {i.title ?? i.id} · {i.status ?? (i.resolvedAt ? 'resolved' : 'open')} ·{' '}
            {relativeTime(i.openedAt)}
          </Typography>
        ))}
      </Section>
      {r.warnings.map(w => (
        <Typography key={w} variant="caption" color="error" display="block">
          {w}
        </Typography>
      ))}
      <Box mt={1}>
        <ApprovalsWaitingForMe />
      </Box>
    </Box>
  );
}

/** Legacy home page card. */
export function HomeSinceYesterdayCard() {
  return (
    <InfoCard title="Since yesterday">
      <HomeSinceYesterdayContent />
    </InfoCard>
  );
}
