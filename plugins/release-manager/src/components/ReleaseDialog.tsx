import useAsync from 'react-use/esm/useAsync';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import {
  Artifact,
  ReleaseResult,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { AsyncDiffView, plainError } from './common';
import {
  ReleaseCall,
  ReleaseDialogFrame,
  useReleasePhase,
} from './ReleaseDialogFrame';
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

/** Confirm dialog: diff and verdict first, then the release, its progress and its outcome. */
export function ReleaseDialog(props: {
  service: string;
  action: ReleaseAction;
  onClose: () => void;
  onReleased: (result: ReleaseResult) => void;
}) {
  const { service, action, onClose, onReleased } = props;
  const api = useApi(releaseManagerApiRef);
  const { phase, run } = useReleasePhase(onReleased);

  const diff = useAsync(
    () => api.getDiff(service, action.environment, action.artifact.id),
    [api, service, action.environment, action.artifact.id],
  );
  // a failed check (e.g. the permission backend briefly unreachable) can be asked again: without
  // a verdict the confirm button stays disabled
  const verdict = useAsyncRetry(
    () => api.getVerdict(service, action.environment, action.artifact.id),
    [api, service, action.environment, action.artifact.id],
  );

  // What the dialog showed: the artifact and the environment commit its diff was made against.
  // If either moved, the server refuses (409, "changed since you looked") and writes nothing.
  const pin = {
    artifactId: action.artifact.id,
    environmentCommit: diff.value?.environmentCommit,
  };
  const call: ReleaseCall = (override, breakGlass) =>
    action.kind === 'promote'
      ? api.promote({
          service,
          fromEnvironment: action.fromEnvironment,
          toEnvironment: action.environment,
          pin,
          ...(override ? { overrideFreeze: override } : {}),
          ...(breakGlass ? { breakGlass } : {}),
        })
      : api.release({
          service,
          environment: action.environment,
          artifactId: action.artifact.id,
          pin,
          ...(override ? { overrideFreeze: override } : {}),
          ...(breakGlass ? { breakGlass } : {}),
        });

  const verb = action.kind === 'promote' ? 'Promote' : 'Release';
  const allowed = verdict.value?.allowed === true;

  return (
    <ReleaseDialogFrame
      testIdPrefix="release-dialog"
      title={actionTitle(action)}
      phase={phase}
      runningLabel={verb === 'Promote' ? 'Promoting' : 'Releasing'}
      doneLabel="Done"
      onClose={onClose}
      onConfirm={breakGlass => run(call, undefined, breakGlass)}
      service={service}
      environment={action.environment}
      confirmDisabled={!allowed || !diff.value}
      confirmLabel={`${verb} to ${action.environment}`}
      onOverrideFreeze={reason => run(call, reason)}
      overrideLabel={`${verb} anyway`}
    >
      <Typography variant="body2" gutterBottom>
        {action.artifact.branch} @ {shortSha(action.artifact.sha)} —{' '}
        {firstLine(action.artifact.message)} ({action.artifact.authorName})
      </Typography>

      <Box my={2} data-testid="release-dialog-verdict">
        {verdict.loading && <Progress />}
        {verdict.error && (
          <Alert
            severity="warning"
            action={
              <Button size="small" onClick={verdict.retry} data-testid="release-dialog-verdict-retry">
                Try again
              </Button>
            }
          >
            Could not check the policies: {plainError(verdict.error)}
          </Alert>
        )}
        {verdict.value &&
          (verdict.value.allowed ? (
            <Alert severity="success">
              Allowed: {action.artifact.branch} may go to {action.environment}.
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
        <AsyncDiffView state={diff} />
      </Box>
    </ReleaseDialogFrame>
  );
}
