/**
 * Scheduled freeze windows (`releaseManager.freezeWindows`, issue 14): weekly recurring windows
 * in an IANA time zone ("Fri 16:00 – Mon 08:00 Europe/Copenhagen") and dated ones (holidays),
 * org-wide or for some systems. Wall-clock times are converted with Intl, so a window keeps its
 * local start and end across daylight-saving changes (a Friday 16:00 is 15:00 UTC in winter and
 * 14:00 UTC in summer in Copenhagen).
 */
import { InputError } from '@backstage/errors';
import type {
  Environment,
  FreezeWindowView,
} from '@devplane/plugin-release-manager-common';
import { invalidNameReason } from '@devplane/plugin-release-manager-common';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_MS = 24 * 3600 * 1000;

/** A wall-clock point of a weekly window: day of week and time of day. */
interface WeeklyPoint {
  day: number;
  minutes: number;
}

/** One configured window, parsed. */
export interface FreezeWindow {
  id: string;
  title: string;
  environments: string[];
  /** Systems (catalog `spec.system`) it applies to; undefined → every service (org-wide). */
  systems?: string[];
  timeZone: string;
  weekly?: { from: WeeklyPoint; to: WeeklyPoint };
  /** Dated window: UTC instants. */
  dated?: { start: number; end: number };
  /** Config text of the schedule, for people. */
  schedule: string;
}

/** A window in force at an instant: which one and the occurrence's UTC bounds. */
export interface ActiveFreeze {
  window: FreezeWindow;
  start: Date;
  end: Date;
}

/** Raw config of one window (see config.d.ts). */
export interface FreezeWindowConfig {
  id: string;
  title?: string;
  environments?: string[];
  systems?: string[];
  timeZone?: string;
  /** Weekly: `"Fri 16:00"` → `"Mon 08:00"`. */
  from?: string;
  to?: string;
  /** Dated: local wall time `YYYY-MM-DDTHH:mm` in `timeZone` (or an ISO instant with offset). */
  start?: string;
  end?: string;
}

/** Offset (ms) of `timeZone` from UTC at an instant: local wall time minus UTC. */
function offsetAt(instant: number, timeZone: string): number {
  const parts = wallParts(instant, timeZone);
  const asUtc = Date.UTC(
    parts.year,
    parts.month - 1,
    parts.day,
    parts.hour,
    parts.minute,
    parts.second,
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock date and time of an instant in a time zone. */
export function wallParts(instant: number, timeZone: string) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(instant))) out[p.type] = p.value;
  return {
    year: Number(out.year),
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour) % 24,
    minute: Number(out.minute),
    second: Number(out.second),
    weekday: DAYS.indexOf(out.weekday),
  };
}

/**
 * The UTC instant of a wall-clock time in a time zone. A time that does not exist (the hour
 * skipped when clocks go forward) is shifted forward by the gap (like Temporal's "compatible"
 * disambiguation); a time that exists twice (clocks go back) maps to its first occurrence.
 */
export function zonedTimeToUtc(
  date: { year: number; month: number; day: number },
  minutes: number,
  timeZone: string,
): number {
  const wall = Date.UTC(
    date.year,
    date.month - 1,
    date.day,
    Math.floor(minutes / 60),
    minutes % 60,
  );
  // the offsets half a day before and after cover both sides of any transition near `wall`
  const candidates = [
    ...new Set([
      wall - offsetAt(wall - DAY_MS / 2, timeZone),
      wall - offsetAt(wall + DAY_MS / 2, timeZone),
    ]),
  ];
  const exact = candidates
    .filter(c => {
      const p = wallParts(c, timeZone);
      return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) === wall;
    })
    .sort((a, b) => a - b);
  if (exact.length) return exact[0];
  return Math.max(...candidates);
}

function checkTimeZone(timeZone: string, where: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone }).format(0);
  } catch {
    throw new InputError(
      `${where}.timeZone '${timeZone}' is not an IANA time zone (e.g. Europe/Copenhagen)`,
    );
  }
}

function parseWeeklyPoint(
  text: string | undefined,
  where: string,
): WeeklyPoint {
  const m =
    /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat)[a-z]*\s+([01]?\d|2[0-3]):([0-5]\d)$/i.exec(
      (text ?? '').trim(),
    );
  if (!m)
    throw new InputError(
      `${where} must look like "Fri 16:00" (day of week, 24-hour time); got '${
        text ?? ''
      }'`,
    );
  const day = DAYS.findIndex(
    d => d.toLowerCase() === m[1].slice(0, 3).toLowerCase(),
  );
  return { day, minutes: Number(m[2]) * 60 + Number(m[3]) };
}

function parseDated(
  text: string | undefined,
  timeZone: string,
  where: string,
): number {
  const value = (text ?? '').trim();
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?$/.exec(value);
  if (local) {
    const [year, month, day] = [
      Number(local[1]),
      Number(local[2]),
      Number(local[3]),
    ];
    const minutes = local[4] ? Number(local[4]) * 60 + Number(local[5]) : 0;
    if (month < 1 || month > 12 || day < 1 || day > 31 || minutes >= 24 * 60) {
      throw new InputError(`${where} '${value}' is not a date`);
    }
    return zonedTimeToUtc({ year, month, day }, minutes, timeZone);
  }
  if (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(
      value,
    )
  ) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return t;
  }
  throw new InputError(
    `${where} must be "YYYY-MM-DD", "YYYY-MM-DDTHH:mm" (in timeZone) or an ISO instant; got '${value}'`,
  );
}

const pad = (n: number) => String(n).padStart(2, '0');
const pointText = (p: WeeklyPoint) =>
  `${DAYS[p.day]} ${pad(Math.floor(p.minutes / 60))}:${pad(p.minutes % 60)}`;

/** Parses and checks the configured windows; InputError naming the config path on a mistake. */
export function parseFreezeWindows(
  raw: FreezeWindowConfig[],
  environments: Environment[],
): FreezeWindow[] {
  const ids = new Set<string>();
  return raw.map((c, i) => {
    const where = `releaseManager.freezeWindows[${i}]`;
    const idReason = invalidNameReason(`${where}.id`, c.id);
    if (idReason) throw new InputError(idReason);
    if (ids.has(c.id))
      throw new InputError(`${where}.id '${c.id}' is used twice`);
    ids.add(c.id);
    const envs = c.environments?.length
      ? c.environments
      : environments.filter(e => e.production).map(e => e.name);
    for (const e of envs) {
      if (!environments.some(x => x.name === e))
        throw new InputError(
          `${where}.environments: unknown environment '${e}'`,
        );
    }
    const timeZone = c.timeZone ?? 'UTC';
    checkTimeZone(timeZone, where);
    const isWeekly = c.from !== undefined || c.to !== undefined;
    const isDated = c.start !== undefined || c.end !== undefined;
    if (isWeekly === isDated) {
      throw new InputError(
        `${where} needs either from/to (weekly, e.g. "Fri 16:00"/"Mon 08:00") or start/end (dated)`,
      );
    }
    const base = {
      id: c.id,
      environments: envs,
      systems: c.systems?.length ? c.systems : undefined,
      timeZone,
    };
    const scope = base.systems ? ` (systems ${base.systems.join(', ')})` : '';
    if (isWeekly) {
      const from = parseWeeklyPoint(c.from, `${where}.from`);
      const to = parseWeeklyPoint(c.to, `${where}.to`);
      const schedule = `every ${pointText(from)} – ${pointText(
        to,
      )} ${timeZone}${scope}`;
      return {
        ...base,
        title: c.title ?? schedule,
        weekly: { from, to },
        schedule,
      };
    }
    const start = parseDated(c.start, timeZone, `${where}.start`);
    const end = parseDated(c.end, timeZone, `${where}.end`);
    if (end <= start) throw new InputError(`${where}.end must be after start`);
    const schedule = `${(c.start ?? '').trim()} – ${(
      c.end ?? ''
    ).trim()} ${timeZone}${scope}`;
    return {
      ...base,
      title: c.title ?? schedule,
      dated: { start, end },
      schedule,
    };
  });
}

/** Occurrences of a window that overlap [from, to), in start order. */
export function occurrences(
  w: FreezeWindow,
  from: number,
  to: number,
): Array<{ start: number; end: number }> {
  if (w.dated)
    return w.dated.end > from && w.dated.start < to ? [{ ...w.dated }] : [];
  const { from: a, to: b } = w.weekly!;
  let span = (b.day - a.day + 7) % 7;
  if (span === 0 && b.minutes <= a.minutes) span = 7;
  const out: Array<{ start: number; end: number }> = [];
  // local calendar days from a week before `from` to `to`: every day that is the start weekday
  for (let t = from - 8 * DAY_MS; t < to + DAY_MS; t += DAY_MS) {
    const p = wallParts(t, w.timeZone);
    if (p.weekday !== a.day) continue;
    const startDate = { year: p.year, month: p.month, day: p.day };
    const endDay = new Date(Date.UTC(p.year, p.month - 1, p.day + span));
    const start = zonedTimeToUtc(startDate, a.minutes, w.timeZone);
    const end = zonedTimeToUtc(
      {
        year: endDay.getUTCFullYear(),
        month: endDay.getUTCMonth() + 1,
        day: endDay.getUTCDate(),
      },
      b.minutes,
      w.timeZone,
    );
    if (end > from && start < to && !out.some(o => o.start === start))
      out.push({ start, end });
  }
  return out.sort((x, y) => x.start - y.start);
}

/** The configured freeze windows, asked "is this environment frozen for this system now?". */
export class FreezeWindows {
  constructor(readonly windows: FreezeWindow[]) {}

  private applies(
    w: FreezeWindow,
    environment?: string,
    system?: string | null,
  ): boolean {
    if (environment && !w.environments.includes(environment)) return false;
    // system null: the caller does not know the service's system → only org-wide windows
    if (
      w.systems &&
      system !== undefined &&
      (system === null || !w.systems.includes(system))
    )
      return false;
    return true;
  }

  /** The window in force for an environment and a service's system at `at`, if any. */
  activeFor(
    environment: string,
    system: string | null,
    at: Date = new Date(),
  ): ActiveFreeze | undefined {
    const t = at.getTime();
    for (const w of this.windows) {
      if (!this.applies(w, environment, system)) continue;
      const hit = occurrences(w, t, t + 1).find(o => o.start <= t && t < o.end);
      if (hit)
        return {
          window: w,
          start: new Date(hit.start),
          end: new Date(hit.end),
        };
    }
    return undefined;
  }

  /** Windows for the portal and the CLI: current occurrence and the next ones within `days`. */
  list(
    options: {
      environment?: string;
      system?: string | null;
      at?: Date;
      days?: number;
    } = {},
  ): FreezeWindowView[] {
    const t = (options.at ?? new Date()).getTime();
    const horizon = t + (options.days ?? 14) * DAY_MS;
    const out: FreezeWindowView[] = [];
    for (const w of this.windows) {
      if (!this.applies(w, options.environment, options.system)) continue;
      const occ = occurrences(w, t, horizon);
      const current = occ.find(o => o.start <= t && t < o.end);
      const upcoming = occ.filter(o => o.start > t).slice(0, 3);
      if (!current && !upcoming.length) continue;
      const iso = (o: { start: number; end: number }) => ({
        start: new Date(o.start).toISOString(),
        end: new Date(o.end).toISOString(),
      });
      out.push({
        id: w.id,
        title: w.title,
        environments: w.environments,
        systems: w.systems,
        schedule: w.schedule,
        kind: w.weekly ? 'weekly' : 'dated',
        current: current ? iso(current) : undefined,
        upcoming: upcoming.map(iso),
      });
    }
    return out.sort(
      (a, b) =>
        (a.current ? 0 : 1) - (b.current ? 0 : 1) ||
        (a.upcoming[0]?.start ?? '').localeCompare(b.upcoming[0]?.start ?? ''),
    );
  }
}
