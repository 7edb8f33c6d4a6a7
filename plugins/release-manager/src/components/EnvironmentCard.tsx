import { InfoCard, Link } from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import {
  Environment,
  EnvironmentStatus,
  FreezeWindowView,
} from '@devplane/plugin-release-manager-common';
import { at, range } from './Approvals';
import { RolloutStatus } from './common';
import {
  firstLine,
  intentLabels,
  relativeTime,
  shortSha,
  testId,
} from './helpers';
import { ReleaseAction } from './ReleaseDialog';
import { GuardResult } from './useReleaseGuard';

function Field(props: { label: string; children: React.ReactNode }) {
  return (
    <Box display="flex" mb={0.5}>
      <Typography
        variant="body2"
        color="textSecondary"
        style={{ minWidth: 96, flexShrink: 0 }}
      >
        {props.label}
      </Typography>
      <Typography variant="body2" component="div" style={{ minWidth: 0 }}>
        {props.children}
      </Typography>
    </Box>
  );
}

/** What runs in one environment, with "promote to next" and "roll back". */
export function EnvironmentCard(props: {
  environment: Environment;
  status?: EnvironmentStatus;
  next?: Environment;
  /** Freeze windows of this environment in force now or coming up. */
  freezes?: FreezeWindowView[];
  guard: (branch: string, environment: Environment) => GuardResult;
  onAction: (action: ReleaseAction) => void;
  onRollback: (environment: string, currentArtifactId?: string) => void;
}) {
  const { environment, status, next, guard, onAction, onRollback } = props;
  const artifact = status?.artifact;
  const release = status?.release;
  const env = environment.name;
  const promoteGuard = artifact && next ? guard(artifact.branch, next) : undefined;

  return (
    <Box data-testid={`env-card-${testId(env)}`} height="100%">
      <InfoCard
        title={
          <span>
            {env}{' '}
            {environment.production && (
              <Chip size="small" color="secondary" label="production" />
            )}{' '}
            {environment.requireApproval && (
              <Chip
                size="small"
                variant="outlined"
                label="four eyes"
                title="A person's release here needs someone else's approval"
                data-testid={`env-four-eyes-${testId(env)}`}
              />
            )}
          </span>
        }
        noPadding={false}
      >
        {status?.outsideChanges?.length ? (
          <Box
            mb={2}
            p={1}
            border={1}
            borderColor="error.main"
            borderRadius={4}
            data-testid={`env-outside-${testId(env)}`}
          >
            <Typography variant="subtitle2" color="error">
              Changed outside the release manager
            </Typography>
            {status.outsideChanges.map(change => (
              <Box key={change.commit} mt={0.5}>
                <Field label="Commit">
                  <code>{shortSha(change.commit)}</code> {firstLine(change.subject)}
                </Field>
                <Field label="Pushed by">{change.pusher} (unverified, not signed by the release manager)</Field>
                <Field label="Paths">{change.paths.slice(0, 5).join(', ')}{change.paths.length > 5 ? ', …' : ''}</Field>
              </Box>
            ))}
            <Typography variant="caption" color="textSecondary" component="div">
              Nothing is released to the config repo until platform reverts or adopts this change.
            </Typography>
          </Box>
        ) : null}
        {props.freezes?.map(w => (
          <Box mb={1} key={w.id} data-testid={`env-freeze-${testId(env)}-${testId(w.id)}`}>
            <Typography
              variant="body2"
              color={w.current ? 'error' : 'textSecondary'}
            >
              {w.current
                ? `Frozen until ${at(w.current.end)} (${w.title}): releases need break-glass`
                : `Freeze ahead: ${w.title}, ${range(w.upcoming[0])}`}
            </Typography>
          </Box>
        ))}
        {!artifact && !release && (
          <Typography color="textSecondary" data-testid={`env-empty-${testId(env)}`}>
            Nothing released to {env} yet.
          </Typography>
        )}
        {(artifact || release) && (
          <Box>
            <Typography
              variant="subtitle1"
              data-testid={`env-artifact-${testId(env)}`}
              style={{ wordBreak: 'break-all' }}
            >
              {artifact?.id ?? release?.artifactId}
            </Typography>
            {artifact && (
              <>
                <Field label="Branch">{artifact.branch}</Field>
                <Field label="Commit">
                  <code>{shortSha(artifact.sha)}</code>{' '}
                  {firstLine(artifact.message)}
                </Field>
                <Field label="Author">{artifact.authorName}</Field>
                {artifact.ciJobUrl && (
                  <Field label="CI">
                    <Link to={artifact.ciJobUrl}>build log</Link>
                  </Field>
                )}
              </>
            )}
            {release && (
              <>
                <Field label="Released">
                  {intentLabels[release.intent]} by {release.releasedBy}{' '}
                  <span title={release.releasedAt}>
                    {relativeTime(release.releasedAt)}
                  </span>
                </Field>
                {release.reason && (
                  <Field label="Reason">{release.reason}</Field>
                )}
                {release.approvedBy && (
                  <Field label="Approved by">
                    <span data-testid={`env-approved-by-${testId(env)}`}>
                      {release.approvedBy}
                    </span>
                  </Field>
                )}
                {release.breakGlass && (
                  <Field label="Break-glass">
                    <Chip
                      size="small"
                      color="secondary"
                      label={`BREAK-GLASS: ${release.breakGlass}`}
                      data-testid={`env-break-glass-${testId(env)}`}
                    />
                  </Field>
                )}
                <Field label="Rollout">
                  <RolloutStatus
                    rollout={release.rollout}
                    testId={`rollout-status-${testId(env)}`}
                  />
                </Field>
              </>
            )}
          </Box>
        )}
        <Box mt={2} display="flex" flexWrap="wrap" style={{ gap: 8 }}>
          {artifact && next && promoteGuard && (
            <Box>
              <Button
                size="small"
                variant="outlined"
                color="primary"
                disabled={!promoteGuard.allowed}
                aria-label={`Promote ${artifact.id} from ${env} to ${next.name}`}
                data-testid={`promote-${testId(env)}-to-${testId(next.name)}`}
                onClick={() =>
                  onAction({
                    kind: 'promote',
                    artifact,
                    fromEnvironment: env,
                    environment: next.name,
                  })
                }
              >
                Promote to {next.name}
              </Button>
              {promoteGuard.reason && (
                <Typography
                  variant="caption"
                  color="error"
                  component="div"
                  data-testid={`promote-blocked-${testId(env)}-to-${testId(next.name)}`}
                >
                  {promoteGuard.reason}
                </Typography>
              )}
            </Box>
          )}
          {(artifact || release) && (
            <Button
              size="small"
              variant="outlined"
              aria-label={`Roll back ${env}`}
              data-testid={`rollback-${testId(env)}`}
              onClick={() =>
                onRollback(env, artifact?.id ?? release?.artifactId)
              }
            >
              Roll back
            </Button>
          )}
        </Box>
      </InfoCard>
    </Box>
  );
}
