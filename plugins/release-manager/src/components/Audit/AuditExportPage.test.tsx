import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/test-utils';
import { AUDIT_EXPORT_COLUMNS, AuditExportRow } from '@devplane/plugin-release-manager-common';
import { AUDIT_PAGE_SIZE, AuditExportPage, auditFlags } from './AuditExportPage';
import { MockApi, Providers, mockReleaseManagerApi } from '../../__testUtils__';

function row(seq: number, overrides: Partial<AuditExportRow> = {}): AuditExportRow {
  const empty = Object.fromEntries(AUDIT_EXPORT_COLUMNS.map(c => [c, ''])) as any;
  return {
    ...empty,
    commit: `${seq}`.padStart(40, 'a'),
    seq,
    committed_at: `2026-11-0${(seq % 9) + 1}T10:00:00.000Z`,
    environment: 'prod',
    service: 'payment-gateway',
    namespace: 'payments',
    kind: 'promote',
    requested_by: 'anna.jensen@example.com',
    approved_by: 'mikkel.holm@example.com',
    artifact: `main-${seq}`,
    signature: 'good',
    signature_verified: true,
    break_glass: false,
    ...overrides,
  };
}

function render(api: MockApi) {
  return renderInTestApp(
    <Providers api={api}>
      <AuditExportPage />
    </Providers>,
  );
}

describe('AuditExportPage', () => {
  const createObjectURL = jest.fn((_b: Blob) => 'blob:audit');
  beforeAll(() => {
    (URL as any).createObjectURL = createObjectURL;
    (URL as any).revokeObjectURL = jest.fn();
  });
  afterEach(() => jest.clearAllMocks());

  it('shows progress while the preview loads', async () => {
    const api = mockReleaseManagerApi();
    api.getAuditPreview.mockReturnValue(new Promise(() => {}));
    await render(api);
    expect(screen.getByTestId('progress')).toBeInTheDocument();
  });

  it('says so when no change matches', async () => {
    const api = mockReleaseManagerApi();
    await render(api);
    expect(await screen.findByText('No changes in this range')).toBeInTheDocument();
    // the last 30 days by default, first page
    const q = api.getAuditPreview.mock.calls[0][0];
    expect(Date.parse(q.to!) - Date.parse(q.from!)).toBe(30 * 86_400_000);
    expect(q).toMatchObject({ limit: AUDIT_PAGE_SIZE, offset: 0 });
  });

  it("shows the backend's refusal (403 naming the permission)", async () => {
    const api = mockReleaseManagerApi();
    api.getAuditPreview.mockRejectedValue(new Error('permission release-manager.audit.export denied; give service= or squad='));
    await render(api);
    expect((await screen.findAllByText(/give service= or squad=/))[0]).toBeInTheDocument();
  });

  it('lists the rows with flags for break-glass, freeze override, outside changes and unverified signatures', async () => {
    const api = mockReleaseManagerApi();
    api.getAuditPreview.mockResolvedValue({
      offset: 0,
      more: false,
      items: [
        row(1),
        row(2, { kind: 'rollback', break_glass: true, break_glass_reason: 'incident 7' }),
        row(3, { freeze_window: 'weekend', freeze_override: 'hotfix' }),
        row(4, { kind: 'outside-change', signature: 'none', signature_verified: false, requested_by: 'mallory@evil.example' }),
      ],
    });
    await render(api);
    const table = await screen.findByTestId('audit-preview-table');
    const cells = (seq: number) => within(screen.getByTestId(`audit-row-${seq}-payment-gateway`));
    expect(cells(1).getByText('mikkel.holm@example.com')).toBeInTheDocument();
    expect(cells(1).queryByText('break-glass')).not.toBeInTheDocument();
    expect(cells(2).getByText('break-glass')).toBeInTheDocument();
    expect(cells(3).getByText('freeze override')).toBeInTheDocument();
    expect(cells(4).getByText('outside change')).toBeInTheDocument();
    expect(cells(4).getByText('unverified signature')).toBeInTheDocument();
    expect(cells(4).getByText('mallory@evil.example')).toBeInTheDocument();
    expect(within(table).getAllByRole('row')).toHaveLength(5);
  });

  it('pages with offset and passes the filters to the preview', async () => {
    const api = mockReleaseManagerApi();
    api.getAuditPreview.mockImplementation(async q => ({
      offset: q.offset ?? 0,
      more: (q.offset ?? 0) === 0,
      items: [row((q.offset ?? 0) + 1)],
    }));
    await render(api);
    await screen.findByTestId('audit-row-1-payment-gateway');
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByTestId(`audit-row-${AUDIT_PAGE_SIZE + 1}-payment-gateway`)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next' })).toBeDisabled();
    fireEvent.mouseDown(screen.getByTestId('audit-environment'));
    await userEvent.click(within(await screen.findByRole('listbox')).getByText('prod'));
    fireEvent.change(screen.getByTestId('audit-squad'), { target: { value: 'payments' } });
    fireEvent.change(screen.getByTestId('audit-from'), { target: { value: '2026-01-01' } });
    await waitFor(() =>
      expect(api.getAuditPreview).toHaveBeenLastCalledWith(
        expect.objectContaining({ environment: 'prod', squad: 'payments', from: '2026-01-01', offset: 0 }),
      ),
    );
  });

  it('refuses service and squad together before asking', async () => {
    const api = mockReleaseManagerApi();
    await render(api);
    fireEvent.change(screen.getByTestId('audit-service'), { target: { value: 'payment-gateway' } });
    fireEvent.change(screen.getByTestId('audit-squad'), { target: { value: 'payments' } });
    expect(await screen.findByText('Give a service or a squad, not both.')).toBeInTheDocument();
    expect(screen.getByTestId('audit-download-csv')).toBeDisabled();
  });

  it('downloads CSV and NDJSON through the API and saves the blob under its name', async () => {
    const api = mockReleaseManagerApi();
    const blob = new Blob(['commit,seq\r\n'], { type: 'text/csv' });
    api.downloadAuditExport.mockResolvedValue({ blob, filename: 'audit-2026-01-01_2026-02-01.csv' });
    const click = jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function clickLink(this: HTMLAnchorElement) {
      expect(this.download).toBe('audit-2026-01-01_2026-02-01.csv');
      expect(this.href).toBe('blob:audit');
    });
    await render(api);
    fireEvent.change(screen.getByTestId('audit-service'), { target: { value: 'payment-gateway' } });
    await waitFor(() => expect(api.getAuditPreview).toHaveBeenLastCalledWith(expect.objectContaining({ service: 'payment-gateway' })));
    await userEvent.click(screen.getByTestId('audit-download-csv'));
    expect(await screen.findByTestId('audit-downloaded')).toHaveTextContent('audit-2026-01-01_2026-02-01.csv');
    expect(api.downloadAuditExport).toHaveBeenCalledWith(expect.objectContaining({ format: 'csv', service: 'payment-gateway' }));
    expect(createObjectURL).toHaveBeenCalledWith(blob);
    expect(click).toHaveBeenCalledTimes(1);
    await userEvent.click(screen.getByTestId('audit-download-ndjson'));
    await waitFor(() => expect(api.downloadAuditExport).toHaveBeenLastCalledWith(expect.objectContaining({ format: 'ndjson' })));
    click.mockRestore();
  });

  it('a download right after typing exports what the service field shows, not the previous filter', async () => {
    const api = mockReleaseManagerApi();
    api.downloadAuditExport.mockResolvedValue({ blob: new Blob(['x']), filename: 'audit.ndjson' });
    const click = jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    await render(api);
    fireEvent.change(screen.getByTestId('audit-service'), { target: { value: 'ledger' } });
    // clicked before the preview's 300 ms debounce applied the filter
    fireEvent.click(screen.getByTestId('audit-download-ndjson'));
    await waitFor(() => expect(api.downloadAuditExport).toHaveBeenCalledTimes(1));
    expect(api.downloadAuditExport).toHaveBeenCalledWith(expect.objectContaining({ format: 'ndjson', service: 'ledger' }));
    click.mockRestore();
  });

  it('shows a refused download and saves nothing', async () => {
    const api = mockReleaseManagerApi();
    api.downloadAuditExport.mockRejectedValue(new Error('from..to spans 500 days, more than releaseManager.audit.maxRangeDays (366)'));
    await render(api);
    await userEvent.click(screen.getByTestId('audit-download-ndjson'));
    expect((await screen.findAllByText(/more than releaseManager\.audit\.maxRangeDays/))[0]).toBeInTheDocument();
    expect(createObjectURL).not.toHaveBeenCalled();
  });

  it('auditFlags names nothing for a plain signed release', () => {
    expect(auditFlags(row(1))).toEqual([]);
  });
});
