import { useEffect, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { storageApiRef, useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { useSignal } from '@backstage/plugin-signals-react';
import Chip from '@material-ui/core/Chip';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import { Release } from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { relativeTime, releaseOutcome, testId } from './helpers';

const DAY_MS = 24 * 60 * 60 * 1000;
const outcomeColors = {
  released: '#2e7d32',
  'rolled back': '#ef6c00',
  failed: '#c62828',
};

/**
 * The user's previous visit of a since-yesterday view (default: 24 hours ago),
 * read once; the current visit is stored for next time.
 */
export function useLastVisit(key: string): Date {
  const storage = useApi(storageApiRef).forBucket('release-manager');
  const storageKey = `last-visit.${key}`;
  const [since] = useState(() => {
    const stored = storage.snapshot<string>(storageKey).value;
    const parsed = stored ? Date.parse(stored) : NaN;
    return Number.isNaN(parsed) ? new Date(Date.now() - DAY_MS) : new Date(parsed);
  });
  useEffect(() => {
    storage.set(storageKey, new Date().toISOString());
  }, [storage, storageKey]);
  return since;
}

/** Releases of the given teams since the user's last visit, newest first. */
export function SinceYesterdayList(props: { teams: string[]; visitKey: string }) {
  const { teams, visitKey } = props;
  const api = useApi(releaseManagerApiRef);
  const since = useLastVisit(visitKey);
  const teamsKey = teams.join(',');
  // Any release anywhere may concern these teams: refresh on the global channel.
  const { lastSignal } = useSignal('release-manager');

  const { value, loading, error } = useAsync(async () => {
    const lists = await Promise.all(
      teams.map(team => api.getTeamReleases(team, since)),
    );
    return lists
      .flat()
      .sort((a, b) => Date.parse(b.releasedAt) - Date.parse(a.releasedAt));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, teamsKey, since, lastSignal]);

  if (loading && !value) return <Progress />;
  if (error) return <ResponseErrorPanel error={error} />;

  const sinceText = `since ${relativeTime(since.toISOString())}`;
  if (teams.length === 0) {
    return (
      <Typography color="textSecondary" data-testid="since-yesterday-no-team">
        You are not a member of any team yet.
      </Typography>
    );
  }
  if (!value || value.length === 0) {
    return (
      <Typography color="textSecondary" data-testid="since-yesterday-empty">
        Nothing was released, rolled back or failed {sinceText}.
      </Typography>
    );
  }
  return (
    <>
      <Typography variant="caption" color="textSecondary">
        {value.length} change{value.length === 1 ? '' : 's'} {sinceText}
      </Typography>
      <List dense data-testid="since-yesterday-list">
        {value.map((release: Release) => {
          const outcome = releaseOutcome(release);
          return (
            <ListItem
              key={`${release.id}-${release.environment}`}
              data-testid={`since-yesterday-item-${testId(release.id)}`}
            >
              <Chip
                size="small"
                label={outcome}
                style={{
                  backgroundColor: outcomeColors[outcome],
                  color: '#fff',
                  marginRight: 8,
                  minWidth: 88,
                }}
              />
              <ListItemText
                primary={`${release.service} → ${release.environment}: ${release.artifactId}`}
                secondary={`${release.releasedBy} · ${relativeTime(release.releasedAt)}${
                  outcome === 'failed' && release.rollout.message
                    ? ` · ${release.rollout.message}`
                    : ''
                }`}
              />
            </ListItem>
          );
        })}
      </List>
    </>
  );
}

/** Group page card: what happened to the group's services since the last visit. */
export function EntitySinceYesterdayCard() {
  const { entity } = useEntity();
  const team = entity.metadata.name;
  return (
    <InfoCard title="Since yesterday" subheader={`Releases of ${team}'s services`}>
      <SinceYesterdayList teams={[team]} visitKey={`team.${team}`} />
    </InfoCard>
  );
}
