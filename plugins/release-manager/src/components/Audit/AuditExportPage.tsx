import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useAsyncFn from 'react-use/esm/useAsyncFn';
import useDebounce from 'react-use/esm/useDebounce';
import {
  Content,
  EmptyState,
  Header,
  InfoCard,
  Page,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import MenuItem from '@material-ui/core/MenuItem';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import GetAppIcon from '@material-ui/icons/GetApp';
import type { AuditExportFormat, AuditExportQueryParams, AuditExportRow } from '@devplane/plugin-release-manager-common';
import { releaseManagerApiRef } from '../../api';
import { shortSha } from '../helpers';

export const AUDIT_PAGE_SIZE = 20;
const DAY_MS = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** What an auditor should look at twice: break-glass, freeze override, outside change, unverified signature. */
export function auditFlags(row: AuditExportRow): Array<{ label: string; title: string }> {
  const flags: Array<{ label: string; title: string }> = [];
  if (row.break_glass) flags.push({ label: 'break-glass', title: row.break_glass_reason || 'break-glass' });
  if (row.freeze_override || row.freeze_window) {
    flags.push({
      label: 'freeze override',
      title: [row.freeze_window, row.freeze_override].filter(Boolean).join(': '),
    });
  }
  if (row.kind === 'outside-change') flags.push({ label: 'outside change', title: 'committed outside the release manager' });
  if (!row.signature_verified) flags.push({ label: 'unverified signature', title: `signature: ${row.signature}` });
  return flags;
}

/** Saves a blob as a file in the browser (an object URL clicked through a temporary link). */
export function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // the browser reads the blob after the click returns: keep the URL a while
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The audit export's filters, the preview (paged) and the downloads, without the page frame. */
export function AuditExportContent() {
  const api = useApi(releaseManagerApiRef);
  const environments = useAsync(() => api.getEnvironments(), [api]);
  const [from, setFrom] = useState(() => isoDay(Date.now() - 30 * DAY_MS));
  const [to, setTo] = useState(() => isoDay(Date.now()));
  const [environment, setEnvironment] = useState('');
  const [serviceInput, setServiceInput] = useState('');
  const [squadInput, setSquadInput] = useState('');
  const [service, setService] = useState('');
  const [squad, setSquad] = useState('');
  useDebounce(() => setService(serviceInput.trim()), 300, [serviceInput]);
  useDebounce(() => setSquad(squadInput.trim()), 300, [squadInput]);
  const [offset, setOffset] = useState(0);
  const query: AuditExportQueryParams = {
    from: from || undefined,
    to: to || undefined,
    environment: environment || undefined,
    service: service || undefined,
    squad: squad || undefined,
  };
  const filterKey = JSON.stringify(query);
  const [lastFilterKey, setLastFilterKey] = useState(filterKey);
  if (filterKey !== lastFilterKey) {
    setLastFilterKey(filterKey);
    setOffset(0);
  }
  const both = Boolean(service && squad);
  const page = useAsync(
    async () => (both ? undefined : api.getAuditPreview({ ...query, limit: AUDIT_PAGE_SIZE, offset })),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, filterKey, offset, both],
  );
  const [download, startDownload] = useAsyncFn(
    async (format: AuditExportFormat) => {
      // What the fields show, not the debounced preview filter: a click right after typing must
      // export exactly what the boxes say (an auditor reads the boxes, not the preview's timing).
      const file = await api.downloadAuditExport({
        ...query,
        service: serviceInput.trim() || undefined,
        squad: squadInput.trim() || undefined,
        format,
      });
      saveBlob(file.blob, file.filename);
      return file.filename;
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, filterKey, serviceInput, squadInput],
  );

  let content;
  if (both) {
    content = <Typography color="error">Give a service or a squad, not both.</Typography>;
  } else if (page.error) {
    content = <ResponseErrorPanel error={page.error} />;
  } else if (page.loading && !page.value) {
    content = <Progress />;
  } else if (!page.value || page.value.items.length === 0) {
    content = (
      <EmptyState
        missing="data"
        title={offset ? 'No more changes' : 'No changes in this range'}
        description="Nothing in the config repo's history matches these filters: widen the dates or clear a filter."
      />
    );
  } else {
    const { items, more } = page.value;
    content = (
      <>
        <Table size="small" data-testid="audit-preview-table">
          <TableHead>
            <TableRow>
              <TableCell>Committed</TableCell>
              <TableCell>Environment</TableCell>
              <TableCell>Service</TableCell>
              <TableCell>Kind</TableCell>
              <TableCell>Requested by</TableCell>
              <TableCell>Approved by</TableCell>
              <TableCell>Artifact</TableCell>
              <TableCell>Rollout</TableCell>
              <TableCell>Flags</TableCell>
              <TableCell>Commit</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {items.map(r => (
              <TableRow key={`${r.commit}-${r.environment}-${r.service}`} data-testid={`audit-row-${r.seq}-${r.service}`}>
                <TableCell>{r.committed_at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</TableCell>
                <TableCell>{r.environment || '—'}</TableCell>
                <TableCell>{r.service || '—'}</TableCell>
                <TableCell>{r.kind}</TableCell>
                <TableCell>{r.requested_by}</TableCell>
                <TableCell>{r.approved_by || '—'}</TableCell>
                <TableCell>{r.artifact || '—'}</TableCell>
                <TableCell>{r.rollout_outcome || '—'}</TableCell>
                <TableCell>
                  {auditFlags(r).map(f => (
                    <Chip key={f.label} size="small" color="secondary" label={f.label} title={f.title} style={{ margin: 2 }} />
                  ))}
                </TableCell>
                <TableCell title={r.commit}>
                  <code>{shortSha(r.commit)}</code>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        <Box display="flex" alignItems="center" justifyContent="flex-end" mt={1} style={{ gap: 8 }}>
          <Typography variant="body2" color="textSecondary">
            rows {offset + 1}–{offset + items.length}
          </Typography>
          <Button size="small" disabled={offset === 0} onClick={() => setOffset(o => Math.max(0, o - AUDIT_PAGE_SIZE))}>
            Previous
          </Button>
          <Button size="small" disabled={!more} onClick={() => setOffset(o => o + AUDIT_PAGE_SIZE)}>
            Next
          </Button>
        </Box>
      </>
    );
  }

  return (
    <InfoCard
      title="Audit export"
      subheader="Every change to an environment, oldest first, from the config repo's verified git history"
    >
      <Box display="flex" flexWrap="wrap" mb={2} style={{ gap: 16 }}>
        <TextField
          label="From"
          type="date"
          value={from}
          onChange={e => setFrom(e.target.value)}
          InputLabelProps={{ shrink: true }}
          inputProps={{ 'data-testid': 'audit-from' }}
        />
        <TextField
          label="To (inclusive)"
          type="date"
          value={to}
          onChange={e => setTo(e.target.value)}
          InputLabelProps={{ shrink: true }}
          inputProps={{ 'data-testid': 'audit-to' }}
        />
        <TextField
          select
          label="Environment"
          value={environment}
          onChange={e => setEnvironment(e.target.value as string)}
          style={{ minWidth: 160 }}
          SelectProps={{ SelectDisplayProps: { 'data-testid': 'audit-environment' } as any }}
        >
          <MenuItem value="">All environments</MenuItem>
          {(environments.value ?? []).map(e => (
            <MenuItem key={e.name} value={e.name}>
              {e.name}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          label="Service"
          value={serviceInput}
          onChange={e => setServiceInput(e.target.value)}
          inputProps={{ 'data-testid': 'audit-service' }}
        />
        <TextField
          label="Squad"
          value={squadInput}
          onChange={e => setSquadInput(e.target.value)}
          helperText="Exporting all services takes the platform role"
          inputProps={{ 'data-testid': 'audit-squad' }}
        />
      </Box>
      <Box display="flex" alignItems="center" mb={2} style={{ gap: 8 }}>
        {(['csv', 'ndjson'] as const).map(format => (
          <Button
            key={format}
            variant="outlined"
            color="primary"
            startIcon={<GetAppIcon />}
            disabled={both || download.loading}
            onClick={() => startDownload(format)}
            data-testid={`audit-download-${format}`}
          >
            Download {format.toUpperCase()}
          </Button>
        ))}
        {download.loading ? <Typography variant="body2">Preparing the export…</Typography> : null}
        {download.value && !download.loading ? (
          <Typography variant="body2" data-testid="audit-downloaded">
            Saved {download.value}
          </Typography>
        ) : null}
      </Box>
      {download.error ? (
        <Box mb={2}>
          <ResponseErrorPanel error={download.error} title="The export was refused" />
        </Box>
      ) : null}
      {content}
    </InfoCard>
  );
}

/** The portal's "Audit export" page (`/audit`). */
export function AuditExportPage() {
  return (
    <Page themeId="tool">
      <Header title="Audit export" subtitle="Who changed what, where, approved by whom — from git" />
      <Content>
        <AuditExportContent />
      </Content>
    </Page>
  );
}
