import { useEffect, useState } from 'react';
import {
  Box,
  Button,
  Chip,
  List,
  ListItem,
  ListItemSecondaryAction,
  ListItemText,
  Typography,
} from '@material-ui/core';
import {
  CodeSnippet,
  EmptyState,
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import {
  Incident,
  IncidentEvent,
  OnCallPerson,
  OnCallResponse,
  oncallSignalChannel,
} from '@devplane/plugin-oncall-common';
import { useSignal } from '@backstage/plugin-signals-react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { onCallApiRef } from '../api';
import { TriggerIncidentDialog } from './TriggerIncidentDialog';

/** The release manager's service name when it differs from the entity name. */
const SHUTTLE_SERVICE_ANNOTATION = 'devplane.io/shuttle-service';

const EXAMPLE = `# app-config.yaml — a built-in rotation named after the owning group
oncall:
  rotations:
    - name: payments
      members: [anna.jensen, erik.berg]
      handoffTime: '09:00'   # UTC
      lengthDays: 7

# or, for PagerDuty, on the component's catalog-info.yaml
metadata:
  annotations:
    pagerduty.com/escalation-policy-id: PXXXXXX
    pagerduty.com/service-id: PYYYYYY`;

const People = ({ people }: { people: OnCallPerson[] }) => (
  <>
    {people.map(p => (
      <Box key={p.id} mb={0.5}>
        <Typography variant="body1">
          {p.url ? <Link to={p.url}>{p.name}</Link> : p.name}
        </Typography>
        {(
          p.contacts ?? (p.email ? [{ type: 'email', address: p.email }] : [])
        ).map(c => (
          <Typography
            key={`${c.type}:${c.address}`}
            variant="body2"
            color="textSecondary"
          >
            {c.type}:{' '}
            {c.type === 'email' ? (
              <Link to={`mailto:${c.address}`}>{c.address}</Link>
            ) : (
              c.address
            )}
          </Typography>
        ))}
      </Box>
    ))}
  </>
);

const who = (refs: string[] = []) =>
  refs.map(r => r.replace(/^user:(default\/)?/, '')).join(', ');

function describeEvent(e: IncidentEvent): string {
  switch (e.type) {
    case 'triggered':
      return `triggered by ${who([e.actor ?? ''])}`;
    case 'joined':
      return `${who([e.actor ?? ''])} reported it too`;
    case 'paged':
      return `level ${e.level} paged: ${who(e.people)}`;
    case 'escalated':
      return `escalated to level ${e.level} (${e.detail ?? 'not acknowledged'})`;
    case 'notification-failed':
      return `notification failed: level ${e.level} (${who(e.people)}) was not reached`;
    default:
      return `${e.type} by ${who([e.actor ?? ''])}`;
  }
}

/** The incident's steps (paged, escalated, acknowledged ...), oldest first. */
const Timeline = ({ events }: { events: IncidentEvent[] }) => (
  <Box component="ol" aria-label="Incident timeline" m={0} pl={2}>
    {events.map((e, i) => (
      <Typography
        component="li"
        variant="caption"
        display="block"
        key={i}
        color={e.type === 'notification-failed' ? 'error' : 'textSecondary'}
      >
        {new Date(e.at).toLocaleTimeString()} — {describeEvent(e)}
      </Typography>
    ))}
  </Box>
);

const IncidentRow = (props: {
  incident: Incident;
  onAction: (action: 'acknowledge' | 'resolve', id: string) => void;
  busy: boolean;
}) => {
  const { incident } = props;
  const pages = (incident.timeline ?? []).filter(
    e => e.type === 'paged' || e.type === 'notification-failed',
  );
  const failedPage = pages[pages.length - 1]?.type === 'notification-failed';
  return (
    <ListItem divider>
      <ListItemText
        primary={
          <>
            <Chip
              size="small"
              label={incident.status}
              color={incident.status === 'triggered' ? 'secondary' : 'default'}
              style={{ marginRight: 8 }}
            />
            {incident.url ? (
              <Link to={incident.url}>{incident.title}</Link>
            ) : (
              incident.title
            )}
            {incident.escalationLevel !== undefined &&
              incident.escalationLevels !== undefined &&
              incident.escalationLevels > 0 && (
                <Chip
                  size="small"
                  variant="outlined"
                  label={`level ${incident.escalationLevel} of ${incident.escalationLevels}`}
                  style={{ marginLeft: 8 }}
                />
              )}
            {failedPage && (
              <Chip
                size="small"
                color="secondary"
                label="notification failed"
                style={{ marginLeft: 8 }}
              />
            )}
          </>
        }
        secondaryTypographyProps={{ component: 'div' }}
        secondary={
          <>
            {`${incident.severity} · ${new Date(
              incident.createdAt,
            ).toLocaleString()}${
              incident.reporters?.length
                ? ` · reported by ${who(incident.reporters)}`
                : ''
            }${
              !incident.reporters?.length && incident.triggeredBy
                ? ` · by ${incident.triggeredBy}`
                : ''
            }${
              !incident.timeline && incident.assignedTo
                ? ` · paged ${incident.assignedTo}`
                : ''
            }`}
            {incident.timeline && incident.timeline.length > 0 && (
              <Timeline events={incident.timeline} />
            )}
          </>
        }
      />
      {incident.actionable && (
        <ListItemSecondaryAction>
          {incident.status === 'triggered' && (
            <Button
              size="small"
              disabled={props.busy}
              onClick={() => props.onAction('acknowledge', incident.id)}
            >
              Acknowledge
            </Button>
          )}
          <Button
            size="small"
            disabled={props.busy}
            onClick={() => props.onAction('resolve', incident.id)}
          >
            Resolve
          </Button>
        </ListItemSecondaryAction>
      )}
    </ListItem>
  );
};

const Configured = (props: {
  data: Extract<OnCallResponse, { configured: true }>;
  onTrigger: () => void;
  onAction: (action: 'acknowledge' | 'resolve', id: string) => void;
  busy: boolean;
  actionError?: string;
}) => {
  const { data } = props;
  return (
    <>
      <Box
        display="flex"
        justifyContent="space-between"
        alignItems="flex-start"
        mb={2}
      >
        <Box>
          <Typography variant="overline">On call now</Typography>
          {data.now.length ? (
            <People people={data.now} />
          ) : (
            <Typography variant="body2">
              Nobody is on call right now.
            </Typography>
          )}
        </Box>
        <Box textAlign="right">
          <Chip size="small" label={`${data.provider}: ${data.schedule}`} />
          <Box mt={1}>
            <Button
              variant="contained"
              color="secondary"
              onClick={props.onTrigger}
              disabled={!data.canTrigger}
              title={
                data.canTrigger
                  ? undefined
                  : 'You are not allowed to trigger incidents for this service'
              }
            >
              Trigger incident
            </Button>
          </Box>
        </Box>
      </Box>
      {data.next.length > 0 && (
        <Box mb={2}>
          <Typography variant="overline">
            Next
            {data.handoffAt
              ? ` (from ${new Date(data.handoffAt).toLocaleString()})`
              : ''}
          </Typography>
          <People people={data.next} />
        </Box>
      )}
      {data.escalation.length > 0 && (
        <Box mb={2}>
          <Typography variant="overline">Escalation path</Typography>
          {data.escalation.map(level => (
            <Typography key={level.level} variant="body2">
              Level {level.level}:{' '}
              {level.people.map(p => p.name).join(', ') || '—'}
            </Typography>
          ))}
        </Box>
      )}
      <Typography variant="overline">Open incidents</Typography>
      {props.actionError && (
        <ResponseErrorPanel error={new Error(props.actionError)} />
      )}
      {data.openIncidents.length === 0 ? (
        <Typography variant="body2">No open incidents.</Typography>
      ) : (
        <List dense disablePadding>
          {data.openIncidents.map(i => (
            <IncidentRow
              key={i.id}
              incident={i}
              onAction={props.onAction}
              busy={props.busy}
            />
          ))}
        </List>
      )}
    </>
  );
};

/**
 * Who is on call for the current entity, its escalation path and open
 * incidents, with a button that pages the on-call person.
 *
 * @public
 */
export const EntityOnCallCard = () => {
  const { entity } = useEntity();
  const api = useApi(onCallApiRef);
  const ref = getCompoundEntityRef(entity);
  const service =
    entity.metadata.annotations?.[SHUTTLE_SERVICE_ANNOTATION] || entity.metadata.name;
  const [dialogOpen, setDialogOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string>();

  const { value, loading, error, retry } = useAsyncRetry(
    () => api.getOnCall(ref),
    [api, ref.kind, ref.namespace, ref.name],
  );

  // live: the backend signals every change to this entity's incidents (trigger, join, page,
  // escalation, acknowledge, resolve), from any replica
  const { lastSignal } = useSignal(
    oncallSignalChannel(stringifyEntityRef(entity)),
  );
  useEffect(() => {
    if (lastSignal) retry();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);

  const onAction = async (action: 'acknowledge' | 'resolve', id: string) => {
    setBusy(true);
    setActionError(undefined);
    try {
      if (action === 'acknowledge') await api.acknowledgeIncident(id);
      else await api.resolveIncident(id);
      retry();
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  let content;
  if (loading && !value) {
    content = <Progress />;
  } else if (error) {
    content = <ResponseErrorPanel error={error} />;
  } else if (!value || !value.configured) {
    content = (
      <EmptyState
        missing="info"
        title="No on-call configured"
        description={
          value && !value.configured
            ? value.help
            : 'Nobody can be paged for this entity yet.'
        }
        action={<CodeSnippet language="yaml" text={EXAMPLE} />}
      />
    );
  } else {
    content = (
      <Configured
        data={value}
        onTrigger={() => setDialogOpen(true)}
        onAction={onAction}
        busy={busy}
        actionError={actionError}
      />
    );
  }

  return (
    <InfoCard title="On call">
      {content}
      {value?.configured && (
        <TriggerIncidentDialog
          open={dialogOpen}
          entity={ref}
          service={service}
          onCall={value.now}
          onClose={() => setDialogOpen(false)}
          onTriggered={() => retry()}
        />
      )}
    </InfoCard>
  );
};
