import { useState } from 'react';
import {
  Button,
  CircularProgress,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControl,
  InputLabel,
  MenuItem,
  Select,
  TextField,
} from '@material-ui/core';
import Alert from '@material-ui/lab/Alert';
import { CompoundEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import {
  INCIDENT_SEVERITIES,
  IncidentSeverity,
  OnCallPerson,
  TriggerIncidentResponse,
} from '@devplane/plugin-oncall-common';
import { onCallApiRef } from '../api';
import { ProductionReleases } from './ProductionReleases';

/** Who the last page went to and whether it was delivered, from the incident's timeline. */
function lastPage(result: TriggerIncidentResponse) {
  const pages = (result.incident.timeline ?? []).filter(
    e => e.type === 'paged' || e.type === 'notification-failed',
  );
  return pages[pages.length - 1];
}

const names = (refs: string[] = []) =>
  refs.map(r => r.replace(/^user:(default\/)?/, '')).join(', ');

/** What happened to a trigger: opened and paged, paged but undelivered, or joined. */
export const TriggerOutcome = ({
  result,
}: {
  result: TriggerIncidentResponse;
}) => {
  const { incident } = result;
  if (result.joined) {
    return (
      <Alert severity="info">
        This outage was already reported: you joined the open incident{' '}
        <strong>{incident.id}</strong> ({incident.title}), reported by{' '}
        {names(incident.reporters?.slice(0, -1) ?? [incident.triggeredBy ?? ''])}
        . It is <strong>{incident.status}</strong>; nobody was paged again.
      </Alert>
    );
  }
  if (result.deduplicated) {
    return (
      <Alert severity="info">
        Already open: <strong>{incident.id}</strong> is{' '}
        <strong>{incident.status}</strong>.
      </Alert>
    );
  }
  const page = lastPage(result);
  let paged = '.';
  if (page) paged = `, ${names(page.people)} has been paged.`;
  else if (incident.assignedTo) paged = `, sent to ${incident.assignedTo}.`;
  if (page?.type === 'notification-failed') {
    return (
      <Alert severity="warning">
        Incident <strong>{incident.id}</strong> is{' '}
        <strong>{incident.status}</strong>, but the notification to{' '}
        {names(page.people)} failed: call them directly.
      </Alert>
    );
  }
  return (
    <Alert severity="success">
      Incident <strong>{incident.id}</strong> is{' '}
      <strong>{incident.status}</strong>
      {paged}
    </Alert>
  );
};

/**
 * The Trigger dialog: description (required) and severity; reports the incident id and status.
 * Below, the service's last production releases with a rollback button (when the release
 * manager is installed).
 */
export const TriggerIncidentDialog = (props: {
  open: boolean;
  entity: CompoundEntityRef;
  /** Service name in the release manager; default the entity name. */
  service?: string;
  onCall: OnCallPerson[];
  onClose: () => void;
  onTriggered: (result: TriggerIncidentResponse) => void;
}) => {
  const api = useApi(onCallApiRef);
  const [description, setDescription] = useState('');
  const [severity, setSeverity] = useState<IncidentSeverity>('critical');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [result, setResult] = useState<TriggerIncidentResponse>();

  const missing = description.trim().length === 0;

  const close = () => {
    setDescription('');
    setSeverity('critical');
    setTouched(false);
    setError(undefined);
    setResult(undefined);
    props.onClose();
  };

  const submit = async () => {
    setTouched(true);
    if (missing || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const res = await api.triggerIncident(props.entity, {
        description: description.trim(),
        severity,
      });
      setResult(res);
      props.onTriggered(res);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const paged =
    props.onCall.map(p => p.name).join(', ') || 'the on-call person';

  return (
    <Dialog open={props.open} onClose={close} fullWidth maxWidth="sm">
      <DialogTitle>Trigger an incident for {props.entity.name}</DialogTitle>
      <DialogContent>
        {result ? (
          <TriggerOutcome result={result} />
        ) : (
          <>
            <DialogContentText>
              This pages {paged} right away.
            </DialogContentText>
            <TextField
              required
              fullWidth
              multiline
              minRows={2}
              margin="dense"
              label="What is wrong?"
              value={description}
              onChange={e => setDescription(e.target.value)}
              onBlur={() => setTouched(true)}
              error={touched && missing}
              helperText={
                touched && missing ? 'A description is required' : ' '
              }
              inputProps={{ maxLength: 1024, 'aria-label': 'description' }}
            />
            <FormControl fullWidth margin="dense">
              <InputLabel id="oncall-severity-label">Severity</InputLabel>
              <Select
                labelId="oncall-severity-label"
                value={severity}
                onChange={e => setSeverity(e.target.value as IncidentSeverity)}
                inputProps={{ 'aria-label': 'severity' }}
              >
                {INCIDENT_SEVERITIES.map(s => (
                  <MenuItem key={s} value={s}>
                    {s}
                  </MenuItem>
                ))}
              </Select>
            </FormControl>
            {error && (
              <Alert severity="error" style={{ marginTop: 8 }}>
                {error}
              </Alert>
            )}
          </>
        )}
        <ProductionReleases
          service={props.service ?? props.entity.name}
          incident={
            result
              ? { id: result.incident.id, title: result.incident.title }
              : undefined
          }
        />
      </DialogContent>
      <DialogActions>
        <Button onClick={close}>{result ? 'Close' : 'Cancel'}</Button>
        {!result && (
          <Button
            color="secondary"
            variant="contained"
            onClick={submit}
            disabled={busy || (touched && missing)}
            startIcon={busy ? <CircularProgress size={16} /> : undefined}
          >
            Trigger
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
};
