/**
 * DORA metrics (issue 14) computed from the release history and incidents. Pure: no I/O, no
 * clock; the caller passes the window. O(n log n) in the number of releases and incidents.
 *
 * Definitions (README "DORA metrics"):
 * - deployment: a release into a production environment whose intent is not `rollback`
 *   (release, promote, auto-release); counted when `releasedAt` lies in the window.
 * - lead time for changes: deployment time − source commit time of the artifact it deployed
 *   (`sourceCommittedAt`; deployments without it are left out of the lead time, and counted in
 *   `leadTime.unknown`). Median, and p90 by nearest rank (the ⌈0.9·n⌉-th smallest).
 * - change failure: a deployment is failed when, within `failureWindowHours` after it, its
 *   service is rolled back in production or an incident opens for the service, and no newer
 *   deployment of that service came in between (the newest deployment before the event takes
 *   the blame). Rate = failed deployments / deployments in the window.
 * - time to restore: for each incident resolved in the window, resolved − opened; for each
 *   failed deployment that a rollback undid, rollback time − deployment time (when the rollback
 *   lies in the window). Median, and p90 by nearest rank.
 */

/** A release as the metrics need it (production releases only; others are ignored). */
export interface DoraRelease {
  id: string;
  service: string;
  production: boolean;
  intent: 'release' | 'promote' | 'rollback' | 'auto-release';
  /** ISO time the release commit was made. */
  releasedAt: string;
  /** ISO time of the source commit the artifact was built from, when known. */
  sourceCommittedAt?: string;
}

/** An incident of a service. */
export interface DoraIncident {
  id: string;
  service: string;
  /** ISO time it was triggered. */
  openedAt: string;
  /** ISO time it was resolved; absent while open. */
  resolvedAt?: string;
  /** For lists (since yesterday); not used by the metrics. */
  title?: string;
  status?: string;
  url?: string;
}

export interface DoraOptions {
  /** Window start (inclusive), ms since epoch. */
  from: number;
  /** Window end (exclusive), ms since epoch. */
  to: number;
  /** A rollback or incident this long after a deployment marks it failed. */
  failureWindowHours: number;
}

export interface DoraDistribution {
  /** How many samples. */
  count: number;
  /** Hours; absent without samples. */
  medianHours?: number;
  p90Hours?: number;
}

/** One day of the window (UTC), for the charts. */
export interface DoraDay {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  deployments: number;
  failures: number;
}

export interface DoraMetrics {
  from: string;
  to: string;
  days: number;
  failureWindowHours: number;
  deploymentFrequency: {
    deployments: number;
    /** deployments / days, rounded to 2 decimals. */
    perDay: number;
    /** deployments / (days / 7), rounded to 2 decimals. */
    perWeek: number;
  };
  leadTime: DoraDistribution & { unknown: number };
  changeFailureRate: {
    failed: number;
    deployments: number;
    /** failed / deployments, 0..1 rounded to 4 decimals; absent without deployments. */
    rate?: number;
    byRollback: number;
    byIncident: number;
  };
  timeToRestore: DoraDistribution & {
    byIncident: number;
    byRollback: number;
    openIncidents: number;
  };
  daily: DoraDay[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Median and nearest-rank p90 of durations in ms, reported in hours (2 decimals). */
export function distribution(samplesMs: number[]): DoraDistribution {
  const n = samplesMs.length;
  if (n === 0) return { count: 0 };
  const s = Float64Array.from(samplesMs).sort();
  const median = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.ceil(0.9 * n) - 1];
  return {
    count: n,
    medianHours: round(median / HOUR_MS, 2),
    p90Hours: round(p90 / HOUR_MS, 2),
  };
}

/** Index of the last element of sorted `times` that is ≤ t, or -1. */
function lastAtOrBefore(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function parseTime(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? NaN : t;
}

interface ServiceTimeline {
  /** Deployment times, ascending. */
  deployTimes: Float64Array;
  deployLeadMs: Array<number | undefined>;
  /** Per deployment: failed by a rollback/incident, and when the rollback restored it. */
  failedBy: Array<'rollback' | 'incident' | undefined>;
  restoredAt: Array<number | undefined>;
}

/**
 * Computes the metrics of one service or of a squad (the releases and incidents of its services).
 * A rollback fails the deployment before it; releases in the same second are taken in the
 * order given (history order, oldest first), as commit times have whole seconds.
 */
export function computeDora(
  releases: Iterable<DoraRelease>,
  incidents: Iterable<DoraIncident>,
  options: DoraOptions,
): DoraMetrics {
  const { from, to } = options;
  if (!(to > from)) throw new RangeError('window end must be after its start');
  if (!(options.failureWindowHours > 0))
    throw new RangeError('failureWindowHours must be positive');
  const windowMs = options.failureWindowHours * HOUR_MS;

  // Production releases per service: deployments (sorted below) and rollbacks.
  // A rollback rolls back the deployment that came before it in history order (the input's
  // order): commit times have whole seconds, so a deployment made in the same second as the
  // rollback must not be taken for the one it rolled back.
  type Deploy = { t: number; lead?: number };
  const deploys = new Map<string, Deploy[]>();
  const rollbacks = new Map<string, Array<{ t: number; after?: Deploy }>>();
  // by time; same-second releases keep the input's (history) order: the sort is stable
  const ordered: Array<{ r: DoraRelease; t: number }> = [];
  for (const r of releases) {
    const t = r.production ? parseTime(r.releasedAt) : NaN;
    if (!Number.isNaN(t)) ordered.push({ r, t });
  }
  ordered.sort((a, b) => a.t - b.t);
  for (const { r, t } of ordered) {
    let list = deploys.get(r.service);
    if (r.intent === 'rollback') {
      let rbs = rollbacks.get(r.service);
      if (!rbs) rollbacks.set(r.service, (rbs = []));
      rbs.push({ t, after: list?.[list.length - 1] });
      continue;
    }
    if (!list) deploys.set(r.service, (list = []));
    const src = r.sourceCommittedAt ? parseTime(r.sourceCommittedAt) : NaN;
    list.push({
      t,
      lead: Number.isNaN(src) ? undefined : Math.max(0, t - src),
    });
  }
  const deployIndex = new Map<Deploy, number>();

  const timelines = new Map<string, ServiceTimeline>();
  for (const [service, list] of deploys) {
    list.forEach((d, i) => deployIndex.set(d, i));
    timelines.set(service, {
      deployTimes: Float64Array.from(list, d => d.t),
      deployLeadMs: list.map(d => d.lead),
      failedBy: new Array(list.length).fill(undefined),
      restoredAt: new Array(list.length).fill(undefined),
    });
  }

  /** Blames the newest deployment at or before `t` of `service` if within the failure window. */
  const blame = (
    service: string,
    t: number,
    kind: 'rollback' | 'incident',
    after?: Deploy,
  ) => {
    const tl = timelines.get(service);
    if (!tl) return;
    const rolledBack = after && deployIndex.get(after);
    const i =
      kind === 'rollback'
        ? rolledBack ?? -1
        : lastAtOrBefore(tl.deployTimes, t);
    if (i < 0 || t - tl.deployTimes[i] > windowMs) return;
    if (kind === 'rollback') {
      if (tl.restoredAt[i] === undefined) tl.restoredAt[i] = t;
      tl.failedBy[i] = 'rollback';
    } else if (tl.failedBy[i] === undefined) {
      tl.failedBy[i] = 'incident';
    }
  };

  for (const [service, rbs] of rollbacks) {
    for (const rb of rbs) blame(service, rb.t, 'rollback', rb.after);
  }

  const restoreMs: number[] = [];
  let restoredByIncident = 0;
  let openIncidents = 0;
  for (const inc of incidents) {
    const opened = parseTime(inc.openedAt);
    if (Number.isNaN(opened)) continue;
    blame(inc.service, opened, 'incident');
    const resolved = inc.resolvedAt ? parseTime(inc.resolvedAt) : NaN;
    if (Number.isNaN(resolved)) {
      if (opened < to) openIncidents++;
      continue;
    }
    if (resolved >= from && resolved < to) {
      restoreMs.push(Math.max(0, resolved - opened));
      restoredByIncident++;
    }
  }

  const days = Math.max(1, Math.ceil((to - from) / DAY_MS));
  const daily: DoraDay[] = [];
  for (let d = 0; d < days; d++) {
    daily.push({
      day: new Date(from + d * DAY_MS).toISOString().slice(0, 10),
      deployments: 0,
      failures: 0,
    });
  }

  let deployments = 0;
  let failed = 0;
  let byRollback = 0;
  let byIncident = 0;
  let restoredByRollback = 0;
  let leadUnknown = 0;
  const leadMs: number[] = [];
  for (const tl of timelines.values()) {
    const n = tl.deployTimes.length;
    for (let i = 0; i < n; i++) {
      const t = tl.deployTimes[i];
      const restored = tl.restoredAt[i];
      if (restored !== undefined && restored >= from && restored < to) {
        restoreMs.push(restored - t);
        restoredByRollback++;
      }
      if (t < from || t >= to) continue;
      deployments++;
      const day = daily[Math.floor((t - from) / DAY_MS)];
      day.deployments++;
      const lead = tl.deployLeadMs[i];
      if (lead === undefined) leadUnknown++;
      else leadMs.push(lead);
      const by = tl.failedBy[i];
      if (by) {
        failed++;
        day.failures++;
        if (by === 'rollback') byRollback++;
        else byIncident++;
      }
    }
  }

  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    days,
    failureWindowHours: options.failureWindowHours,
    deploymentFrequency: {
      deployments,
      perDay: round(deployments / days, 2),
      perWeek: round(deployments / (days / 7), 2),
    },
    leadTime: { ...distribution(leadMs), unknown: leadUnknown },
    changeFailureRate: {
      failed,
      deployments,
      rate: deployments ? round(failed / deployments, 4) : undefined,
      byRollback,
      byIncident,
    },
    timeToRestore: {
      ...distribution(restoreMs),
      byIncident: restoredByIncident,
      byRollback: restoredByRollback,
      openIncidents,
    },
    daily,
  };
}

/** Windows the API offers (`GET /dora?days=`). */
export const DORA_WINDOWS = [30, 90] as const;

/** Answer of `GET /api/release-manager/dora?service=|squad=&days=30|90`. */
export interface DoraReport {
  /** What was asked for: one service, or a squad's services. */
  scope: { service: string } | { squad: string };
  /** Services counted. */
  services: string[];
  /** Production environments counted. */
  environments: string[];
  metrics: DoraMetrics;
  /** Whether incidents were counted (the on-call backend answered for every service). */
  incidents: { checked: boolean; warnings: string[] };
  /** Deployments whose lead time starts at the artifact's upload time (no source commit time recorded). */
  leadTimeFromUpload: number;
}

/** Answer of `GET /api/release-manager/me/since?since=&squad=` (the home page's "Since yesterday"). */
export interface SinceYesterdayReport {
  since: string;
  /** The caller is platform: every squad is theirs to look at. */
  platform: boolean;
  /** The caller's squads (catalog memberships; all squads for platform) and the services each owns. */
  squads: Array<{ name: string; services: string[] }>;
  /** The squad the answer is narrowed to (`squad=`), if any. */
  squad?: string;
  /** Releases (incl. rollbacks and failed rollouts) of those services since `since`, newest first. */
  releases: import('./types').Release[];
  /** Incidents of those services opened or resolved since `since`, or still open. */
  incidents: DoraIncident[];
  /** Whose incidents could not be read. */
  warnings: string[];
}
