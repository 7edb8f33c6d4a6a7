import { Rotation } from './types';

const DAY_MS = 24 * 3600_000;

/** Parses `HH:MM` (UTC) into milliseconds after midnight; throws on nonsense. */
export function parseHandoffTime(value: string): number {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(value.trim());
  if (!match) {
    throw new Error(`Invalid handoff time '${value}', expected HH:MM (UTC)`);
  }
  return (Number(match[1]) * 60 + Number(match[2])) * 60_000;
}

/**
 * Who is on call in a rotation at `now`: shift k starts at
 * `start + handoffTime + k * lengthDays` (UTC) and belongs to
 * `members[k mod members.length]`.
 */
export function computeRotation(
  rotation: Pick<Rotation, 'members' | 'handoffTime' | 'lengthDays' | 'start'>,
  now: number,
): {
  current?: string;
  next?: string;
  shiftStart: number;
  handoffAt: number;
} {
  const startDay = Date.parse(`${rotation.start}T00:00:00Z`);
  if (Number.isNaN(startDay)) {
    throw new Error(
      `Invalid rotation start '${rotation.start}', expected YYYY-MM-DD`,
    );
  }
  if (!(rotation.lengthDays > 0)) {
    throw new Error(
      `Invalid rotation length ${rotation.lengthDays}, expected a positive number of days`,
    );
  }
  const epoch = startDay + parseHandoffTime(rotation.handoffTime);
  const period = rotation.lengthDays * DAY_MS;
  const shift = Math.floor((now - epoch) / period);
  const n = rotation.members.length;
  const at = (k: number) =>
    n === 0 ? undefined : rotation.members[((k % n) + n) % n];
  return {
    current: at(shift),
    next: at(shift + 1),
    shiftStart: epoch + shift * period,
    handoffAt: epoch + (shift + 1) * period,
  };
}
