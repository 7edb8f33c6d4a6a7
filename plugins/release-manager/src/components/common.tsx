import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { ResponseError } from '@backstage/errors';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import {
  ManifestDiff,
  PRODUCTION_FROZEN_ERROR,
  Release,
} from '@devplane/plugin-release-manager-common';

/** The message a person should read for a failed call: the server's words, not "Request failed". */
export function plainError(error: unknown): string {
  if (error instanceof ResponseError) {
    const serverMessage = error.body?.error?.message;
    if (error.statusCode === 403) {
      return `Not allowed: ${
        serverMessage || 'you lack the permission for this'
      }`;
    }
    return serverMessage || error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Whether a call was refused because production is frozen by an open incident. */
export function isProductionFrozen(error: unknown): boolean {
  return (
    error instanceof ResponseError &&
    error.body?.error?.name === PRODUCTION_FROZEN_ERROR
  );
}

const useStyles = makeStyles(theme => ({
  patch: {
    margin: 0,
    padding: theme.spacing(1),
    overflowX: 'auto',
    fontFamily: 'monospace',
    fontSize: '0.8rem',
    background: theme.palette.background.default,
    border: `1px solid ${theme.palette.divider}`,
    borderRadius: 4,
    maxHeight: 320,
  },
  added: { color: theme.palette.success.main },
  removed: { color: theme.palette.error.main },
  hunk: { color: theme.palette.info.main },
  logs: {
    margin: 0,
    padding: theme.spacing(1),
    fontFamily: 'monospace',
    fontSize: '0.75rem',
    whiteSpace: 'pre-wrap',
    background: theme.palette.background.default,
    borderLeft: `3px solid ${theme.palette.error.main}`,
    maxHeight: 200,
    overflowY: 'auto',
  },
}));

const stateColors: Record<string, string> = {
  succeeded: '#2e7d32',
  failed: '#c62828',
  progressing: '#1565c0',
  pending: '#6d6d6d',
};

/** Rollout status chip, with the failure message and log lines when it failed. */
export function RolloutStatus(props: {
  rollout: Release['rollout'];
  testId?: string;
}) {
  const classes = useStyles();
  const { rollout, testId } = props;
  const counts =
    rollout.desired !== undefined
      ? ` ${rollout.ready ?? 0}/${rollout.desired}`
      : '';
  return (
    <Box data-testid={testId}>
      <Chip
        size="small"
        label={`${rollout.state}${counts}`}
        aria-label={`rollout ${rollout.state}${counts}`}
        style={{
          backgroundColor: stateColors[rollout.state] ?? undefined,
          color: '#fff',
        }}
      />
      {rollout.simulated && (
        <Chip
          size="small"
          variant="outlined"
          label="simulated"
          title="Reported by the embedded simulated cluster, not a real cluster agent"
          data-testid={testId ? `${testId}-simulated` : undefined}
          style={{ marginLeft: 4 }}
        />
      )}
      {rollout.reason && (
        <Chip size="small" variant="outlined" label={rollout.reason} style={{ marginLeft: 4 }} />
      )}
      {rollout.message && (
        <Typography variant="caption" component="div">
          {rollout.message}
        </Typography>
      )}
      {rollout.state === 'failed' && rollout.logLines?.length ? (
        <pre
          className={classes.logs}
          aria-label="failure log lines"
          data-testid={testId ? `${testId}-log-lines` : undefined}
        >
          {rollout.logLines.join('\n')}
        </pre>
      ) : null}
    </Box>
  );
}

/** Per-file unified patches of a manifest diff. */
export function DiffView(props: { diff: ManifestDiff }) {
  const classes = useStyles();
  const changed = props.diff.files.filter(f => f.change !== 'unchanged');
  if (changed.length === 0) {
    return (
      <Typography data-testid="diff-empty">
        No manifest changes in {props.diff.environment}.
      </Typography>
    );
  }
  return (
    <Box data-testid="diff-files">
      {changed.map(file => (
        <Box key={file.path} mb={2} data-testid={`diff-file-${file.path}`}>
          <Typography variant="subtitle2">
            {file.path}{' '}
            <Chip size="small" variant="outlined" label={file.change} />
          </Typography>
          {file.patch && (
            <pre className={classes.patch}>
              {file.patch.split('\n').map((line, i) => {
                let cls: string | undefined;
                if (line.startsWith('@@')) cls = classes.hunk;
                else if (line.startsWith('+') && !line.startsWith('+++'))
                  cls = classes.added;
                else if (line.startsWith('-') && !line.startsWith('---'))
                  cls = classes.removed;
                return (
                  <div key={i} className={cls}>
                    {line || ' '}
                  </div>
                );
              })}
            </pre>
          )}
        </Box>
      ))}
    </Box>
  );
}

/** A diff being loaded: progress, the error, or the diff. */
export function AsyncDiffView(props: {
  state: { loading: boolean; error?: Error; value?: ManifestDiff };
}) {
  const { loading, error, value } = props.state;
  return (
    <>
      {loading && <Progress />}
      {error && <ResponseErrorPanel error={error} />}
      {value && <DiffView diff={value} />}
    </>
  );
}
