import { useState } from 'react';
import {
  Button,
  CircularProgress,
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
import { onCallApiRef, PRODUCTION_ENVIRONMENT, RollbackOutcome } from '../api';

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
export const ProductionReleases = (props: { service: string }) => {
  const api = useApi(onCallApiRef);
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
    setBusyFor(artifactId);
    setOutcome(undefined);
    try {
      const result = await api.rollbackProduction(props.service, artifactId);
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
                  onClick={() => rollback(r.artifactId)}
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
