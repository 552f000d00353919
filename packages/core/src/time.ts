/** Time helpers: every verifier takes an injectable clock so tests and `--at` can pin it. */

/** A point in time: a Date, or seconds since the epoch. */
export type Instant = Date | number;

/** Seconds since the epoch for an {@link Instant}, or now. */
export function epochSeconds(at?: Instant): number {
  if (at === undefined) return Math.floor(Date.now() / 1000);
  if (at instanceof Date) return Math.floor(at.getTime() / 1000);
  return Math.floor(at);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/**
 * Parse a duration such as `90s`, `15m`, `12h`, `180d`, `2w`, `1y` (a year is 365 days) into seconds.
 * Returns undefined for anything else, so callers can say clearly which flag was wrong.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,6})([smhdwy])$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

/** ISO 8601 text of epoch seconds. */
export function isoOf(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
