import useAsync from 'react-use/esm/useAsync';
import { InfoCard, Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import type { PushProgress, PushStep } from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { relativeTime, shortSha, testId } from './helpers';

const stepColors: Record<PushStep['status'], string> = {
  done: '#2e7d32',
  skipped: '#757575',
  refused: '#c62828',
  failed: '#c62828',
};

function stepLabel(step: string): string {
  if (step === 'received') return 'received';
  if (step === 'artifact') return 'artifact';
  if (step.startsWith('release:')) return `release to ${step.slice('release:'.length)}`;
  return step;
}

/**
 * The latest pushes of the service and what became of each: received → artifact created →
 * released (or refused, with the reason). Refreshed by the Releases tab's signals.
 */
export function PushProgressPanel(props: { service: string; refreshKey: number }) {
  const api = useApi(releaseManagerApiRef);
  const { service, refreshKey } = props;
  const pushes = useAsync(() => api.getPushes(service), [api, service, refreshKey]);
  const items: PushProgress[] = pushes.value?.items ?? [];

  return (
    <InfoCard title="Recent pushes" subheader="A push to the service's repository becomes an artifact. No container image is built by the embedded git host: the artifact carries the repository's manifests with the commit sha as image tag.">
      {pushes.error && <ResponseErrorPanel error={pushes.error} />}
      {!pushes.value && pushes.loading && <Progress />}
      {pushes.value && items.length === 0 && (
        <Typography color="textSecondary" data-testid="pushes-empty">
          No pushes yet. Push a commit to the repository to create an artifact.
        </Typography>
      )}
      {items.slice(0, 5).map(p => (
        <Box key={p.id} mb={1.5} data-testid={`push-${testId(p.sha.slice(0, 10))}`}>
          <Typography variant="body2">
            <code>{shortSha(p.sha)}</code> on <strong>{p.branch}</strong> by {p.pusher}{' '}
            <span title={p.createdAt}>{relativeTime(p.createdAt)}</span>
            {p.artifactId && <> → {p.artifactId}</>}
          </Typography>
          <Box display="flex" flexWrap="wrap" style={{ gap: 4 }} mt={0.5}>
            {p.steps.map((s, i) => (
              <Chip
                key={i}
                size="small"
                label={`${stepLabel(s.step)}: ${s.status}`}
                title={s.message}
                data-testid={`push-step-${testId(s.step)}-${s.status}`}
                style={{ backgroundColor: stepColors[s.status], color: '#fff' }}
              />
            ))}
          </Box>
          {p.steps
            .filter(s => s.status === 'refused' || s.status === 'failed')
            .map((s, i) => (
              <Typography key={i} variant="caption" color="error" component="div">
                {s.message}
              </Typography>
            ))}
        </Box>
      ))}
    </InfoCard>
  );
}
