import {
  parseFreezeWindows,
  FreezeWindows,
  zonedTimeToUtc,
} from './freezeWindows';

const ENVS = [
  { name: 'dev', production: false, order: 0 },
  { name: 'prod', production: true, order: 1 },
];

const weekend = () =>
  new FreezeWindows(
    parseFreezeWindows(
      [
        {
          id: 'weekend',
          from: 'Fri 16:00',
          to: 'Mon 08:00',
          timeZone: 'Europe/Copenhagen',
        },
      ],
      ENVS,
    ),
  );

describe('freeze windows', () => {
  it('keeps the local wall-clock bounds across the October DST change (CEST → CET)', () => {
    // Sunday 2026-10-25 03:00 CEST the clocks go back to 02:00 CET: the window opens on Friday
    // in summer time (UTC+2) and closes on Monday in winter time (UTC+1).
    const w = weekend();
    const inside = w.activeFor('prod', null, new Date('2026-10-24T12:00:00Z'));
    expect(inside?.window.id).toBe('weekend');
    expect(inside?.start.toISOString()).toBe('2026-10-23T14:00:00.000Z'); // Fri 16:00 CEST
    expect(inside?.end.toISOString()).toBe('2026-10-26T07:00:00.000Z'); // Mon 08:00 CET
    // just before and just after, by wall clock
    expect(
      w.activeFor('prod', null, new Date('2026-10-23T13:59:00Z')),
    ).toBeUndefined();
    expect(
      w.activeFor('prod', null, new Date('2026-10-26T06:59:00Z'))?.window.id,
    ).toBe('weekend');
    expect(
      w.activeFor('prod', null, new Date('2026-10-26T07:00:00Z')),
    ).toBeUndefined();
  });

  it('keeps the bounds across the March DST change (CET → CEST)', () => {
    // Sunday 2027-03-28 02:00 CET the clocks jump to 03:00 CEST
    const w = weekend();
    const inside = w.activeFor('prod', null, new Date('2027-03-28T12:00:00Z'));
    expect(inside?.start.toISOString()).toBe('2027-03-26T15:00:00.000Z'); // Fri 16:00 CET
    expect(inside?.end.toISOString()).toBe('2027-03-29T06:00:00.000Z'); // Mon 08:00 CEST
    expect(
      w.activeFor('prod', null, new Date('2027-03-29T06:30:00Z')),
    ).toBeUndefined();
    // a winter Friday 15:30 UTC is 16:30 local: frozen; a summer Friday 14:30 UTC is 16:30 local too
    expect(
      w.activeFor('prod', null, new Date('2027-01-08T15:30:00Z')),
    ).toBeDefined();
    expect(
      w.activeFor('prod', null, new Date('2027-06-11T14:30:00Z')),
    ).toBeDefined();
    expect(
      w.activeFor('prod', null, new Date('2027-06-11T13:30:00Z')),
    ).toBeUndefined();
  });

  it('maps wall times in the DST gap and overlap deterministically', () => {
    // 02:30 does not exist on 2027-03-28 in Copenhagen: shifted forward by the gap (03:30 CEST)
    expect(
      new Date(
        zonedTimeToUtc(
          { year: 2027, month: 3, day: 28 },
          150,
          'Europe/Copenhagen',
        ),
      ).toISOString(),
    ).toBe('2027-03-28T01:30:00.000Z');
    // 02:30 exists twice on 2026-10-25: the first (CEST)
    expect(
      new Date(
        zonedTimeToUtc(
          { year: 2026, month: 10, day: 25 },
          150,
          'Europe/Copenhagen',
        ),
      ).toISOString(),
    ).toBe('2026-10-25T00:30:00.000Z');
  });

  it('applies only to its environments and systems', () => {
    const w = new FreezeWindows(
      parseFreezeWindows(
        [
          {
            id: 'payments-xmas',
            systems: ['payments'],
            start: '2026-12-24',
            end: '2026-12-27',
            timeZone: 'Europe/Copenhagen',
          },
        ],
        ENVS,
      ),
    );
    const at = new Date('2026-12-25T10:00:00Z');
    expect(w.activeFor('prod', 'payments', at)?.window.id).toBe(
      'payments-xmas',
    );
    expect(w.activeFor('prod', 'lending', at)).toBeUndefined();
    expect(w.activeFor('prod', null, at)).toBeUndefined();
    expect(w.activeFor('dev', 'payments', at)).toBeUndefined();
    expect(
      w.activeFor('prod', 'payments', new Date('2026-12-23T22:59:00Z')),
    ).toBeUndefined();
    expect(
      w.activeFor('prod', 'payments', new Date('2026-12-23T23:00:00Z')),
    ).toBeDefined();
  });

  it('lists the current and the upcoming occurrences', () => {
    const list = weekend().list({
      at: new Date('2026-12-01T10:00:00Z'),
      days: 14,
    });
    expect(list).toHaveLength(1);
    expect(list[0].current).toBeUndefined();
    expect(list[0].schedule).toBe(
      'every Fri 16:00 – Mon 08:00 Europe/Copenhagen',
    );
    expect(list[0].upcoming.map(o => o.start)).toEqual([
      '2026-12-04T15:00:00.000Z',
      '2026-12-11T15:00:00.000Z',
    ]);
  });

  it('refuses bad config naming the path', () => {
    expect(() =>
      parseFreezeWindows(
        [
          {
            id: 'x',
            from: 'Fri 16:00',
            to: 'Mon 08:00',
            timeZone: 'Mars/Olympus',
          },
        ],
        ENVS,
      ),
    ).toThrow(/freezeWindows\[0\]\.timeZone 'Mars\/Olympus'/);
    expect(() =>
      parseFreezeWindows(
        [{ id: 'x', from: 'Friday at four', to: 'Mon 08:00' }],
        ENVS,
      ),
    ).toThrow(/freezeWindows\[0\]\.from/);
    expect(() =>
      parseFreezeWindows(
        [{ id: 'x', start: '2026-12-27', end: '2026-12-24' }],
        ENVS,
      ),
    ).toThrow(/end must be after start/);
    expect(() =>
      parseFreezeWindows(
        [
          {
            id: 'x',
            environments: ['qa'],
            start: '2026-12-24',
            end: '2026-12-27',
          },
        ],
        ENVS,
      ),
    ).toThrow(/unknown environment 'qa'/);
  });
});
