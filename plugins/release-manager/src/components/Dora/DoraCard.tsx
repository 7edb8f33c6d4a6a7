import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { identityApiRef, useApi } from '@backstage/core-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import { catalogApiRef, useEntity } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Grid from '@material-ui/core/Grid';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import ToggleButton from '@material-ui/lab/ToggleButton';
import ToggleButtonGroup from '@material-ui/lab/ToggleButtonGroup';
import type { DoraDay, DoraReport } from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../../api';
import { serviceNameOf } from '../helpers';

/** What a card shows: one service or one squad. */
export type DoraScope = { service: string } | { squad: string };

/** Reads `GET /api/release-manager/dora`. */
export function useDoraReport(scope: DoraScope, days: number) {
  const api = useApi(releaseManagerApiRef);
  const key = 'service' in scope ? `service:${scope.service}` : `squad:${scope.squad}`;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useAsync(() => api.getDora(scope, days), [api, key, days]);
}

/** Hours as people read them: minutes under an hour, else hours with one decimal. */
export function formatHours(hours: number | undefined): string {
  if (hours === undefined) return '–';
  if (hours < 1) return `${Math.round(hours * 60)} min`;
  return `${Math.round(hours * 10) / 10} h`;
}

function Tile(props: { label: string; value: string; detail: string; testId: string }) {
  return (
    <Grid item xs={6} md={3}>
      <Typography variant="caption" color="textSecondary">
        {props.label}
      </Typography>
      <Typography variant="h5" data-testid={`dora-${props.testId}`}>
        {props.value}
      </Typography>
      <Typography variant="caption" color="textSecondary" data-testid={`dora-${props.testId}-detail`}>
        {props.detail}
      </Typography>
    </Grid>
  );
}

/** Daily production deployments as bars; the failed part of each day in red. */
export function DoraBars(props: { daily: DoraDay[] }) {
  const { daily } = props;
  const width = 600;
  const height = 80;
  const max = Math.max(1, ...daily.map(d => d.deployments));
  const slot = width / Math.max(1, daily.length);
  const bar = Math.max(1, slot * 0.7);
  return (
    <svg
      viewBox={`0 0 ${width} ${height + 14}`}
      width="100%"
      role="img"
      aria-label={`Production deployments per day, ${daily[0]?.day ?? ''} to ${daily[daily.length - 1]?.day ?? ''}`}
      data-testid="dora-chart"
    >
      <line x1={0} y1={height} x2={width} y2={height} stroke="#9e9e9e" strokeWidth={1} />
      {daily.map((d, i) => {
        const h = (d.deployments / max) * (height - 4);
        const f = (d.failures / max) * (height - 4);
        const x = i * slot + (slot - bar) / 2;
        return (
          <g key={d.day} data-testid={d.deployments ? `dora-bar-${d.day}` : undefined}>
            <title>{`${d.day}: ${d.deployments} deployment${d.deployments === 1 ? '' : 's'}, ${d.failures} failed`}</title>
            {d.deployments > 0 && <rect x={x} y={height - h} width={bar} height={h} fill="#2e7d32" />}
            {d.failures > 0 && <rect x={x} y={height - f} width={bar} height={f} fill="#c62828" />}
          </g>
        );
      })}
      <text x={0} y={height + 12} fontSize={10} fill="#757575">
        {daily[0]?.day}
      </text>
      <text x={width} y={height + 12} fontSize={10} fill="#757575" textAnchor="end">
        {daily[daily.length - 1]?.day}
      </text>
    </svg>
  );
}

/** The numbers and the chart of one report. */
export function DoraReportView(props: { report: DoraReport }) {
  const { report } = props;
  const m = report.metrics;
  const cfr = m.changeFailureRate;
  return (
    <Box data-testid="dora-report">
      <Grid container spacing={2}>
        <Tile
          testId="deployments"
          label="Deployments"
          value={String(m.deploymentFrequency.deployments)}
          detail={`${m.deploymentFrequency.perWeek} a week`}
        />
        <Tile
          testId="lead-time"
          label="Lead time (median)"
          value={formatHours(m.leadTime.medianHours)}
          detail={`p90 ${formatHours(m.leadTime.p90Hours)} · ${m.leadTime.count} measured${
            m.leadTime.unknown ? `, ${m.leadTime.unknown} without commit time` : ''
          }`}
        />
        <Tile
          testId="change-failure-rate"
          label="Change failure rate"
          value={cfr.rate === undefined ? '–' : `${Math.round(cfr.rate * 1000) / 10}%`}
          detail={`${cfr.failed} of ${cfr.deployments} (${cfr.byRollback} rolled back, ${cfr.byIncident} incident)`}
        />
        <Tile
          testId="time-to-restore"
          label="Time to restore (median)"
          value={formatHours(m.timeToRestore.medianHours)}
          detail={`p90 ${formatHours(m.timeToRestore.p90Hours)} · ${m.timeToRestore.count} restored${
            m.timeToRestore.openIncidents ? `, ${m.timeToRestore.openIncidents} open` : ''
          }`}
        />
      </Grid>
      <Box mt={2}>
        <DoraBars daily={m.daily} />
      </Box>
      {m.deploymentFrequency.deployments === 0 && (
        <Typography color="textSecondary" data-testid="dora-empty">
          No production deployments in the last {m.days} days
          {report.services.length === 0 ? ' (no services found for this squad)' : ''}.
        </Typography>
      )}
      {report.incidents.warnings.map(w => (
        <Typography key={w} variant="caption" color="error" display="block" data-testid="dora-warning">
          {w}
        </Typography>
      ))}
      <Typography variant="caption" color="textSecondary" display="block">
        Production ({report.environments.join(', ')}); a deployment fails when a rollback or an incident follows
        within {m.failureWindowHours} h.
      </Typography>
    </Box>
  );
}

function WindowToggle(props: { days: number; onChange: (days: number) => void }) {
  return (
    <ToggleButtonGroup
      size="small"
      exclusive
      value={props.days}
      onChange={(_e, v) => v && props.onChange(v)}
      aria-label="window"
    >
      <ToggleButton value={30} data-testid="dora-30">30 days</ToggleButton>
      <ToggleButton value={90} data-testid="dora-90">90 days</ToggleButton>
    </ToggleButtonGroup>
  );
}

function DoraBody(props: { scope: DoraScope; days: number }) {
  const { value, loading, error } = useDoraReport(props.scope, props.days);
  if (error) return <ResponseErrorPanel error={error} />;
  if (loading || !value) return <Progress />;
  return <DoraReportView report={value} />;
}

/** DORA metrics of a service or a squad over 30 or 90 days. */
export function DoraCard(props: { scope: DoraScope; title?: string }) {
  const [days, setDays] = useState(30);
  const name = 'service' in props.scope ? props.scope.service : props.scope.squad;
  return (
    <InfoCard
      title={props.title ?? 'DORA metrics'}
      subheader={`${name}, last ${days} days`}
      action={<WindowToggle days={days} onChange={setDays} />}
    >
      <DoraBody scope={props.scope} days={days} />
    </InfoCard>
  );
}

/**
 * Home page widget: DORA metrics of the signed-in person's squads (their Group memberships in
 * the catalog), one at a time.
 */
export function HomeDoraContent() {
  const catalogApi = useApi(catalogApiRef);
  const identityApi = useApi(identityApiRef);
  const [picked, setPicked] = useState<string | undefined>();
  const [days, setDays] = useState(30);
  const squads = useAsync(async () => {
    const { userEntityRef } = await identityApi.getBackstageIdentity();
    const user = await catalogApi.getEntityByRef(userEntityRef);
    return (user?.relations ?? [])
      .filter(r => r.type === 'memberOf')
      .map(r => parseEntityRef(r.targetRef))
      .filter(r => r.kind.toLocaleLowerCase('en-US') === 'group')
      .map(r => r.name)
      .sort();
  }, [catalogApi, identityApi]);
  if (squads.error) return <ResponseErrorPanel error={squads.error} />;
  if (squads.loading || !squads.value) return <Progress />;
  if (squads.value.length === 0) {
    return (
      <Typography color="textSecondary" data-testid="dora-no-squad">
        You are not a member of any squad in the catalog, so there are no squad metrics to show. Open a service's
        Releases tab for its own.
      </Typography>
    );
  }
  const squad = picked && squads.value.includes(picked) ? picked : squads.value[0];
  return (
    <Box>
      <Box display="flex" alignItems="center" justifyContent="space-between" mb={1}>
        <TextField
          select
          size="small"
          label="Squad"
          value={squad}
          onChange={e => setPicked(e.target.value)}
          SelectProps={{ native: true }}
          inputProps={{ 'data-testid': 'dora-squad' }}
        >
          {squads.value.map(s => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </TextField>
        <WindowToggle days={days} onChange={setDays} />
      </Box>
      <DoraBody scope={{ squad }} days={days} />
    </Box>
  );
}

/** Releases tab: the service's DORA metrics. */
export function EntityDoraCard() {
  const { entity } = useEntity();
  return <DoraCard scope={{ service: serviceNameOf(entity) }} />;
}

/** Group page: the squad's DORA metrics. */
export function GroupDoraCard() {
  const { entity } = useEntity();
  return <DoraCard scope={{ squad: entity.metadata.name }} />;
}
