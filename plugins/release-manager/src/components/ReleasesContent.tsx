import { useCallback, useEffect, useMemo, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import { useSignal } from '@backstage/plugin-signals-react';
import Box from '@material-ui/core/Box';
import Grid from '@material-ui/core/Grid';
import { releaseManagerApiRef } from '../api';
import { FreezeWindowView } from '@devplane/plugin-release-manager-common';
import { ArtifactTable } from './ArtifactTable';
import { FreezeWindowsBanner, PendingApprovalsPanel } from './Approvals';
import { EnvironmentCard } from './EnvironmentCard';
import { orderEnvironments, serviceNameOf } from './helpers';
import { DoraCard } from './Dora/DoraCard';
import { PoliciesPanel } from './PoliciesPanel';
import { PushProgressPanel } from './PushProgressPanel';
import { ReleaseAction, ReleaseDialog } from './ReleaseDialog';
import { ReleaseHistory } from './ReleaseHistory/ReleaseHistory';
import { RollbackDialog } from './RollbackDialog';
import { useReleaseGuard } from './useReleaseGuard';

/** The signal channel of one service. */
export function serviceChannel(service: string): string {
  return `release-manager:${service}`;
}

/**
 * True from the first task after the browser painted once `ready` became true (and from then on).
 * What the tab shows below the environment cards mounts then: rendering everything in the one
 * commit that brings the status kept the cards' promote/rollback buttons from the screen for
 * another ~250 ms of scripting on a loaded 2-core machine (docs/bench-and-reliability.md).
 */
export function useAfterPaint(ready: boolean): boolean {
  const [painted, setPainted] = useState(false);
  useEffect(() => {
    if (!ready || painted) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const later = () => {
      timer = setTimeout(() => setPainted(true), 0);
    };
    if (typeof requestAnimationFrame !== 'function') {
      later();
      return () => clearTimeout(timer);
    }
    const frame = requestAnimationFrame(later);
    return () => {
      cancelAnimationFrame(frame);
      if (timer) clearTimeout(timer);
    };
  }, [ready, painted]);
  return painted;
}

/** The "Releases" tab of a service: what runs where, artifacts, policies. */
export function ReleasesContent() {
  const { entity } = useEntity();
  const service = serviceNameOf(entity);
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(releaseManagerApiRef);
  const [refreshKey, setRefreshKey] = useState(0);
  const refresh = useCallback(() => setRefreshKey(k => k + 1), []);
  const [action, setAction] = useState<ReleaseAction>();
  const [rollback, setRollback] = useState<{
    environment: string;
    currentArtifactId?: string;
  }>();

  // Anyone releasing (CLI, CI, a policy, another browser) refreshes this page.
  const { lastSignal } = useSignal(serviceChannel(service));
  useEffect(() => {
    if (lastSignal) refresh();
  }, [lastSignal, refresh]);

  const overview = useAsync(async () => {
    const [environments, statuses] = await Promise.all([
      api.getEnvironments(),
      api.getStatus(service),
    ]);
    return { environments, statuses };
  }, [api, service, refreshKey]);
  // Freeze windows in force or within two weeks: the banner and each environment card.
  const freezes = useAsync(
    () => api.getFreezeWindows({ service, days: 14 }),
    [api, service, refreshKey],
  );
  const policies = useAsync(
    () => api.getPolicies(service),
    [api, service, refreshKey],
  );

  const ordered = useMemo(
    () =>
      overview.value
        ? orderEnvironments(overview.value.environments, overview.value.statuses)
        : [],
    [overview.value],
  );
  const guard = useReleaseGuard(
    entityRef,
    policies.value?.branchRestrictions ?? [],
  );
  const below = useAfterPaint(!!overview.value);

  if (overview.error) {
    return <ResponseErrorPanel error={overview.error} />;
  }
  if (!overview.value) {
    return <Progress />;
  }

  return (
    <Box data-testid="releases-content">
      <Grid container spacing={3} alignItems="stretch">
        <Grid item xs={12}>
          <FreezeWindowsBanner service={service} state={freezes} />
        </Grid>
        <Grid item xs={12}>
          <PendingApprovalsPanel
            service={service}
            refreshKey={refreshKey}
            onDecided={refresh}
          />
        </Grid>
        {ordered.map(({ environment, status }, index) => (
          <Grid item xs={12} md={4} key={environment.name}>
            <EnvironmentCard
              environment={environment}
              status={status}
              next={ordered[index + 1]?.environment}
              freezes={freezesOf(freezes.value, environment.name)}
              guard={guard}
              onAction={setAction}
              onRollback={(environmentName, currentArtifactId) =>
                setRollback({ environment: environmentName, currentArtifactId })
              }
            />
          </Grid>
        ))}
        {below && (
          <>
            <Grid item xs={12}>
              <DoraCard scope={{ service }} />
            </Grid>
            <Grid item xs={12}>
              <PushProgressPanel service={service} refreshKey={refreshKey} />
            </Grid>
            <Grid item xs={12}><ReleaseHistory service={service} environments={ordered.map(o => o.environment.name)} refreshKey={refreshKey} /></Grid>
            <Grid item xs={12}>
              <ArtifactTable
                service={service}
                environments={ordered}
                guard={guard}
                onAction={setAction}
                refreshKey={refreshKey}
              />
            </Grid>
            <Grid item xs={12}>
              {policies.error && <ResponseErrorPanel error={policies.error} />}
              {!policies.value && policies.loading && <Progress />}
              {policies.value && (
                <PoliciesPanel
                  service={service}
                  entityRef={entityRef}
                  policies={policies.value}
                  environments={ordered.map(o => o.environment)}
                  onChanged={refresh}
                />
              )}
            </Grid>
          </>
        )}
      </Grid>
      {action && (
        <ReleaseDialog
          service={service}
          action={action}
          onClose={() => setAction(undefined)}
          onReleased={refresh}
        />
      )}
      {rollback && (
        <RollbackDialog
          service={service}
          environment={rollback.environment}
          currentArtifactId={rollback.currentArtifactId}
          onClose={() => setRollback(undefined)}
          onRolledBack={refresh}
        />
      )}
    </Box>
  );
}

/** The windows that freeze one environment now or soon. */
function freezesOf(
  windows: FreezeWindowView[] | undefined,
  environment: string,
): FreezeWindowView[] {
  return (windows ?? []).filter(
    w =>
      w.environments.includes(environment) &&
      (w.current || w.upcoming.length > 0),
  );
}
