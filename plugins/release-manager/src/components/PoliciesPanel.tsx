import { useState } from 'react';
import { InfoCard } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import IconButton from '@material-ui/core/IconButton';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemSecondaryAction from '@material-ui/core/ListItemSecondaryAction';
import ListItemText from '@material-ui/core/ListItemText';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import DeleteIcon from '@material-ui/icons/Delete';
import LockIcon from '@material-ui/icons/Lock';
import ListItemIcon from '@material-ui/core/ListItemIcon';
import Alert from '@material-ui/lab/Alert';
import {
  Environment,
  GuardrailView,
  ServicePolicies,
  releaseManagerPolicyWritePermission,
} from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../api';
import { plainError } from './common';
import { autoReleasePreview, branchRestrictionPreview, testId } from './helpers';

type Kind = 'auto-release' | 'branch-restriction';

function isValidRegex(value: string): boolean {
  // The server runs RE2 (no backreferences or lookaround); this catches typos early.
  if (/\\[1-9]|\(\?<?[=!]/.test(value)) return false;
  try {
    // eslint-disable-next-line no-new
    new RegExp(value);
    return true;
  } catch {
    return false;
  }
}

/** Plain-language lines of one environment's organisation guardrails. */
export function guardrailLines(g: GuardrailView): string[] {
  const lines: string[] = [];
  if (g.allowedBranches) {
    lines.push(
      `${g.environment}: only branches matching ${g.allowedBranches}${g.verifyBranch ? ', verified in the source repository' : ''} (${g.allowedBranchesSource ?? g.source})`,
    );
  }
  lines.push(
    `${g.environment}: ${g.allowedKinds ? `only kinds ${g.allowedKinds.join(', ')}` : 'namespaced kinds'}${g.allowClusterScoped ? ', cluster-scoped allowed' : ', no cluster-scoped kinds'}; namespaces: the service's own${g.allowedNamespaces.length ? ` and ${g.allowedNamespaces.join(', ')}` : ' only'} (${g.source})`,
  );
  if (g.uploaders) {
    lines.push(`${g.environment}: artifacts uploaded by the owners and ${g.uploaders.join(', ') || 'nobody else'} (${g.source}.uploaders)`);
  }
  return lines;
}

/** Auto-release and branch-restriction policies with plain-language previews; editable by owners. */
export function PoliciesPanel(props: {
  service: string;
  entityRef: string;
  policies: ServicePolicies;
  environments: Environment[];
  onChanged: () => void;
}) {
  const { service, entityRef, policies, environments, onChanged } = props;
  const api = useApi(releaseManagerApiRef);
  const write = usePermission({
    permission: releaseManagerPolicyWritePermission,
    resourceRef: entityRef,
  });
  const [kind, setKind] = useState<Kind>('auto-release');
  const [value, setValue] = useState('');
  const [environment, setEnvironment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      onChanged();
      return true;
    } catch (e) {
      setError(plainError(e));
      return false;
    } finally {
      setBusy(false);
    }
  };

  const add = async () => {
    const ok = await run(() =>
      kind === 'auto-release'
        ? api.setAutoReleasePolicy(service, { branch: value.trim(), environment })
        : api.setBranchRestrictionPolicy(service, {
            branchRegex: value.trim(),
            environment,
          }),
    );
    if (ok) setValue('');
  };

  const trimmed = value.trim();
  const regexProblem =
    kind === 'branch-restriction' && trimmed && !isValidRegex(trimmed)
      ? 'not a valid regular expression'
      : undefined;
  let preview: string | undefined;
  if (trimmed && environment && !regexProblem) {
    preview =
      kind === 'auto-release'
        ? autoReleasePreview({ branch: trimmed, environment })
        : branchRestrictionPreview({ branchRegex: trimmed, environment });
  }

  const rows = [
    ...policies.autoReleases.map(p => ({
      id: p.id,
      preview: autoReleasePreview(p),
      detail: `auto-release: ${p.branch} → ${p.environment}`,
    })),
    ...policies.branchRestrictions.map(p => ({
      id: p.id,
      preview: branchRestrictionPreview(p),
      detail: `branch restriction: ${p.branchRegex} → ${p.environment}`,
    })),
  ];
  const none = rows.length === 0;

  return (
    <InfoCard title="Policies">
      <Box data-testid="policies-panel">
        {none && (
          <Typography color="textSecondary" data-testid="policies-empty">
            {(policies.guardrails ?? []).some(g => g.allowedBranches)
              ? 'No service policies: every release is manual; the organisation guardrails above still apply.'
              : 'No policies: every release is manual and any branch may go anywhere.'}
          </Typography>
        )}
        {(policies.guardrails ?? []).length > 0 && (
          <Box mb={1} data-testid="guardrails">
            <Typography variant="subtitle2">
              Organisation guardrails (locked: set in config by platform; policies can only narrow them)
            </Typography>
            <List dense>
              {(policies.guardrails ?? []).flatMap(g =>
                guardrailLines(g).map((line, i) => (
                  <ListItem key={`${g.environment}-${i}`} data-testid={`guardrail-${testId(g.environment)}`}>
                    <ListItemIcon>
                      <LockIcon fontSize="small" titleAccess="locked" />
                    </ListItemIcon>
                    <ListItemText primary={line} />
                  </ListItem>
                )),
              )}
            </List>
          </Box>
        )}
        <List dense>
          {rows.map(p => (
            <ListItem key={p.id} data-testid={`policy-${testId(p.id)}`}>
              <ListItemText primary={p.preview} secondary={p.detail} />
              {write.allowed && (
                <ListItemSecondaryAction>
                  <IconButton
                    edge="end"
                    aria-label={`Delete policy: ${p.preview}`}
                    data-testid={`policy-delete-${testId(p.id)}`}
                    disabled={busy}
                    onClick={() => run(() => api.deletePolicy(service, p.id))}
                  >
                    <DeleteIcon />
                  </IconButton>
                </ListItemSecondaryAction>
              )}
            </ListItem>
          ))}
        </List>

        {error && (
          <Alert severity="error" data-testid="policy-error">
            {error}
          </Alert>
        )}

        {!write.loading && !write.allowed && (
          <Typography variant="caption" color="textSecondary" data-testid="policies-read-only">
            Only the owners of {service} can change its policies.
          </Typography>
        )}
        {write.allowed && (
          <Box mt={2} display="flex" flexWrap="wrap" alignItems="flex-start" style={{ gap: 12 }}>
            <TextField
              select
              size="small"
              variant="outlined"
              label="Policy"
              value={kind}
              onChange={e => setKind(e.target.value as Kind)}
              SelectProps={{ SelectDisplayProps: { 'data-testid': 'policy-kind' } as any }}
              style={{ minWidth: 180 }}
            >
              <MenuItem value="auto-release">Auto-release</MenuItem>
              <MenuItem value="branch-restriction">Branch restriction</MenuItem>
            </TextField>
            <TextField
              size="small"
              variant="outlined"
              label={kind === 'auto-release' ? 'Branch' : 'Branch regex'}
              placeholder={kind === 'auto-release' ? 'master' : '^(master|main)$'}
              value={value}
              error={!!regexProblem}
              helperText={regexProblem}
              onChange={e => setValue(e.target.value)}
              inputProps={{ 'data-testid': 'policy-value' }}
            />
            <TextField
              select
              size="small"
              variant="outlined"
              label="Environment"
              value={environment}
              onChange={e => setEnvironment(e.target.value)}
              SelectProps={{ SelectDisplayProps: { 'data-testid': 'policy-environment' } as any }}
              style={{ minWidth: 160 }}
            >
              {environments.map(e => (
                <MenuItem key={e.name} value={e.name}>
                  {e.name}
                </MenuItem>
              ))}
            </TextField>
            <Button
              variant="contained"
              color="primary"
              disabled={!preview || busy}
              onClick={add}
              data-testid="policy-add"
            >
              Add policy
            </Button>
          </Box>
        )}
        {write.allowed && preview && (
          <Typography variant="body2" data-testid="policy-preview" style={{ marginTop: 8 }}>
            Preview: {preview}
          </Typography>
        )}
      </Box>
    </InfoCard>
  );
}
