import { useMemo, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import Radio from '@material-ui/core/Radio';
import RadioGroup from '@material-ui/core/RadioGroup';
import Typography from '@material-ui/core/Typography';
import {
  Release,
  ReleaseResult,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { AsyncDiffView } from './common';
import { intentLabels, relativeTime, testId } from './helpers';
import {
  ReleaseCall,
  ReleaseDialogFrame,
  useReleasePhase,
} from './ReleaseDialogFrame';

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
  const { phase, run } = useReleasePhase(onRolledBack);

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

  // Built on every render, so that a retry with an override rolls back to the current choice.
  const call: ReleaseCall = (override, breakGlass) =>
    api.rollback({
      service,
      environment,
      artifactId: selected,
      // what the dialog showed: the chosen artifact and the commit its diff was made against
      pin: { artifactId: selected, environmentCommit: diff.value?.environmentCommit },
      ...(override ? { overrideFreeze: override } : {}),
      ...(breakGlass ? { breakGlass } : {}),
    });
  const confirm = async (overrideReason?: string, breakGlassReason?: string) => {
    if (!selected) return;
    await run(call, overrideReason, breakGlassReason);
  };

  return (
    <ReleaseDialogFrame
      testIdPrefix="rollback-dialog"
      title={`Roll back ${service} in ${environment}`}
      phase={phase}
      runningLabel="Rolling back"
      doneLabel="Rolled back"
      onClose={onClose}
      onConfirm={breakGlass => confirm(undefined, breakGlass)}
      service={service}
      environment={environment}
      confirmDisabled={!selected || !diff.value}
      confirmLabel={`Roll back to ${selected ?? '…'}`}
      onOverrideFreeze={confirm}
      overrideLabel="Roll back anyway"
    >
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
          <AsyncDiffView state={diff} />
        </Box>
      )}
    </ReleaseDialogFrame>
  );
}
