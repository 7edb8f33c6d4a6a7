import { useMemo, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import LinearProgress from '@material-ui/core/LinearProgress';
import Radio from '@material-ui/core/Radio';
import RadioGroup from '@material-ui/core/RadioGroup';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import {
  Release,
  ReleaseResult,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { DiffView, plainError } from './common';
import { intentLabels, relativeTime, shortSha, testId } from './helpers';

type Phase =
  | { name: 'pick' }
  | { name: 'running' }
  | { name: 'done'; result: ReleaseResult }
  | { name: 'failed'; message: string };

/** Pick an earlier artifact released to the environment, see the diff, roll back. */
export function RollbackDialog(props: {
  service: string;
  environment: string;
  currentArtifactId?: string;
  onClose: () => void;
  onRolledBack: (result: ReleaseResult) => void;
}) {
  const { service, environment, currentArtifactId, onClose, onRolledBack } =
    props;
  const api = useApi(releaseManagerApiRef);
  const [selected, setSelected] = useState<string>();
  const [phase, setPhase] = useState<Phase>({ name: 'pick' });

  const history = useAsync(
    () => api.getReleases(service, { environment, limit: 50 }),
    [api, service, environment],
  );

  // One entry per earlier artifact, newest release first.
  const candidates = useMemo(() => {
    const seen = new Set<string>();
    const result: Release[] = [];
    for (const release of history.value?.items ?? []) {
      if (release.artifactId === currentArtifactId) continue;
      if (seen.has(release.artifactId)) continue;
      seen.add(release.artifactId);
      result.push(release);
    }
    return result;
  }, [history.value, currentArtifactId]);

  const diff = useAsync(
    async () =>
      selected ? api.getDiff(service, environment, selected) : undefined,
    [api, service, environment, selected],
  );

  const confirm = async () => {
    if (!selected) return;
    setPhase({ name: 'running' });
    try {
      const result = await api.rollback({
        service,
        environment,
        artifactId: selected,
      });
      setPhase({ name: 'done', result });
      onRolledBack(result);
    } catch (e) {
      setPhase({ name: 'failed', message: plainError(e) });
    }
  };

  return (
    <Dialog
      open
      onClose={onClose}
      maxWidth="md"
      fullWidth
      aria-labelledby="rollback-dialog-title"
      data-testid="rollback-dialog"
    >
      <DialogTitle id="rollback-dialog-title">
        Roll back {service} in {environment}
      </DialogTitle>
      <DialogContent dividers>
        {history.loading && <Progress />}
        {history.error && <ResponseErrorPanel error={history.error} />}
        {history.value && candidates.length === 0 && (
          <Typography data-testid="rollback-no-candidates">
            Nothing to roll back to: no earlier artifact was released to{' '}
            {environment}.
          </Typography>
        )}
        {candidates.length > 0 && (
          <RadioGroup
            aria-label="earlier artifact to return to"
            value={selected ?? ''}
            onChange={e => setSelected(e.target.value)}
          >
            {candidates.map(release => (
              <FormControlLabel
                key={release.artifactId}
                value={release.artifactId}
                control={<Radio />}
                data-testid={`rollback-option-${testId(release.artifactId)}`}
                label={
                  <span>
                    <strong>{release.artifactId}</strong> —{' '}
                    {intentLabels[release.intent]} by {release.releasedBy}{' '}
                    {relativeTime(release.releasedAt)}
                  </span>
                }
              />
            ))}
          </RadioGroup>
        )}

        {selected && (
          <Box mt={2} data-testid="rollback-dialog-diff">
            <Typography variant="h6">
              Changes in {environment} when returning to {selected}
            </Typography>
            {diff.loading && <Progress />}
            {diff.error && <ResponseErrorPanel error={diff.error} />}
            {diff.value && <DiffView diff={diff.value} />}
          </Box>
        )}

        {phase.name === 'running' && (
          <Box my={2} data-testid="rollback-dialog-progress">
            <Typography>Rolling back…</Typography>
            <LinearProgress />
          </Box>
        )}
        {phase.name === 'done' && (
          <Box my={2} data-testid="rollback-dialog-result">
            {phase.result.changed && phase.result.release ? (
              <Alert severity="success">
                Rolled back: commit{' '}
                <code>{shortSha(phase.result.release.id)}</code> —{' '}
                {phase.result.release.commitTitle}
              </Alert>
            ) : (
              <Alert severity="info">
                Nothing changed: {phase.result.message}
              </Alert>
            )}
          </Box>
        )}
        {phase.name === 'failed' && (
          <Box my={2} data-testid="rollback-dialog-error">
            <Alert severity="error">{phase.message}</Alert>
          </Box>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} data-testid="rollback-dialog-close">
          {phase.name === 'done' ? 'Close' : 'Cancel'}
        </Button>
        {phase.name !== 'done' && (
          <Button
            color="primary"
            variant="contained"
            disabled={!selected || phase.name === 'running'}
            onClick={confirm}
            data-testid="rollback-dialog-confirm"
          >
            Roll back to {selected ?? '…'}
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
