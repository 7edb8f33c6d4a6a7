import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useDebounce from 'react-use/esm/useDebounce';
import { EmptyState, InfoCard, Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import MenuItem from '@material-ui/core/MenuItem';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import { RELEASE_INTENTS, Release, ReleaseIntent } from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../../api';
import { intentLabels, relativeTime, shortSha } from '../helpers';

export const HISTORY_PAGE_SIZE = 20;

function Outcome(props: { release: Release }) {
  const r = props.release.rollout;
  if (!r) return <>unknown</>;
  const color = r.state === 'failed' ? 'secondary' : 'default';
  const label = r.ready !== undefined && r.desired !== undefined ? `${r.state} ${r.ready}/${r.desired}` : r.state;
  return <Chip size="small" color={color} label={r.reason ? `${label} (${r.reason})` : label} />;
}

/**
 * The release history of a service on its Releases tab: every release, promotion, rollback and
 * auto-release, newest first, paged, with who, when, what, who approved and the rollout outcome,
 * filtered by environment, kind and person (`GET /services/:service/history`).
 */
export function ReleaseHistory(props: { service: string; environments: string[]; refreshKey?: number }) {
  const { service, environments } = props;
  const api = useApi(releaseManagerApiRef);
  const [environment, setEnvironment] = useState('');
  const [kind, setKind] = useState<ReleaseIntent | ''>('');
  const [personInput, setPersonInput] = useState('');
  const [person, setPerson] = useState('');
  useDebounce(() => setPerson(personInput.trim()), 300, [personInput]);
  // cursors of the pages before the current one (undefined: the first page)
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const filterKey = `${environment}|${kind}|${person}`;
  const [lastFilterKey, setLastFilterKey] = useState(filterKey);
  if (filterKey !== lastFilterKey) {
    setLastFilterKey(filterKey);
    setCursors([undefined]);
  }

  const page = useAsync(
    () =>
      api.getHistory(service, {
        environment: environment || undefined,
        kind: kind || undefined,
        actor: person || undefined,
        limit: HISTORY_PAGE_SIZE,
        cursor,
      }),
    [api, service, environment, kind, person, cursor, props.refreshKey],
  );
  const filtered = Boolean(environment || kind || person);

  let content;
  if (page.error) {
    content = <ResponseErrorPanel error={page.error} />;
  } else if (page.loading && !page.value) {
    content = <Progress />;
  } else if (!page.value || page.value.items.length === 0) {
    content = (
      <EmptyState
        missing={filtered ? 'data' : 'content'}
        title={filtered ? 'No releases match these filters' : 'No releases yet'}
        description={
          filtered
            ? 'Clear a filter to see more of the history.'
            : `Nothing has been released for ${service} yet: release an artifact below, or let an auto-release policy do it.`
        }
      />
    );
  } else {
    content = (
      <>
        <Table size="small" data-testid="release-history-table">
          <TableHead>
            <TableRow>
              <TableCell>When</TableCell>
              <TableCell>Environment</TableCell>
              <TableCell>What</TableCell>
              <TableCell>Artifact</TableCell>
              <TableCell>Who</TableCell>
              <TableCell>Approved by</TableCell>
              <TableCell>Rollout</TableCell>
              <TableCell>Commit</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {page.value.items.map(r => (
              <TableRow key={`${r.id}-${r.environment}`} data-testid={`history-row-${r.id}`}>
                <TableCell title={r.releasedAt}>{relativeTime(r.releasedAt)}</TableCell>
                <TableCell>{r.environment}</TableCell>
                <TableCell>
                  {intentLabels[r.intent]}
                  {r.promotedFrom ? ` from ${r.promotedFrom}` : ''}
                  {r.breakGlass ? (
                    <Chip size="small" color="secondary" label="break-glass" title={r.breakGlass} style={{ marginLeft: 4 }} />
                  ) : null}
                  {r.reason ? (
                    <Typography variant="caption" display="block">
                      {r.reason}
                    </Typography>
                  ) : null}
                </TableCell>
                <TableCell>{r.artifactId}</TableCell>
                <TableCell>{r.releasedBy}</TableCell>
                <TableCell>{r.approvedBy ?? '—'}</TableCell>
                <TableCell>
                  <Outcome release={r} />
                </TableCell>
                <TableCell title={r.id}>
                  <code>{shortSha(r.id)}</code>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        <Box display="flex" alignItems="center" justifyContent="flex-end" mt={1} style={{ gap: 8 }}>
          <Typography variant="body2" color="textSecondary">
            {page.value.total !== undefined ? `${page.value.total} in all · ` : ''}page {cursors.length}
          </Typography>
          <Button size="small" disabled={cursors.length <= 1} onClick={() => setCursors(c => c.slice(0, -1))}>
            Newer
          </Button>
          <Button
            size="small"
            disabled={!page.value.nextCursor}
            onClick={() => setCursors(c => [...c, page.value!.nextCursor])}
          >
            Older
          </Button>
        </Box>
      </>
    );
  }

  return (
    <InfoCard title="Release history" subheader="Newest first, from the config repo's history">
      <Box display="flex" flexWrap="wrap" mb={2} style={{ gap: 16 }}>
        <TextField
          select
          label="Environment"
          value={environment}
          onChange={e => setEnvironment(e.target.value as string)}
          style={{ minWidth: 160 }}
          SelectProps={{ SelectDisplayProps: { 'data-testid': 'history-environment' } as any }}
        >
          <MenuItem value="">All environments</MenuItem>
          {environments.map(e => (
            <MenuItem key={e} value={e}>
              {e}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          select
          label="Kind"
          value={kind}
          onChange={e => setKind(e.target.value as ReleaseIntent | '')}
          style={{ minWidth: 160 }}
          SelectProps={{ SelectDisplayProps: { 'data-testid': 'history-kind' } as any }}
        >
          <MenuItem value="">All kinds</MenuItem>
          {RELEASE_INTENTS.map(k => (
            <MenuItem key={k} value={k}>
              {intentLabels[k]}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          label="Person (released or approved)"
          placeholder="email"
          value={personInput}
          onChange={e => setPersonInput(e.target.value)}
          inputProps={{ 'data-testid': 'history-person' }}
        />
      </Box>
      {content}
    </InfoCard>
  );
}
