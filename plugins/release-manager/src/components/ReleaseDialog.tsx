import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import {
  Artifact,
  ReleaseResult,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { DiffView, plainError } from './common';
import { firstLine, shortSha } from './helpers';

/** What the dialog is asked to do. */
export type ReleaseAction =
  | { kind: 'release'; artifact: Artifact; environment: string }
  | {
      kind: 'promote';
      artifact: Artifact;
      fromEnvironment: string;
      environment: string;
    };

export function actionTitle(action: ReleaseAction): string {
  return action.kind === 'promote'
    ? `Promote ${action.artifact.id} from ${action.fromEnvironment} to ${action.environment}`
    : `Release ${action.artifact.id} to ${action.environment}`;
}

type Phase =
  | { name: 'confirm' }
  | { name: 'running' }
  | { name: 'done'; result: ReleaseResult }
  | { name: 'failed'; message: string };

/** Confirm dialog: diff and verdict first, then the release, its progress and its outcome. */
export function ReleaseDialog(props: {
  service: string;
  action: ReleaseAction;
  onClose: () => void;
  onReleased: (result: ReleaseResult) => void;
}) {
  const { service, action, onClose, onReleased } = props;
  const api = useApi(releaseManagerApiRef);
  const [phase, setPhase] = useState<Phase>({ name: 'confirm' });

  const diff = useAsync(
    () => api.getDiff(service, action.environment, action.artifact.id),
    [api, service, action.environment, action.artifact.id],
  );
  const verdict = useAsync(
    () => api.getVerdict(service, action.environment, action.artifact.id),
    [api, service, action.environment, action.artifact.id],
  );

  const confirm = async () => {
    setPhase({ name: 'running' });
    try {
      const result =
        action.kind === 'promote'
          ? await api.promote({
              service,
              fromEnvironment: action.fromEnvironment,
              toEnvironment: action.environment,
            })
          : await api.release({
              service,
              environment: action.environment,
              artifactId: action.artifact.id,
            });
      setPhase({ name: 'done', result });
      onReleased(result);
    } catch (e) {
      setPhase({ name: 'failed', message: plainError(e) });
    }
  };

  const verb = action.kind === 'promote' ? 'Promote' : 'Release';
  const allowed = verdict.value?.allowed === true;

  return (
    <Dialog
      open
      onClose={onClose}
      maxWidth="md"
      fullWidth
      aria-labelledby="release-dialog-title"
      data-testid="release-dialog"
    >
      <DialogTitle id="release-dialog-title">{actionTitle(action)}</DialogTitle>
      <DialogContent dividers>
        <Typography variant="body2" gutterBottom>
          {action.artifact.branch} @ {shortSha(action.artifact.sha)} —{' '}
          {firstLine(action.artifact.message)} ({action.artifact.authorName})
        </Typography>

        <Box my={2} data-testid="release-dialog-verdict">
          {verdict.loading && <Progress />}
          {verdict.error && (
            <Alert severity="warning">
              Could not check the policies: {plainError(verdict.error)}
            </Alert>
          )}
          {verdict.value &&
            (verdict.value.allowed ? (
              <Alert severity="success">
                Allowed: {action.artifact.branch} may go to{' '}
                {action.environment}.
              </Alert>
            ) : (
              <Alert severity="error">
                Not allowed: {verdict.value.reason ?? 'refused by policy'}
              </Alert>
            ))}
        </Box>

        <Typography variant="h6">
          Changes in {action.environment}
          {diff.value?.fromArtifactId
            ? ` (from ${diff.value.fromArtifactId})`
            : ' (nothing runs there yet)'}
        </Typography>
        <Box my={1} data-testid="release-dialog-diff">
          {diff.loading && <Progress />}
          {diff.error && <ResponseErrorPanel error={diff.error} />}
          {diff.value && <DiffView diff={diff.value} />}
        </Box>

        {phase.name === 'running' && (
          <Box my={2} data-testid="release-dialog-progress">
            <Typography>{verb === 'Promote' ? 'Promoting' : 'Releasing'}…</Typography>
            <LinearProgress />
          </Box>
        )}
        {phase.name === 'done' && (
          <Box my={2} data-testid="release-dialog-result">
            {phase.result.changed && phase.result.release ? (
              <Alert severity="success">
                Done: commit{' '}
                <code data-testid="release-dialog-commit">
                  {shortSha(phase.result.release.id)}
                </code>{' '}
                — {phase.result.release.commitTitle}
              </Alert>
            ) : (
              <Alert severity="info">
                Nothing changed: {phase.result.message}
              </Alert>
            )}
          </Box>
        )}
        {phase.name === 'failed' && (
          <Box my={2} data-testid="release-dialog-error">
            <Alert severity="error">{phase.message}</Alert>
          </Box>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} data-testid="release-dialog-close">
          {phase.name === 'done' ? 'Close' : 'Cancel'}
        </Button>
        {phase.name !== 'done' && (
          <Button
            color="primary"
            variant="contained"
            onClick={confirm}
            disabled={!allowed || phase.name === 'running'}
            data-testid="release-dialog-confirm"
          >
            {verb} to {action.environment}
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
