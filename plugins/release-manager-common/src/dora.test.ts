import { DoraRelease, computeDora, distribution } from './dora';
import { DORA_FIXTURE } from './doraFixture';

const H = 3_600_000;
const window30 = {
  from: Date.parse(DORA_FIXTURE.from),
  to: Date.parse(DORA_FIXTURE.to),
  failureWindowHours: DORA_FIXTURE.failureWindowHours,
};
const only = (service: string) => ({
  releases: DORA_FIXTURE.releases.filter(r => r.service === service),
  incidents: DORA_FIXTURE.incidents.filter(i => i.service === service),
});

describe('DORA metrics on the fixture history (hand-computed)', () => {
  it('squad payments, 30 days', () => {
    const m = computeDora(
      DORA_FIXTURE.releases,
      DORA_FIXTURE.incidents,
      window30,
    );
    // Deployments in [11-01, 12-01): pg-d1, pg-d2, pg-d3, pg-d4, lg-d1, lg-d2, lg-d3 = 7
    // (pg-d0 before the window, pg-d5 at its exclusive end, pg-stg not production, rollbacks
    // are not deployments). Per day 7/30 = 0.2333 → 0.23; per week 7/(30/7) = 1.6333 → 1.63.
    expect(m.days).toBe(30);
    expect(m.deploymentFrequency).toEqual({
      deployments: 7,
      perDay: 0.23,
      perWeek: 1.63,
    });
    // Lead times (h): pg-d1 10:00−08:00 = 2; pg-d2 11-05 12:00 − 11-04 12:00 = 24;
    // pg-d3 09:00−08:30 = 0.5; pg-d4 11-20 10:00 − 11-18 10:00 = 48; lg-d1 11-15 10:00 −
    // 11-14 22:00 = 12; lg-d3 23:00−20:00 = 3; lg-d2 has no source time (unknown: 1).
    // Sorted 0.5 2 3 12 24 48 → median (3+12)/2 = 7.5; p90 = ⌈0.9·6⌉ = 6th = 48.
    expect(m.leadTime).toEqual({
      count: 6,
      medianHours: 7.5,
      p90Hours: 48,
      unknown: 1,
    });
    // Failed: pg-d2 (rolled back 1.5 h later by pg-rb1); pg-d3 (inc-1 opened 11 h later);
    // lg-d2 (lg-rb1 2 h later blames the newest deployment lg-d2, not lg-d1); lg-d3 (inc-3
    // opened 6 h later, after the window's end but within 24 h). Not failed: pg-d4 (inc-2 came
    // 48 h later), lg-d1 (lg-d2 came between it and the rollback). 4/7 = 0.5714.
    expect(m.changeFailureRate).toEqual({
      failed: 4,
      deployments: 7,
      rate: 0.5714,
      byRollback: 2,
      byIncident: 2,
    });
    // Restores ending in the window (h): inc-1 23:00−20:00 = 3; inc-2 11:00−10:00 = 1;
    // pg-rb1 undoing pg-d2 = 1.5; lg-rb1 undoing lg-d2 = 2 (pg-rb0 restored pg-d0 in October).
    // Sorted 1 1.5 2 3 → median 1.75; p90 = ⌈3.6⌉ = 4th = 3.
    // Open: inc-4 (opened in the window); inc-3 opened after it.
    expect(m.timeToRestore).toEqual({
      count: 4,
      medianHours: 1.75,
      p90Hours: 3,
      byIncident: 2,
      byRollback: 2,
      openIncidents: 1,
    });
    // Days with activity: 11-02 1/0, 11-05 1/1, 11-10 1/1, 11-15 2/1, 11-20 1/0, 11-30 1/1.
    const active = m.daily.filter(d => d.deployments > 0);
    expect(active).toEqual([
      { day: '2026-11-02', deployments: 1, failures: 0 },
      { day: '2026-11-05', deployments: 1, failures: 1 },
      { day: '2026-11-10', deployments: 1, failures: 1 },
      { day: '2026-11-15', deployments: 2, failures: 1 },
      { day: '2026-11-20', deployments: 1, failures: 0 },
      { day: '2026-11-30', deployments: 1, failures: 1 },
    ]);
    expect(m.daily).toHaveLength(30);
    expect(m.daily[0].day).toBe('2026-11-01');
  });

  it('service payment-gateway, 30 days', () => {
    const { releases, incidents } = only('payment-gateway');
    const m = computeDora(releases, incidents, window30);
    // 4 deployments: 4/30 = 0.1333 → 0.13 a day, 28/30 = 0.9333 → 0.93 a week.
    expect(m.deploymentFrequency).toEqual({
      deployments: 4,
      perDay: 0.13,
      perWeek: 0.93,
    });
    // Lead 0.5 2 24 48 → median (2+24)/2 = 13; p90 = ⌈3.6⌉ = 4th = 48.
    expect(m.leadTime).toEqual({
      count: 4,
      medianHours: 13,
      p90Hours: 48,
      unknown: 0,
    });
    // pg-d2 (rollback) and pg-d3 (incident) of 4 = 0.5.
    expect(m.changeFailureRate.rate).toBe(0.5);
    // inc-1 3, inc-2 1, pg-rb1 1.5 → sorted 1 1.5 3: median 1.5, p90 = ⌈2.7⌉ = 3rd = 3.
    expect(m.timeToRestore).toMatchObject({
      count: 3,
      medianHours: 1.5,
      p90Hours: 3,
      openIncidents: 0,
    });
  });

  it('service ledger, 30 days', () => {
    const { releases, incidents } = only('ledger');
    const m = computeDora(releases, incidents, window30);
    // 3 deployments: 3/30 = 0.1 a day, 21/30 = 0.7 a week; lead 12 and 3 (lg-d2 unknown) →
    // median 7.5, p90 = ⌈1.8⌉ = 2nd = 12; failed lg-d2, lg-d3 → 2/3 = 0.6667; restore lg-rb1 2 h.
    expect(m.deploymentFrequency).toEqual({
      deployments: 3,
      perDay: 0.1,
      perWeek: 0.7,
    });
    expect(m.leadTime).toEqual({
      count: 2,
      medianHours: 7.5,
      p90Hours: 12,
      unknown: 1,
    });
    expect(m.changeFailureRate).toMatchObject({ failed: 2, rate: 0.6667 });
    expect(m.timeToRestore).toMatchObject({
      count: 1,
      medianHours: 2,
      p90Hours: 2,
      openIncidents: 1,
    });
  });

  it('payment-gateway over 90 days takes in October', () => {
    const { releases, incidents } = only('payment-gateway');
    const to = window30.to;
    const m = computeDora(releases, incidents, {
      ...window30,
      from: to - 90 * 24 * H,
    });
    // + pg-d0 (lead 1 h, failed by pg-rb0 2 h later, restored in the window): 5 deployments,
    // 3 failed = 0.6; lead 0.5 1 2 24 48 → median 2, p90 = 5th = 48; restores 1 1.5 2 3 → 1.75.
    expect(m.days).toBe(90);
    expect(m.deploymentFrequency.deployments).toBe(5);
    expect(m.leadTime).toMatchObject({
      count: 5,
      medianHours: 2,
      p90Hours: 48,
    });
    expect(m.changeFailureRate.rate).toBe(0.6);
    expect(m.timeToRestore).toMatchObject({ count: 4, medianHours: 1.75 });
  });

  it('a shorter failure window lets an incident pass', () => {
    const { releases, incidents } = only('payment-gateway');
    // inc-1 came 11 h after pg-d3: with a 10 h window pg-d3 is no failure → 1/4.
    const m = computeDora(releases, incidents, {
      ...window30,
      failureWindowHours: 10,
    });
    expect(m.changeFailureRate).toMatchObject({
      failed: 1,
      rate: 0.25,
      byIncident: 0,
    });
  });

  it('has no rates without deployments and refuses an empty window', () => {
    const m = computeDora([], [], window30);
    expect(m.changeFailureRate.rate).toBeUndefined();
    expect(m.leadTime).toEqual({ count: 0, unknown: 0 });
    expect(() =>
      computeDora([], [], { ...window30, to: window30.from }),
    ).toThrow(RangeError);
    expect(() =>
      computeDora([], [], { ...window30, failureWindowHours: 0 }),
    ).toThrow(RangeError);
  });

  it('distribution: median of odd and even counts, nearest-rank p90', () => {
    expect(distribution([3 * H, 1 * H, 2 * H])).toEqual({
      count: 3,
      medianHours: 2,
      p90Hours: 3,
    });
    expect(
      distribution(Array.from({ length: 10 }, (_, i) => (i + 1) * H)),
    ).toEqual({
      count: 10,
      medianHours: 5.5,
      p90Hours: 9,
    });
  });

  it('is not thrown by unordered input or bad timestamps', () => {
    const shuffled: DoraRelease[] = [...DORA_FIXTURE.releases].reverse();
    shuffled.push({
      id: 'x',
      service: 'ledger',
      production: true,
      intent: 'release',
      releasedAt: 'nope',
    });
    const a = computeDora(shuffled, DORA_FIXTURE.incidents, window30);
    const b = computeDora(
      DORA_FIXTURE.releases,
      DORA_FIXTURE.incidents,
      window30,
    );
    expect(a).toEqual(b);
  });
  it('a rollback fails the deployment before it in history order, even when the next one has the same second', () => {
    // commit times have whole seconds: d2, its rollback and d3 all at 12:00:05
    const at = '2026-11-20T12:00:05.000Z';
    const rel = (
      id: string,
      intent: DoraRelease['intent'],
      releasedAt: string,
    ): DoraRelease => ({
      id,
      service: 's',
      production: true,
      intent,
      releasedAt,
    });
    const releases = [
      rel('d1', 'release', '2026-11-20T11:00:00.000Z'),
      rel('d2', 'release', at),
      rel('rb', 'rollback', at),
      rel('d3', 'release', at),
    ];
    const incident = {
      id: 'i',
      service: 's',
      openedAt: '2026-11-20T12:00:05.500Z',
      resolvedAt: '2026-11-20T12:30:05.500Z',
    };
    const m = computeDora(releases, [incident], window30);
    // d2 by the rollback, d3 by the incident (not the rollback, not nothing)
    expect(m.changeFailureRate).toMatchObject({
      failed: 2,
      deployments: 3,
      byRollback: 1,
      byIncident: 1,
    });
  });
});
