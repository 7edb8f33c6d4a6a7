import useAsync from 'react-use/esm/useAsync';
import { useCallback, useEffect, useState } from 'react';
import {
  EmptyState,
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  EntityRefLink,
  catalogApiRef,
  useEntity,
} from '@backstage/plugin-catalog-react';
import { useSignal } from '@backstage/plugin-signals-react';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import {
  Environment,
  EnvironmentStatus,
  Release,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { RolloutStatus } from './common';
import {
  firstLine,
  intentLabels,
  orderEnvironments,
  relativeTime,
  serviceNameOf,
  shortSha,
  testId,
} from './helpers';

function useRefreshOnSignal(channel: string) {
  const [refreshKey, setRefreshKey] = useState(0);
  const { lastSignal } = useSignal(channel);
  useEffect(() => {
    if (lastSignal) setRefreshKey(k => k + 1);
  }, [lastSignal]);
  return refreshKey;
}

/** One line per environment: the version running there and its rollout health. */
export function EnvironmentHealthRows(props: {
  environments: Environment[];
  statuses: EnvironmentStatus[];
}) {
  const rows = orderEnvironments(props.environments, props.statuses);
  return (
    <Table size="small" aria-label="what runs in each environment">
      <TableHead>
        <TableRow>
          <TableCell>Environment</TableCell>
          <TableCell>Running</TableCell>
          <TableCell>Released</TableCell>
          <TableCell>Rollout</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {rows.map(({ environment, status }) => {
          const artifact = status?.artifact;
          const release = status?.release;
          return (
            <TableRow
              key={environment.name}
              data-testid={`health-${testId(environment.name)}`}
            >
              <TableCell>
                {environment.name}{' '}
                {environment.production && (
                  <Chip size="small" color="secondary" label="production" />
                )}
              </TableCell>
              <TableCell>
                {artifact ? (
                  <>
                    <Typography variant="body2" component="div">
                      {artifact.branch}@{shortSha(artifact.sha)}
                    </Typography>
                    <Typography
                      variant="caption"
                      color="textSecondary"
                      component="div"
                    >
                      {firstLine(artifact.message)}
                    </Typography>
                  </>
                ) : (
                  <Typography variant="body2" color="textSecondary">
                    nothing released
                  </Typography>
                )}
              </TableCell>
              <TableCell>
                {release ? (
                  <Typography variant="body2" component="div">
                    {relativeTime(release.releasedAt)} by {release.releasedBy}
                  </Typography>
                ) : (
                  '—'
                )}
              </TableCell>
              <TableCell>
                {release ? <RolloutStatus rollout={release.rollout} /> : '—'}
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

function LastChanges(props: { releases: Release[] }) {
  if (!props.releases.length) {
    return (
      <Typography variant="body2" color="textSecondary">
        No releases yet.
      </Typography>
    );
  }
  return (
    <Box component="ul" m={0} pl={2} aria-label="last changes">
      {props.releases.map(r => (
        <li key={r.id}>
          <Typography variant="body2">
            <b>{intentLabels[r.intent] ?? r.intent}</b> {r.artifactId} to{' '}
            {r.environment} · {relativeTime(r.releasedAt)} by {r.releasedBy}
            {r.reason ? ` — ${r.reason}` : ''}
          </Typography>
        </li>
      ))}
    </Box>
  );
}

/**
 * The overview card of a service: what runs in each environment with its rollout health, and the
 * last changes. Read-only; releasing happens on the Releases tab.
 */
export function EntityReleaseHealthCard() {
  const { entity } = useEntity();
  const service = serviceNameOf(entity);
  const api = useApi(releaseManagerApiRef);
  const refreshKey = useRefreshOnSignal(`release-manager:${service}`);
  const state = useAsync(async () => {
    const [environments, statuses, releases] = await Promise.all([
      api.getEnvironments(),
      api.getStatus(service),
      api.getReleases(service, { limit: 3 }),
    ]);
    return { environments, statuses, releases: releases.items };
  }, [api, service, refreshKey]);

  return (
    <InfoCard
      title="What runs where"
      subheader="From the release manager (the config repo is the truth)"
      deepLink={{
        title: 'Release, promote or roll back',
        link: `/catalog/${entity.metadata.namespace ?? 'default'}/${entity.kind.toLocaleLowerCase(
          'en-US',
        )}/${entity.metadata.name}/releases`,
      }}
    >
      <Box data-testid="release-health-card">
        {state.loading && !state.value && <Progress />}
        {state.error && <ResponseErrorPanel error={state.error} />}
        {state.value && (
          <>
            <EnvironmentHealthRows
              environments={state.value.environments}
              statuses={state.value.statuses}
            />
            <Box mt={2}>
              <Typography variant="subtitle2">Last changes</Typography>
              <LastChanges releases={state.value.releases} />
            </Box>
          </>
        )}
      </Box>
    </InfoCard>
  );
}

/** Health of one service in a squad table: each environment's rollout state in one cell. */
function ServiceHealthCells(props: {
  entity: Entity;
  environments: Environment[];
}) {
  const api = useApi(releaseManagerApiRef);
  const service = serviceNameOf(props.entity);
  const refreshKey = useRefreshOnSignal(`release-manager:${service}`);
  const state = useAsync(() => api.getStatus(service), [api, service, refreshKey]);
  return (
    <>
      {props.environments.map(env => {
        const status = state.value?.find(s => s.environment === env.name);
        return (
          <TableCell key={env.name}>
            {state.loading && !state.value && '…'}
            {state.error && (
              <Typography variant="caption" color="error">
                unavailable
              </Typography>
            )}
            {state.value &&
              (status?.release && status.artifact ? (
                <Box>
                  <Typography variant="caption" component="div">
                    {status.artifact.branch}@{shortSha(status.artifact.sha)}
                  </Typography>
                  <RolloutStatus rollout={status.release.rollout} />
                </Box>
              ) : (
                <Typography variant="caption" color="textSecondary">
                  —
                </Typography>
              ))}
          </TableCell>
        );
      })}
    </>
  );
}

/** The group page's card: the squad's services and how each runs in every environment. */
export function GroupServicesHealthCard() {
  const { entity } = useEntity();
  const catalogApi = useApi(catalogApiRef);
  const api = useApi(releaseManagerApiRef);
  const groupRef = stringifyEntityRef(entity);
  const state = useAsync(async () => {
    const [environments, owned] = await Promise.all([
      api.getEnvironments(),
      catalogApi.getEntities({
        filter: { kind: 'component', 'relations.ownedBy': groupRef },
        fields: ['kind', 'metadata', 'spec.type', 'relations'],
      }),
    ]);
    const services = owned.items
      .filter(e => (e.spec as { type?: string } | undefined)?.type !== 'documentation')
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    return {
      environments: [...environments].sort((a, b) => a.order - b.order),
      services,
    };
  }, [api, catalogApi, groupRef]);
  const renderRow = useCallback(
    (service: Entity, environments: Environment[]) => (
      <TableRow
        key={service.metadata.name}
        data-testid={`squad-service-${testId(service.metadata.name)}`}
      >
        <TableCell>
          <EntityRefLink entityRef={service} />
        </TableCell>
        <ServiceHealthCells entity={service} environments={environments} />
      </TableRow>
    ),
    [],
  );

  return (
    <InfoCard title="Services and their health" subheader="What runs in each environment">
      <Box data-testid="squad-health-card">
        {state.loading && <Progress />}
        {state.error && <ResponseErrorPanel error={state.error} />}
        {state.value && state.value.services.length === 0 && (
          <EmptyState
            missing="data"
            title="This group owns no services"
            description={
              <>
                Services are owned through <code>vars.squad</code> in their{' '}
                <code>shuttle.yaml</code>. Create one with the{' '}
                <Link to="/create">golden path</Link>.
              </>
            }
          />
        )}
        {state.value && state.value.services.length > 0 && (
          <Table size="small" aria-label="services of the squad">
            <TableHead>
              <TableRow>
                <TableCell>Service</TableCell>
                {state.value.environments.map(env => (
                  <TableCell key={env.name}>{env.name}</TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {state.value.services.map(s =>
                renderRow(s, state.value!.environments),
              )}
            </TableBody>
          </Table>
        )}
      </Box>
    </InfoCard>
  );
}
