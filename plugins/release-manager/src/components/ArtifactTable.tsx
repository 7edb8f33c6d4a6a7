import { useEffect, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useDebounce from 'react-use/esm/useDebounce';
import {
  EmptyState,
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import {
  Artifact,
  Environment,
  EnvironmentStatus,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { firstLine, relativeTime, shortSha, testId } from './helpers';
import { ReleaseAction } from './ReleaseDialog';
import { GuardResult } from './useReleaseGuard';

export const PAGE_SIZE = 10;

/** How CI uploads an artifact, shown when there is none yet. */
export function NoArtifactsYet(props: { service: string }) {
  return (
    <EmptyState
      missing="data"
      title="No artifacts yet"
      description={`No artifacts yet — here is how CI uploads one for ${props.service}:`}
      action={
        <pre data-testid="artifact-push-hint" style={{ whiteSpace: 'pre-wrap' }}>
          {`release-manager artifact push --spec artifact.json --manifests manifests/
# artifact.json: { "id": "<branch>-<sha10>-<sha10>", "service": "${props.service}", ... }
# manifests/<environment>/*.yaml: the rendered manifests per environment`}
        </pre>
      }
    />
  );
}

function ActionCell(props: {
  artifact: Artifact;
  environments: Array<{ environment: Environment; status?: EnvironmentStatus }>;
  guard: (branch: string, environment: Environment) => GuardResult;
  onAction: (action: ReleaseAction) => void;
}) {
  const { artifact, environments, guard, onAction } = props;
  const targets = environments.filter(
    e =>
      artifact.environments.length === 0 ||
      artifact.environments.includes(e.environment.name),
  );
  return (
    <Box display="flex" flexWrap="wrap" style={{ gap: 8 }}>
      {targets.map(({ environment }, index) => {
        const env = environment.name;
        const id = `${testId(artifact.id)}-${testId(env)}`;
        const running = environments.find(e => e.environment.name === env)
          ?.status?.artifact?.id;
        if (running === artifact.id) {
          return (
            <Chip
              key={env}
              size="small"
              color="primary"
              label={`running in ${env}`}
              data-testid={`running-${id}`}
            />
          );
        }
        // Promote when the artifact runs in the environment just before this one.
        const previous = index > 0 ? targets[index - 1] : undefined;
        const promoteFrom =
          previous?.status?.artifact?.id === artifact.id
            ? previous.environment.name
            : undefined;
        const verdict = guard(artifact.branch, environment);
        const label = promoteFrom ? `Promote to ${env}` : `Release to ${env}`;
        return (
          <Box key={env} maxWidth={220}>
            <Button
              size="small"
              variant="outlined"
              color="primary"
              disabled={!verdict.allowed}
              aria-label={`${label}: ${artifact.id}`}
              data-testid={`release-action-${id}`}
              onClick={() =>
                onAction(
                  promoteFrom
                    ? {
                        kind: 'promote',
                        artifact,
                        fromEnvironment: promoteFrom,
                        environment: env,
                      }
                    : { kind: 'release', artifact, environment: env },
                )
              }
            >
              {label}
            </Button>
            {verdict.reason && (
              <Typography
                variant="caption"
                color="error"
                component="div"
                data-testid={`release-blocked-${id}`}
              >
                {verdict.reason}
              </Typography>
            )}
          </Box>
        );
      })}
    </Box>
  );
}

/** The service's artifacts, newest first, paged, filterable by branch. */
export function ArtifactTable(props: {
  service: string;
  environments: Array<{ environment: Environment; status?: EnvironmentStatus }>;
  guard: (branch: string, environment: Environment) => GuardResult;
  onAction: (action: ReleaseAction) => void;
  refreshKey: number;
}) {
  const { service, environments, guard, onAction, refreshKey } = props;
  const api = useApi(releaseManagerApiRef);
  const [branchInput, setBranchInput] = useState('');
  const [branch, setBranch] = useState('');
  // cursors[i] is the cursor of page i; page 0 has none.
  const [cursors, setCursors] = useState<Array<string | undefined>>([
    undefined,
  ]);
  const page = cursors.length - 1;

  useDebounce(() => setBranch(branchInput.trim()), 300, [branchInput]);
  useEffect(() => setCursors([undefined]), [branch, service]);

  const { value, loading, error } = useAsync(
    () =>
      api.getArtifacts(service, {
        branch: branch || undefined,
        limit: PAGE_SIZE,
        cursor: cursors[page],
      }),
    [api, service, branch, cursors, refreshKey],
  );

  let body: React.ReactNode;
  if (error) {
    body = <ResponseErrorPanel error={error} />;
  } else if (!value) {
    body = loading ? <Progress /> : null;
  } else if (value.items.length === 0 && !branch && page === 0) {
    body = <NoArtifactsYet service={service} />;
  } else if (value.items.length === 0) {
    body = (
      <Typography data-testid="artifacts-none-on-branch">
        No artifacts{branch ? ` on branch ${branch}` : ' on this page'}.
      </Typography>
    );
  } else {
    body = (
      <Table size="small" aria-label="artifacts" data-testid="artifact-table">
        <TableHead>
          <TableRow>
            <TableCell>Artifact</TableCell>
            <TableCell>Author</TableCell>
            <TableCell>Built</TableCell>
            <TableCell>Release</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {value.items.map(artifact => (
            <TableRow
              key={artifact.id}
              data-testid={`artifact-row-${testId(artifact.id)}`}
            >
              <TableCell>
                <Typography variant="body2" style={{ wordBreak: 'break-all' }}>
                  <strong>{artifact.id}</strong>
                </Typography>
                <Typography variant="caption" component="div">
                  {artifact.branch} @ <code>{shortSha(artifact.sha)}</code> —{' '}
                  {firstLine(artifact.message)}
                </Typography>
              </TableCell>
              <TableCell>{artifact.authorName}</TableCell>
              <TableCell>
                <span title={artifact.createdAt}>
                  {relativeTime(artifact.createdAt)}
                </span>
                {artifact.ciJobUrl && (
                  <div>
                    <Link to={artifact.ciJobUrl}>CI</Link>
                  </div>
                )}
              </TableCell>
              <TableCell>
                <ActionCell
                  artifact={artifact}
                  environments={environments}
                  guard={guard}
                  onAction={onAction}
                />
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    );
  }

  return (
    <InfoCard title="Artifacts">
      <Box mb={2} display="flex" alignItems="center" style={{ gap: 16 }}>
        <TextField
          label="Filter by branch"
          size="small"
          variant="outlined"
          value={branchInput}
          onChange={e => setBranchInput(e.target.value)}
          inputProps={{ 'data-testid': 'artifact-branch-filter' }}
        />
        {loading && value && (
          <Typography variant="caption">refreshing…</Typography>
        )}
      </Box>
      {body}
      {value && (page > 0 || value.nextCursor) && (
        <Box mt={2} display="flex" alignItems="center" style={{ gap: 8 }}>
          <Button
            size="small"
            disabled={page === 0}
            onClick={() => setCursors(c => c.slice(0, -1))}
            data-testid="artifacts-previous-page"
          >
            Previous page
          </Button>
          <Typography variant="caption">page {page + 1}</Typography>
          <Button
            size="small"
            disabled={!value.nextCursor}
            onClick={() => setCursors(c => [...c, value.nextCursor])}
            data-testid="artifacts-next-page"
          >
            Next page
          </Button>
        </Box>
      )}
    </InfoCard>
  );
}
