import type { DoraIncident, DoraRelease } from './dora';

/**
 * A small production history with hand-computed DORA metrics (see dora.test.ts, which derives
 * every expected number from these rows step by step). Squad `payments` owns both services.
 * Window of the expected values: 2026-11-01T00:00Z (inclusive) – 2026-12-01T00:00Z (exclusive),
 * failure window 24 h.
 */
export const DORA_FIXTURE: {
  from: string;
  to: string;
  failureWindowHours: number;
  squad: string;
  releases: DoraRelease[];
  incidents: DoraIncident[];
} = {
  from: '2026-11-01T00:00:00.000Z',
  to: '2026-12-01T00:00:00.000Z',
  failureWindowHours: 24,
  squad: 'payments',
  releases: [
    // before the window: a deployment and its rollback (restore outside the window)
    { id: 'pg-d0', service: 'payment-gateway', production: true, intent: 'release', releasedAt: '2026-10-30T10:00:00Z', sourceCommittedAt: '2026-10-30T09:00:00Z' },
    { id: 'pg-rb0', service: 'payment-gateway', production: true, intent: 'rollback', releasedAt: '2026-10-30T12:00:00Z' },
    // payment-gateway in the window
    { id: 'pg-d1', service: 'payment-gateway', production: true, intent: 'release', releasedAt: '2026-11-02T10:00:00Z', sourceCommittedAt: '2026-11-02T08:00:00Z' },
    { id: 'pg-d2', service: 'payment-gateway', production: true, intent: 'promote', releasedAt: '2026-11-05T12:00:00Z', sourceCommittedAt: '2026-11-04T12:00:00Z' },
    { id: 'pg-rb1', service: 'payment-gateway', production: true, intent: 'rollback', releasedAt: '2026-11-05T13:30:00Z' },
    { id: 'pg-d3', service: 'payment-gateway', production: true, intent: 'auto-release', releasedAt: '2026-11-10T09:00:00Z', sourceCommittedAt: '2026-11-10T08:30:00Z' },
    { id: 'pg-stg', service: 'payment-gateway', production: false, intent: 'release', releasedAt: '2026-11-20T09:00:00Z', sourceCommittedAt: '2026-11-18T10:00:00Z' },
    { id: 'pg-d4', service: 'payment-gateway', production: true, intent: 'promote', releasedAt: '2026-11-20T10:00:00Z', sourceCommittedAt: '2026-11-18T10:00:00Z' },
    // exactly at the window's end: outside (the end is exclusive)
    { id: 'pg-d5', service: 'payment-gateway', production: true, intent: 'release', releasedAt: '2026-12-01T00:00:00Z', sourceCommittedAt: '2026-11-30T23:00:00Z' },
    // ledger
    { id: 'lg-d1', service: 'ledger', production: true, intent: 'release', releasedAt: '2026-11-15T10:00:00Z', sourceCommittedAt: '2026-11-14T22:00:00Z' },
    { id: 'lg-d2', service: 'ledger', production: true, intent: 'release', releasedAt: '2026-11-15T12:00:00Z' },
    { id: 'lg-rb1', service: 'ledger', production: true, intent: 'rollback', releasedAt: '2026-11-15T14:00:00Z' },
    { id: 'lg-d3', service: 'ledger', production: true, intent: 'release', releasedAt: '2026-11-30T23:00:00Z', sourceCommittedAt: '2026-11-30T20:00:00Z' },
  ],
  incidents: [
    { id: 'inc-1', service: 'payment-gateway', openedAt: '2026-11-10T20:00:00Z', resolvedAt: '2026-11-10T23:00:00Z' },
    { id: 'inc-2', service: 'payment-gateway', openedAt: '2026-11-22T10:00:00Z', resolvedAt: '2026-11-22T11:00:00Z' },
    { id: 'inc-3', service: 'ledger', openedAt: '2026-12-01T05:00:00Z' },
    { id: 'inc-4', service: 'ledger', openedAt: '2026-11-25T08:00:00Z' },
  ],
};
