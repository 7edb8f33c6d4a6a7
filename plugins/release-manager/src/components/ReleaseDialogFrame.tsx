import { ReactNode, useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import LinearProgress from '@material-ui/core/LinearProgress';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import AlertTitle from '@material-ui/lab/AlertTitle';
import {
  FREEZE_OVERRIDE_REASON_MAX_LENGTH,
  FreezeOverride,
  invalidFreezeOverrideReason,
  ReleaseResult,
} from '@devplane/plugin-release-manager-common';
import { isProductionFrozen, plainError } from './common';
import { shortSha } from './helpers';

/** Where a release, promotion or rollback dialog stands. */
export type ReleasePhase =
  | { name: 'idle' }
  | { name: 'running' }
  | { name: 'done'; result: ReleaseResult; overrideFreeze?: FreezeOverride }
  | { name: 'failed'; message: string }
  /** Refused because production is frozen by an open incident; may be retried with an override. */
  | { name: 'frozen'; message: string };

/** One release call; `overrideFreeze` is set only when retried through "Release anyway". */
export type ReleaseCall = (
  overrideFreeze?: FreezeOverride,
) => Promise<ReleaseResult>;

/**
 * The phase of one release call: `run` moves it to running, then done (calling `onDone`),
 * frozen (production freeze refusal) or failed. `run(call, reason)` makes the call with a
 * freeze override ("Release anyway").
 */
export function useReleasePhase(onDone: (result: ReleaseResult) => void) {
  const [phase, setPhase] = useState<ReleasePhase>({ name: 'idle' });
  const run = async (call: ReleaseCall, overrideReason?: string) => {
    const override =
      overrideReason === undefined
        ? undefined
        : { reason: overrideReason.trim() };
    setPhase({ name: 'running' });
    try {
      const result = await call(override);
      setPhase({ name: 'done', result, overrideFreeze: override });
      onDone(result);
    } catch (e) {
      setPhase(
        isProductionFrozen(e)
          ? { name: 'frozen', message: frozenMessage(plainError(e)) }
          : { name: 'failed', message: plainError(e) },
      );
    }
  };
  return { phase, run };
}

/** The server's refusal without its API advice ("pass overrideFreeze …"): the dialog offers the override itself. */
function frozenMessage(message: string): string {
  const words = message.replace(/[;,.]?\s*pass overrideFreeze\b.*$/is, '');
  return words === message || /[.!]$/.test(words) ? words : `${words}.`;
}

/**
 * A dialog that makes one release call: `children` first, then the progress,
 * result or error of the call; Cancel/Close and, until done, the confirm
 * button. Test ids are `<testIdPrefix>` on the dialog and
 * `<testIdPrefix>-progress|result|commit|error|close|confirm` inside. A refusal by the
 * production freeze shows the server's words in `<testIdPrefix>-error` and, in
 * `freeze-override`, a required reason (`freeze-override-reason`) and a button
 * (`freeze-override-confirm`) that calls `onOverrideFreeze(reason)`.
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
  /** Retries the refused call with a freeze override: `run(call, reason)` of {@link useReleasePhase}. */
  onOverrideFreeze: (reason: string) => void;
  /** Button of the "Release anyway" section, e.g. "Roll back anyway". */
  overrideLabel?: string;
  children: ReactNode;
}) {
  const { title, children, onOverrideFreeze, overrideLabel, ...rest } = props;
  const { testIdPrefix, onClose, phase } = rest;
  // Kept here so that a reason survives a retry that is refused again.
  const [reason, setReason] = useState('');
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
        {phase.name === 'frozen' && (
          <FreezeOverrideForm
            reason={reason}
            onReasonChange={setReason}
            onConfirm={() => onOverrideFreeze(reason)}
            label={overrideLabel ?? 'Release anyway'}
          />
        )}
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
    const { overrideFreeze } = phase;
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
        {changed && overrideFreeze && (
          <Box mt={1}>
            <Alert
              severity="warning"
              data-testid={`${testIdPrefix}-freeze-overridden`}
            >
              Production freeze overridden: {overrideFreeze.reason}
            </Alert>
          </Box>
        )}
      </Box>
    );
  }
  if (phase.name === 'frozen') {
    return (
      <Box my={2} data-testid={`${testIdPrefix}-error`}>
        <Alert severity="error">
          <AlertTitle>Production is frozen</AlertTitle>
          {phase.message}
        </Alert>
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

/** "Release anyway": a required reason, recorded in the release commit, and the retry button. */
function FreezeOverrideForm(props: {
  reason: string;
  onReasonChange: (reason: string) => void;
  onConfirm: () => void;
  label: string;
}) {
  const { reason, onReasonChange, onConfirm, label } = props;
  const invalid = invalidFreezeOverrideReason(reason);
  return (
    <Box my={2} data-testid="freeze-override">
      <Typography variant="h6">Release anyway</Typography>
      <Typography variant="body2" gutterBottom>
        Only when the release cannot wait for the incident to be resolved (for
        example, it is the fix). Your reason is recorded in the release commit
        and the squad is notified.
      </Typography>
      <TextField
        label="Reason for overriding the freeze"
        required
        fullWidth
        multiline
        minRows={2}
        variant="outlined"
        value={reason}
        onChange={e => onReasonChange(e.target.value)}
        helperText={`${reason.length}/${FREEZE_OVERRIDE_REASON_MAX_LENGTH}`}
        error={reason.length > FREEZE_OVERRIDE_REASON_MAX_LENGTH}
        inputProps={{
          maxLength: FREEZE_OVERRIDE_REASON_MAX_LENGTH,
          'data-testid': 'freeze-override-reason',
        }}
      />
      <Box mt={1}>
        <Button
          color="secondary"
          variant="contained"
          onClick={onConfirm}
          disabled={Boolean(invalid)}
          data-testid="freeze-override-confirm"
        >
          {label}
        </Button>
      </Box>
    </Box>
  );
}
