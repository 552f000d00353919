/**
 * Traffic per app over time for the console's chart: per-minute buckets of admitted, monitored and
 * refused decisions, fed by the engine's decision events and kept in memory for the last hours. In
 * memory on purpose: it is a live view of this process; the durable record is the audit chain and
 * the usage counters.
 */
import type { DecisionEvent } from '@charter/gateway';

/** Seconds per bucket. */
export const BUCKET_S = 60;
/** Buckets kept: six hours of minutes. */
export const BUCKETS = 360;
/** Apps tracked by name; decisions of further apps are counted under `other`. */
const MAX_APPS = 100;

/** One app's counts per bucket, oldest first. */
export interface AppSeries {
  app_id: string;
  admitted: number[];
  monitored: number[];
  refused: number[];
}

/** A window of the series: `from` is the start of the first bucket, in epoch seconds. */
export interface TrafficWindow {
  bucket_s: number;
  from: number;
  to: number;
  apps: AppSeries[];
}

interface Ring {
  admitted: Int32Array;
  monitored: Int32Array;
  refused: Int32Array;
  /** The minute each slot holds, so stale slots read as zero. */
  minute: Float64Array;
}

/** The per-app time-bucketed series. */
export class TrafficSeries {
  readonly #apps = new Map<string, Ring>();

  /** Count one decision (a listener for `gateway.onDecision`). */
  record(event: DecisionEvent): void {
    if (event.endpoint === 'challenge') return;
    let app = event.app_id ?? 'unknown';
    if (!this.#apps.has(app) && this.#apps.size >= MAX_APPS) app = 'other';
    let ring = this.#apps.get(app);
    if (!ring) {
      ring = {
        admitted: new Int32Array(BUCKETS),
        monitored: new Int32Array(BUCKETS),
        refused: new Int32Array(BUCKETS),
        minute: new Float64Array(BUCKETS).fill(-1),
      };
      this.#apps.set(app, ring);
    }
    const minute = Math.floor(event.at / BUCKET_S);
    const slot = minute % BUCKETS;
    if (ring.minute[slot] !== minute) {
      ring.minute[slot] = minute;
      ring.admitted[slot] = 0;
      ring.monitored[slot] = 0;
      ring.refused[slot] = 0;
    }
    const counts = ring[event.outcome];
    counts[slot] = (counts[slot] ?? 0) + 1;
  }

  /** The last `minutes` buckets up to `now` (at most {@link BUCKETS}), apps with any traffic in them. */
  window(now: number, minutes = 60): TrafficWindow {
    const n = Math.max(1, Math.min(BUCKETS, Math.floor(minutes)));
    const last = Math.floor(now / BUCKET_S);
    const first = last - n + 1;
    const apps: AppSeries[] = [];
    for (const [app_id, ring] of this.#apps) {
      const s: AppSeries = { app_id, admitted: [], monitored: [], refused: [] };
      let any = false;
      for (let m = first; m <= last; m++) {
        const slot = ((m % BUCKETS) + BUCKETS) % BUCKETS;
        const live = ring.minute[slot] === m;
        const a = live ? (ring.admitted[slot] ?? 0) : 0;
        const mo = live ? (ring.monitored[slot] ?? 0) : 0;
        const r = live ? (ring.refused[slot] ?? 0) : 0;
        any ||= a + mo + r > 0;
        s.admitted.push(a);
        s.monitored.push(mo);
        s.refused.push(r);
      }
      if (any) apps.push(s);
    }
    apps.sort((x, y) => x.app_id.localeCompare(y.app_id));
    return { bucket_s: BUCKET_S, from: first * BUCKET_S, to: (last + 1) * BUCKET_S, apps };
  }
}

/**
 * The sum of windows of several series over the same minutes (the workers of one gateway, each
 * counting its own decisions): counts add up per app and bucket.
 */
export function sumTrafficWindows(windows: readonly TrafficWindow[]): TrafficWindow | undefined {
  const [first] = windows;
  if (!first) return undefined;
  const apps = new Map<string, AppSeries>();
  for (const w of windows)
    for (const s of w.apps) {
      const into = apps.get(s.app_id);
      if (!into) {
        apps.set(s.app_id, {
          app_id: s.app_id,
          admitted: [...s.admitted],
          monitored: [...s.monitored],
          refused: [...s.refused],
        });
        continue;
      }
      for (const k of ['admitted', 'monitored', 'refused'] as const)
        into[k] = into[k].map((n, i) => n + (s[k][i] ?? 0));
    }
  return {
    ...first,
    apps: [...apps.values()].sort((x, y) => x.app_id.localeCompare(y.app_id)),
  };
}
