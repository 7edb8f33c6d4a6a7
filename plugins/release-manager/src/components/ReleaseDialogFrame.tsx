import { ReactNode, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import Checkbox from '@material-ui/core/Checkbox';
import FormControlLabel from '@material-ui/core/FormControlLabel';
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
  BreakGlass,
  FreezeOverride,
  invalidFreezeOverrideReason,
  releaseManagerBreakGlassPermission,
  ReleaseResult,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { isProductionFrozen, plainError } from './common';
import { shortSha } from './helpers';

/** Where a release, promotion or rollback dialog stands. */
export type ReleasePhase =
  | { name: 'idle' }
  | { name: 'running' }
  | {
      name: 'done';
      result: ReleaseResult;
      overrideFreeze?: FreezeOverride;
      breakGlass?: BreakGlass;
    }
  | { name: 'failed'; message: string }
  /** Refused because production is frozen by an open incident; may be retried with an override. */
  | { name: 'frozen'; message: string };

/**
 * One release call; `overrideFreeze` is set only when retried through "Release anyway",
 * `breakGlass` only when platform ticked "Break-glass" with a reason.
 */
export type ReleaseCall = (
  overrideFreeze?: FreezeOverride,
  breakGlass?: BreakGlass,
) => Promise<ReleaseResult>;

/**
 * The phase of one release call: `run` moves it to running, then done (calling `onDone`),
 * frozen (production freeze refusal) or failed. `run(call, reason)` makes the call with a
 * freeze override ("Release anyway").
 */
export function useReleasePhase(onDone: (result: ReleaseResult) => void) {
  const [phase, setPhase] = useState<ReleasePhase>({ name: 'idle' });
  const run = async (
    call: ReleaseCall,
    overrideReason?: string,
    breakGlassReason?: string,
  ) => {
    const override =
      overrideReason === undefined
        ? undefined
        : { reason: overrideReason.trim() };
    const breakGlass =
      breakGlassReason === undefined
        ? undefined
        : { reason: breakGlassReason.trim() };
    setPhase({ name: 'running' });
    try {
      const result = await call(override, breakGlass);
      setPhase({
        name: 'done',
        result,
        overrideFreeze: override,
        breakGlass,
      });
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
  /** Confirms; `breakGlassReason` when platform ticked "Break-glass" (see {@link BreakGlassForm}). */
  onConfirm: (breakGlassReason?: string) => void;
  /** Service and target environment: for the "needs approval" notice and break-glass. */
  service?: string;
  environment?: string;
  /** Whether confirming is not possible yet (it never is while running). */
  confirmDisabled: boolean;
  confirmLabel: ReactNode;
  /** Retries the refused call with a freeze override: `run(call, reason)` of {@link useReleasePhase}. */
  onOverrideFreeze: (reason: string) => void;
  /** Button of the "Release anyway" section, e.g. "Roll back anyway". */
  overrideLabel?: string;
  children: ReactNode;
}) {
  const {
    title,
    children,
    onOverrideFreeze,
    overrideLabel,
    service,
    environment,
    ...rest
  } = props;
  const { testIdPrefix, onClose, phase } = rest;
  // Kept here so that a reason survives a retry that is refused again.
  const [reason, setReason] = useState('');
  const [breakGlass, setBreakGlass] = useState<string | undefined>();
  const api = useApi(releaseManagerApiRef);
  const target = useAsync(
    async () =>
      environment
        ? (await api.getEnvironments()).find(e => e.name === environment)
        : undefined,
    [api, environment],
  );
  const breakGlassPermission = usePermission({
    permission: releaseManagerBreakGlassPermission,
  });
  const needsApproval = target.value?.requireApproval === true;
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
        {needsApproval && (
          <Box mb={2} data-testid={`${testIdPrefix}-needs-approval`}>
            <Alert severity="info">
              <AlertTitle>This needs approval</AlertTitle>
              {environment} requires four eyes: confirming stores a request
              (nothing is written yet) that someone else who may release{' '}
              {service ?? 'this service'} to {environment} approves on the
              Releases tab or with the CLI. The reviewed artifact is then
              written exactly onto the commit you see here.
            </Alert>
          </Box>
        )}
        {children}
        {needsApproval &&
          breakGlassPermission.allowed &&
          phase.name !== 'done' && (
            <BreakGlassForm reason={breakGlass} onChange={setBreakGlass} />
          )}
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
      <ReleaseActions
        {...rest}
        onConfirm={() => rest.onConfirm(breakGlass)}
        confirmDisabled={
          rest.confirmDisabled ||
          (breakGlass !== undefined &&
            Boolean(invalidFreezeOverrideReason(breakGlass)))
        }
      />
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
    const { changed, release, message, approval } = phase.result;
    const { overrideFreeze, breakGlass } = phase;
    return (
      <Box my={2} data-testid={`${testIdPrefix}-result`}>
        {approval && (
          <Alert severity="info" data-testid={`${testIdPrefix}-pending`}>
            <AlertTitle>Waiting for approval</AlertTitle>
            Nothing was written. Request{' '}
            <code data-testid={`${testIdPrefix}-request-id`}>{approval.id}</code>{' '}
            ({approval.why.join('; ')}) expires {approval.expiresAt}; someone
            else who may release here approves or rejects it on the Releases
            tab or with{' '}
            <code>release-manager approvals approve {approval.id}</code>.
          </Alert>
        )}
        {!approval && changed && release && (
          <Alert severity="success">
            {doneLabel}: commit{' '}
            <code data-testid={`${testIdPrefix}-commit`}>
              {shortSha(release.id)}
            </code>{' '}
            — {release.commitTitle}
          </Alert>
        )}
        {!approval && !(changed && release) && (
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
        {changed && breakGlass && (
          <Box mt={1}>
            <Alert
              severity="warning"
              data-testid={`${testIdPrefix}-break-glass`}
            >
              BREAK-GLASS: released without approval — {breakGlass.reason}
              (recorded in the commit, the squad is notified)
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

/**
 * Platform only (the break-glass permission): release without the required approval. The
 * reason is required, recorded as the commit's `Break-glass:` trailer and flagged everywhere.
 */
function BreakGlassForm(props: {
  reason: string | undefined;
  onChange: (reason: string | undefined) => void;
}) {
  const { reason, onChange } = props;
  const on = reason !== undefined;
  return (
    <Box my={2} data-testid="break-glass">
      <FormControlLabel
        control={
          <Checkbox
            checked={on}
            onChange={e => onChange(e.target.checked ? '' : undefined)}
            inputProps={{ 'data-testid': 'break-glass-toggle' } as any}
          />
        }
        label="Break-glass: release without approval (platform)"
      />
      {on && (
        <TextField
          label="Why this cannot wait for a second person"
          required
          fullWidth
          variant="outlined"
          value={reason}
          onChange={e => onChange(e.target.value)}
          helperText={`Recorded in the release commit and flagged. ${reason.length}/${FREEZE_OVERRIDE_REASON_MAX_LENGTH}`}
          error={reason.length > FREEZE_OVERRIDE_REASON_MAX_LENGTH}
          inputProps={{
            maxLength: FREEZE_OVERRIDE_REASON_MAX_LENGTH,
            'data-testid': 'break-glass-reason',
          }}
        />
      )}
    </Box>
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
