import { useState } from 'react';
import {
  Button,
  CircularProgress,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  List,
  ListItem,
  ListItemSecondaryAction,
  ListItemText,
  Typography,
  Chip,
} from '@material-ui/core';
import Alert from '@material-ui/lab/Alert';
import { useApi } from '@backstage/core-plugin-api';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import {
  onCallApiRef,
  PRODUCTION_ENVIRONMENT,
  RollbackIncident,
  RollbackOutcome,
} from '../api';

/** "5 minutes ago", "3 hours ago", "2 days ago"; the full time is in the tooltip. */
export function ago(iso: string, now = Date.now()): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  const unit = (n: number, u: string) => `${n} ${u}${n === 1 ? '' : 's'} ago`;
  if (s < 60) return 'just now';
  if (s < 3600) return unit(Math.floor(s / 60), 'minute');
  if (s < 86400) return unit(Math.floor(s / 3600), 'hour');
  return unit(Math.floor(s / 86400), 'day');
}

/** The backend's own words from a ResponseError, else the error message. */
function plainMessage(e: unknown): string {
  const err = e as any;
  return err?.body?.error?.message ?? err?.message ?? String(e);
}

/**
 * The service's last production releases (release manager), the newest marked "running",
 * each earlier artifact with a "Roll back to this" button. Renders nothing when the release
 * manager is not installed, does not know the service, or nothing was released yet.
 */
/**
 * Asks before a production rollback: what runs now, what will run, which manifest files change,
 * and the incident recorded as the reason.
 */
const ConfirmRollback = (props: {
  service: string;
  running: string;
  target: string;
  incident?: RollbackIncident;
  onCancel: () => void;
  onConfirm: () => void;
}) => {
  const api = useApi(onCallApiRef);
  const preview = useAsyncRetry(
    () => api.previewRollback(props.service, props.target),
    [api, props.service, props.target],
  );
  const changed = preview.value?.files.filter(f => f.change !== 'unchanged');
  return (
    <Dialog
      open
      onClose={props.onCancel}
      fullWidth
      maxWidth="sm"
      aria-labelledby="oncall-rollback-confirm-title"
    >
      <DialogTitle id="oncall-rollback-confirm-title">
        Roll {props.service} back in {PRODUCTION_ENVIRONMENT}?
      </DialogTitle>
      <DialogContent>
        <Typography variant="body2">
          {PRODUCTION_ENVIRONMENT} runs <code>{props.running}</code> now; after the rollback it
          runs <code>{props.target}</code>. The production freeze is overridden for this
          rollback.
        </Typography>
        <Typography variant="body2" style={{ marginTop: 8 }}>
          Reason recorded in the release:{' '}
          {props.incident ? (
            <strong>
              incident {props.incident.id} ({props.incident.title})
            </strong>
          ) : (
            <strong>rollback from incident</strong>
          )}
        </Typography>
        <Typography variant="subtitle2" style={{ marginTop: 12 }}>
          Manifest changes
        </Typography>
        {preview.loading && <CircularProgress size={14} />}
        {preview.error && (
          <Alert severity="warning">
            Could not load what changes: {plainMessage(preview.error)}
          </Alert>
        )}
        {changed && changed.length === 0 && (
          <Typography variant="body2">No manifest changes.</Typography>
        )}
        {changed && changed.length > 0 && (
          <List dense disablePadding aria-label="Manifest changes">
            {changed.map(f => (
              <ListItem key={f.path} disableGutters>
                <ListItemText primary={`${f.change}: ${f.path}`} />
              </ListItem>
            ))}
          </List>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onCancel}>Cancel</Button>
        <Button
          color="secondary"
          variant="contained"
          onClick={props.onConfirm}
          aria-label={`Confirm rollback to ${props.target}`}
        >
          Roll back
        </Button>
      </DialogActions>
    </Dialog>
  );
};

export const ProductionReleases = (props: {
  service: string;
  /** The incident the rollback answers, recorded as its reason. */
  incident?: RollbackIncident;
}) => {
  const api = useApi(onCallApiRef);
  const [confirming, setConfirming] = useState<string>();
  const [busyFor, setBusyFor] = useState<string>();
  const [outcome, setOutcome] = useState<
    { ok: true; result: RollbackOutcome } | { ok: false; artifactId: string; message: string }
  >();

  const { value, loading, error, retry } = useAsyncRetry(
    () => api.getProductionReleases(props.service, 5),
    [api, props.service],
  );

  if (loading && !value) {
    return (
      <Typography component="div" variant="body2" color="textSecondary" style={{ marginTop: 16 }}>
        <CircularProgress size={12} /> Loading production releases…
      </Typography>
    );
  }
  if (error) {
    return (
      <Typography variant="body2" color="textSecondary" style={{ marginTop: 16 }}>
        Could not load the production releases of {props.service}: {plainMessage(error)}
      </Typography>
    );
  }
  if (!value || value.length === 0) return null;

  const running = value[0].artifactId;

  const rollback = async (artifactId: string) => {
    setConfirming(undefined);
    setBusyFor(artifactId);
    setOutcome(undefined);
    try {
      const result = await api.rollbackProduction(
        props.service,
        artifactId,
        props.incident,
      );
      setOutcome({ ok: true, result });
      retry();
    } catch (e) {
      setOutcome({ ok: false, artifactId, message: plainMessage(e) });
    } finally {
      setBusyFor(undefined);
    }
  };

  return (
    <section aria-label="Last production releases" style={{ marginTop: 16 }}>
      <Typography variant="subtitle2">
        Last releases of {props.service} to {PRODUCTION_ENVIRONMENT}
      </Typography>
      <List dense disablePadding>
        {value.map((r, index) => (
          <ListItem key={r.id} disableGutters>
            <ListItemText
              primary={
                <>
                  <code>{r.artifactId}</code>{' '}
                  {index === 0 && <Chip component="span" size="small" color="primary" label="running" />}
                </>
              }
              secondary={
                <span title={new Date(r.releasedAt).toLocaleString()}>
                  {r.intent === 'rollback' ? 'rolled back' : 'released'} by {r.releasedBy},{' '}
                  {ago(r.releasedAt)}
                </span>
              }
            />
            {index > 0 && r.artifactId !== running && (
              <ListItemSecondaryAction>
                <Button
                  size="small"
                  variant="outlined"
                  disabled={busyFor !== undefined}
                  onClick={() => setConfirming(r.artifactId)}
                  aria-label={`Roll back to ${r.artifactId}`}
                  startIcon={busyFor === r.artifactId ? <CircularProgress size={14} /> : undefined}
                >
                  {busyFor === r.artifactId ? 'Rolling back…' : 'Roll back to this'}
                </Button>
              </ListItemSecondaryAction>
            )}
          </ListItem>
        ))}
      </List>
      {confirming && (
        <ConfirmRollback
          service={props.service}
          running={running}
          target={confirming}
          incident={props.incident}
          onCancel={() => setConfirming(undefined)}
          onConfirm={() => rollback(confirming)}
        />
      )}
      {outcome?.ok === true && (
        <Alert severity={outcome.result.changed ? 'success' : 'info'}>
          {outcome.result.message}
        </Alert>
      )}
      {outcome?.ok === false && (
        <Alert severity="error">
          Rollback to {outcome.artifactId} failed: {outcome.message}
        </Alert>
      )}
    </section>
  );
};
