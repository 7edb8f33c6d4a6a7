/**
 * Four-eyes approvals and freeze windows in the portal (issue 14): the pending requests of a
 * service (Releases tab), the requests waiting for the signed-in person (home page), and the
 * freeze windows in force or coming up (Releases tab, environment cards).
 */
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import AlertTitle from '@material-ui/lab/AlertTitle';
import {
  ApprovalRequest,
  FreezeWindowView,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { DiffView, plainError } from './common';
import { relativeTime, shortSha, testId } from './helpers';

const intentVerb: Record<ApprovalRequest['intent'], string> = {
  release: 'release',
  promote: 'promote',
  rollback: 'roll back to',
  'auto-release': 'auto-release',
};

/** One line: "anna@… asks to promote <artifact> to prod (from staging)". */
export function approvalSummary(r: ApprovalRequest): string {
  return `${r.requestedBy} asks to ${intentVerb[r.intent]} ${r.artifactId} ${
    r.intent === 'rollback' ? 'in' : 'to'
  } ${r.environment}${r.promotedFrom ? ` (from ${r.promotedFrom})` : ''}`;
}

/** Absolute and relative time, e.g. "in 23 hours (2026-12-03T01:00:00Z)". */
function when(iso: string) {
  return <span title={iso}>{relativeTime(iso)}</span>;
}

/**
 * One pending request: what would be written (artifact, diff against the environment commit it
 * was asked against, the policy verdict), who asked, when it expires, and Approve / Reject for
 * people who may decide; for the others the buttons are disabled with the server's reason.
 */
export function ApprovalRequestCard(props: {
  request: ApprovalRequest;
  onDecided: () => void;
  /** Show the manifest diff (the Releases tab does; the home card links there instead). */
  showDiff?: boolean;
}) {
  const { request: r, onDecided, showDiff = true } = props;
  const api = useApi(releaseManagerApiRef);
  const [busy, setBusy] = useState(false);
  const [rejecting, setRejecting] = useState(false);
  const [comment, setComment] = useState('');
  const [decided, setDecided] = useState(false);
  const [outcome, setOutcome] = useState<
    { severity: 'success' | 'error'; message: string } | undefined
  >();
  const id = testId('approval', r.id);
  const may = r.canApprove;
  const disabledReason =
    may && !may.allowed ? may.reason ?? 'you may not decide on it' : undefined;

  const decide = async (kind: 'approve' | 'reject') => {
    setBusy(true);
    setOutcome(undefined);
    try {
      if (kind === 'approve') {
        const result = await api.approve(r.id);
        setOutcome({
          severity: 'success',
          message: result.release
            ? `Approved and released: commit ${shortSha(result.release.id)} — ${result.release.commitTitle}`
            : `Approved: ${result.message}`,
        });
      } else {
        await api.reject(r.id, comment.trim());
        setOutcome({ severity: 'success', message: 'Rejected.' });
      }
      setDecided(true);
      onDecided();
    } catch (e) {
      setOutcome({ severity: 'error', message: plainError(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box
      mb={2}
      p={2}
      border={1}
      borderColor={r.breakGlass ? 'error.main' : 'divider'}
      borderRadius={4}
      data-testid={id}
    >
      <Typography variant="subtitle1" style={{ wordBreak: 'break-all' }}>
        {approvalSummary(r)}
      </Typography>
      <Box display="flex" flexWrap="wrap" style={{ gap: 4 }} my={0.5}>
        <Chip size="small" label={r.status} />
        {r.breakGlass && (
          <Chip
            size="small"
            color="secondary"
            label={`break-glass: ${r.breakGlass}`}
            data-testid={`${id}-break-glass`}
          />
        )}
        {r.freezeWindow && (
          <Chip size="small" variant="outlined" label={`freeze window ${r.freezeWindow}`} />
        )}
      </Box>
      <Typography variant="body2" component="div">
        Requested {when(r.requestedAt)} · expires{' '}
        <span data-testid={`${id}-expires`}>{when(r.expiresAt)}</span> ·
        branch {r.branch} · author {r.artifactAuthor}
      </Typography>
      {r.reason && (
        <Typography variant="body2">Reason: {r.reason}</Typography>
      )}
      <Typography variant="body2" color="textSecondary">
        Why it needs approval: {r.why.join('; ')}
      </Typography>
      <Box my={1} data-testid={`${id}-verdict`}>
        <Alert severity={r.verdict.allowed ? 'success' : 'error'}>
          Policy verdict: {r.verdict.allowed ? 'allowed' : 'refused'}
          {r.verdict.reason ? ` — ${r.verdict.reason}` : ''}
        </Alert>
      </Box>
      {showDiff && (
        <Box my={1} data-testid={`${id}-diff`}>
          <Typography variant="subtitle2">
            Changes in {r.environment} against commit{' '}
            <code>{shortSha(r.environmentCommit) || 'none'}</code>
            {r.runningArtifactId ? ` (running ${r.runningArtifactId})` : ''}
          </Typography>
          <DiffView diff={r.diff} />
        </Box>
      )}
      {r.status === 'pending' && !decided && (
        <Box mt={1}>
          <Box display="flex" style={{ gap: 8 }} alignItems="center">
            <Button
              variant="contained"
              color="primary"
              size="small"
              disabled={busy || !!disabledReason}
              onClick={() => decide('approve')}
              data-testid={`${id}-approve`}
            >
              Approve and release
            </Button>
            <Button
              variant="outlined"
              size="small"
              disabled={busy}
              onClick={() => setRejecting(v => !v)}
              data-testid={`${id}-reject`}
            >
              Reject
            </Button>
          </Box>
          {disabledReason && (
            <Typography
              variant="caption"
              color="error"
              component="div"
              data-testid={`${id}-why-not`}
            >
              You cannot approve: {disabledReason}
            </Typography>
          )}
          {rejecting && (
            <Box mt={1}>
              <TextField
                label="Why (required, shown to the requester)"
                required
                fullWidth
                variant="outlined"
                size="small"
                value={comment}
                onChange={e => setComment(e.target.value)}
                inputProps={{ maxLength: 500, 'data-testid': `${id}-reject-comment` }}
              />
              <Box mt={1}>
                <Button
                  size="small"
                  color="secondary"
                  variant="contained"
                  disabled={busy || !comment.trim()}
                  onClick={() => decide('reject')}
                  data-testid={`${id}-reject-confirm`}
                >
                  Confirm
                </Button>
              </Box>
            </Box>
          )}
        </Box>
      )}
      {outcome && (
        <Box mt={1} data-testid={`${id}-outcome`}>
          <Alert severity={outcome.severity}>{outcome.message}</Alert>
        </Box>
      )}
    </Box>
  );
}

/** Releases tab: the service's pending approval requests (nothing shown when there are none). */
export function PendingApprovalsPanel(props: {
  service: string;
  refreshKey?: number;
  onDecided: () => void;
}) {
  const { service, refreshKey, onDecided } = props;
  const api = useApi(releaseManagerApiRef);
  const pending = useAsync(
    () => api.getApprovals({ service, status: 'pending' }),
    [api, service, refreshKey],
  );
  if (pending.error) {
    return <ResponseErrorPanel error={pending.error} title="Approval requests" />;
  }
  if (!pending.value) return pending.loading ? <Progress /> : null;
  const items = pending.value.items.filter(r => r.status === 'pending');
  if (items.length === 0) return null;
  return (
    <Box data-testid="pending-approvals">
      <InfoCard title={`Waiting for approval (${items.length})`}>
        {items.map(r => (
          <ApprovalRequestCard key={r.id} request={r} onDecided={onDecided} />
        ))}
      </InfoCard>
    </Box>
  );
}

/** Home page ("Since yesterday" pane, its one place there): pending requests the signed-in person may approve. */
export function ApprovalsWaitingForMe() {
  const api = useApi(releaseManagerApiRef);
  const [refreshKey, setRefreshKey] = useState(0);
  const mine = useAsync(
    () => api.getApprovals({ mine: true }),
    [api, refreshKey],
  );
  if (mine.error) {
    return <ResponseErrorPanel error={mine.error} title="Approvals waiting for me" />;
  }
  if (!mine.value) return <Progress />;
  if (mine.value.items.length === 0) {
    return (
      <Typography color="textSecondary" data-testid="approvals-mine-empty">
        Nothing waits for your approval.
      </Typography>
    );
  }
  return (
    <Box data-testid="approvals-mine">
      {mine.value.items.map(r => (
        <Box key={r.id}>
          <ApprovalRequestCard
            request={r}
            showDiff={false}
            onDecided={() => setRefreshKey(k => k + 1)}
          />
          <Typography variant="caption">
            <a href={`/catalog/default/component/${encodeURIComponent(r.service)}/releases`}>
              Review the diff on {r.service}'s Releases tab
            </a>
          </Typography>
        </Box>
      ))}
    </Box>
  );
}

/** e.g. "Fri 4 Dec, 15:00 UTC" in the viewer's zone. */
export function at(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
}

export function range(o: { start: string; end: string }) {
  return `${at(o.start)} – ${at(o.end)}`;
}

/**
 * Freeze windows in force now (a release needs break-glass) and coming up, for one service (its
 * system's windows and its incident freeze).
 */
export function FreezeWindowsBanner(props: {
  service: string;
  /** The `getFreezeWindows({ service, days })` call's state, shared with the environment cards. */
  state: { loading: boolean; error?: Error; value?: FreezeWindowView[] };
}) {
  const windows = props.state;
  const prefix = 'freeze-windows';
  if (windows.error) {
    return (
      <Alert severity="warning" data-testid={`${prefix}-error`}>
        Could not load the freeze windows: {plainError(windows.error)}
      </Alert>
    );
  }
  if (!windows.value) return windows.loading ? <Progress /> : null;
  const active = windows.value.filter(w => w.current);
  const upcoming = windows.value.filter(w => !w.current && w.upcoming.length);
  if (!active.length && !upcoming.length) return null;
  return (
    <Box data-testid={prefix}>
      {active.map(w => (
        <Box mb={1} key={`now-${w.id}`}>
          <Alert severity="error" data-testid={testId(prefix, 'active', w.id)}>
            <AlertTitle>
              Frozen now: {w.title} ({w.environments.join(', ')})
            </AlertTitle>
            {describe(w)} In force until {at(w.current!.end)}.
            A release needs break-glass with a reason: platform writes it at
            once, anyone else's becomes a request a second person approves.
          </Alert>
        </Box>
      ))}
      {upcoming.length > 0 && (
        <Alert severity="info" data-testid={testId(prefix, 'upcoming')}>
          <AlertTitle>Upcoming freeze windows</AlertTitle>
          {upcoming.map(w => (
            <Typography variant="body2" key={w.id} data-testid={testId(prefix, 'upcoming', w.id)}>
              {w.title} ({w.environments.join(', ')}): {range(w.upcoming[0])} —{' '}
              {describe(w)}
            </Typography>
          ))}
        </Alert>
      )}
    </Box>
  );
}

function describe(w: FreezeWindowView): string {
  const scope = w.systems?.length ? `systems ${w.systems.join(', ')}` : 'org-wide';
  return `${w.schedule}, ${scope}.`;
}
