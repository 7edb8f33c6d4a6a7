import { ReactNode, useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { ReleaseResult } from '@devplane/plugin-release-manager-common';
import { plainError } from './common';
import { shortSha } from './helpers';

/** Where a release, promotion or rollback dialog stands. */
export type ReleasePhase =
  | { name: 'idle' }
  | { name: 'running' }
  | { name: 'done'; result: ReleaseResult }
  | { name: 'failed'; message: string };

/** The phase of one release call: `run` moves it to running, then done (calling `onDone`) or failed. */
export function useReleasePhase(onDone: (result: ReleaseResult) => void) {
  const [phase, setPhase] = useState<ReleasePhase>({ name: 'idle' });
  const run = async (call: () => Promise<ReleaseResult>) => {
    setPhase({ name: 'running' });
    try {
      const result = await call();
      setPhase({ name: 'done', result });
      onDone(result);
    } catch (e) {
      setPhase({ name: 'failed', message: plainError(e) });
    }
  };
  return { phase, run };
}

/**
 * A dialog that makes one release call: `children` first, then the progress,
 * result or error of the call; Cancel/Close and, until done, the confirm
 * button. Test ids are `<testIdPrefix>` on the dialog and
 * `<testIdPrefix>-progress|result|commit|error|close|confirm` inside.
 */
export function ReleaseDialogFrame(props: {
  testIdPrefix: string;
  title: ReactNode;
  phase: ReleasePhase;
  /** e.g. "Releasing" */
  runningLabel: string;
  /** e.g. "Done" */
  doneLabel: string;
  onClose: () => void;
  onConfirm: () => void;
  /** Whether confirming is not possible yet (it never is while running). */
  confirmDisabled: boolean;
  confirmLabel: ReactNode;
  children: ReactNode;
}) {
  const { title, children, ...rest } = props;
  const { testIdPrefix, onClose } = rest;
  return (
    <Dialog
      open
      onClose={onClose}
      maxWidth="md"
      fullWidth
      aria-labelledby={`${testIdPrefix}-title`}
      data-testid={testIdPrefix}
    >
      <DialogTitle id={`${testIdPrefix}-title`}>{title}</DialogTitle>
      <DialogContent dividers>
        {children}
        <ReleaseOutcome {...rest} />
      </DialogContent>
      <ReleaseActions {...rest} />
    </Dialog>
  );
}

function ReleaseOutcome(props: {
  phase: ReleasePhase;
  testIdPrefix: string;
  runningLabel: string;
  doneLabel: string;
}) {
  const { phase, testIdPrefix, runningLabel, doneLabel } = props;
  if (phase.name === 'running') {
    return (
      <Box my={2} data-testid={`${testIdPrefix}-progress`}>
        <Typography>{runningLabel}…</Typography>
        <LinearProgress />
      </Box>
    );
  }
  if (phase.name === 'done') {
    const { changed, release, message } = phase.result;
    return (
      <Box my={2} data-testid={`${testIdPrefix}-result`}>
        {changed && release ? (
          <Alert severity="success">
            {doneLabel}: commit{' '}
            <code data-testid={`${testIdPrefix}-commit`}>
              {shortSha(release.id)}
            </code>{' '}
            — {release.commitTitle}
          </Alert>
        ) : (
          <Alert severity="info">Nothing changed: {message}</Alert>
        )}
      </Box>
    );
  }
  if (phase.name === 'failed') {
    return (
      <Box my={2} data-testid={`${testIdPrefix}-error`}>
        <Alert severity="error">{phase.message}</Alert>
      </Box>
    );
  }
  return null;
}

function ReleaseActions(props: {
  phase: ReleasePhase;
  testIdPrefix: string;
  onClose: () => void;
  onConfirm: () => void;
  confirmDisabled: boolean;
  confirmLabel: ReactNode;
}) {
  const { phase, testIdPrefix, onClose, onConfirm } = props;
  return (
    <DialogActions>
      <Button onClick={onClose} data-testid={`${testIdPrefix}-close`}>
        {phase.name === 'done' ? 'Close' : 'Cancel'}
      </Button>
      {phase.name !== 'done' && (
        <Button
          color="primary"
          variant="contained"
          onClick={onConfirm}
          disabled={props.confirmDisabled || phase.name === 'running'}
          data-testid={`${testIdPrefix}-confirm`}
        >
          {props.confirmLabel}
        </Button>
      )}
    </DialogActions>
  );
}
