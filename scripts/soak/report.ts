/**
 * The figures of a soak from what was recorded: outcomes by role and code, attacks admitted, genuine
 * refusals inside and outside the fault windows, latency per phase, memory slopes. Pure functions of
 * the records, so the plot and the JSON say the same thing.
 */
import type { MemorySample } from './gateways.ts';
import type { Exchange, TargetName } from './traffic.ts';

/** A fault: when it began, when the soak undid it, when the gateways were seen to have recovered. */
export interface FaultWindow {
  fault: string;
  target: TargetName;
  detail: string;
  start: number;
  /** When the fault was undone (process restarted, relay restored, clock stepped back). */
  restored: number | undefined;
  /** When a genuine probe succeeded again at every affected replica; undefined: not before the end. */
  recovered: number | undefined;
  /** Counted as inside the window: from `start` to `recovered` plus this grace (in-flight requests). */
  end: number;
}

export const GRACE_MS = 1000;

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[i] as number) * 100) / 100;
}

/** The window an exchange overlaps, if any (a fault of its own target). */
export function windowOf(x: Exchange, windows: FaultWindow[]): FaultWindow | undefined {
  // Windows may touch (a fault's grace and the next fault's start): the latest one begun wins.
  let found: FaultWindow | undefined;
  for (const w of windows)
    if (w.target === x.target && x.t <= w.end && x.t + x.ms >= w.start && (!found || w.start > found.start))
      found = w;
  return found;
}

const inc = (o: Record<string, number>, k: string, n = 1) => {
  o[k] = (o[k] ?? 0) + n;
};

/** The least-squares slope of `ys` over `xs`, per hour (xs in ms). */
export function slopePerHour(xs: number[], ys: number[]): number | null {
  const n = xs.length;
  if (n < 3) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? null : Math.round((num / den) * 3_600_000 * 10) / 10;
}

export function summarise(exchanges: Exchange[], windows: FaultWindow[], memory: MemorySample[]) {
  const byOutcome: Record<string, Record<string, number>> = { genuine: {}, attack: {}, propagation: {} };
  const attacksByKind: Record<string, { sent: number; refused: Record<string, number>; admitted: number }> =
    {};
  const admitted: Exchange[] = [];
  const refusedOutside: Exchange[] = [];
  const refusedInside: Record<string, Record<string, number>> = {};
  const fiveXx: Record<string, number> = {};
  const latencies: Record<string, number[]> = {};
  const propagation = { admitted: 0, refused: 0 };
  for (const x of exchanges) {
    const ok = x.status >= 200 && x.status < 300;
    inc(byOutcome[x.role] as Record<string, number>, `${x.kind} ${x.status} ${x.code}`);
    const w = windowOf(x, windows);
    if (x.status >= 500)
      inc(fiveXx, `${x.role} ${x.kind} ${x.status} ${x.code}${w ? ` (in ${w.fault})` : ''}`);
    if (x.role === 'attack') {
      // The challenge is open to anyone (it only hands out a nonce): not an admission.
      if (x.kind === 'challenge') continue;
      attacksByKind[x.kind] ??= { sent: 0, refused: {}, admitted: 0 };
      const k = attacksByKind[x.kind] as { sent: number; refused: Record<string, number>; admitted: number };
      k.sent += 1;
      if (ok) {
        k.admitted += 1;
        admitted.push(x);
      } else inc(k.refused, x.code);
    }
    if (x.role === 'propagation') {
      propagation[ok ? 'admitted' : 'refused'] += 1;
      continue;
    }
    if (x.role !== 'genuine') continue;
    const phase = `${x.target} ${w ? w.fault : 'steady'}`;
    latencies[phase] ??= [];
    latencies[phase]?.push(x.ms);
    if (ok) continue;
    if (w) {
      refusedInside[w.fault] ??= {};
      inc(refusedInside[w.fault] as Record<string, number>, `${x.kind} ${x.status} ${x.code}`);
    } else refusedOutside.push(x);
  }
  const latency: Record<string, { n: number; p50_ms: number | null; p99_ms: number | null }> = {};
  for (const [k, v] of Object.entries(latencies)) {
    v.sort((a, b) => a - b);
    latency[k] = { n: v.length, p50_ms: percentile(v, 50), p99_ms: percentile(v, 99) };
  }
  // Memory: one series per process (a restarted replica is a new one), the first fifth left out as
  // warm-up (JIT, caches filling), the slope of the rest.
  const series = new Map<string, MemorySample[]>();
  for (const s of memory) {
    const k = `${s.gateway} pid ${s.pid}`;
    if (!series.has(k)) series.set(k, []);
    series.get(k)?.push(s);
  }
  const mem = [...series].map(([k, ss]) => {
    const rest = ss.slice(Math.floor(ss.length / 5));
    const heap = rest.filter((s) => s.heap_mb !== undefined);
    const last = ss[ss.length - 1] as MemorySample;
    return {
      process: k,
      samples: ss.length,
      from_s: Math.round((ss[0] as MemorySample).t / 1000),
      to_s: Math.round(last.t / 1000),
      rss_mb_first: Math.round((ss[0] as MemorySample).rss_mb * 10) / 10,
      rss_mb_last: Math.round(last.rss_mb * 10) / 10,
      rss_mb_max: Math.round(Math.max(...ss.map((s) => s.rss_mb)) * 10) / 10,
      heap_mb_last: last.heap_mb === undefined ? null : Math.round(last.heap_mb * 10) / 10,
      rss_slope_mb_per_h: slopePerHour(
        rest.map((s) => s.t),
        rest.map((s) => s.rss_mb),
      ),
      heap_slope_mb_per_h: slopePerHour(
        heap.map((s) => s.t),
        heap.map((s) => s.heap_mb as number),
      ),
    };
  });
  return {
    requests: exchanges.length,
    by_outcome: byOutcome,
    attacks: {
      sent: Object.values(attacksByKind).reduce((a, k) => a + k.sent, 0),
      admitted: admitted.length,
      admitted_examples: admitted.slice(0, 10),
      by_kind: attacksByKind,
    },
    genuine: {
      sent: exchanges.filter((x) => x.role === 'genuine').length,
      refused_outside_faults: refusedOutside.length,
      refused_outside_examples: refusedOutside.slice(0, 20),
      refused_inside_faults: refusedInside,
    },
    /** A revoked instance's requests while license 2 was being installed and picked up. */
    revocation_propagation: propagation,
    five_xx: fiveXx,
    latency,
    memory: mem,
  };
}
