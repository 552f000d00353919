/**
 * Usage counting for reports (SPEC.md §2.3), kept off the request's critical path: decisions bump
 * in-memory counters, and a timer flushes them to the store (`addCounters`) every few seconds and at
 * shutdown. `gateway report export` takes what the store holds (`takeCounters`). A crash loses at most
 * the counts of the last flush interval; a report never double-counts, because taking is atomic.
 *
 * Counter names are tab-separated paths of ids and catalogue codes, which never contain a tab.
 */
import type { ReportAppUsage, ReportClaims } from '@charter/core';
import type { GatewayStore } from './store.ts';

/** The counter names the engine uses. */
export const COUNTER = {
  admitted: (app: string) => `app\t${app}\tadmitted`,
  denied: (app: string, code: string) => `app\t${app}\tdenied\t${code}`,
  instances: (app: string) => `app\t${app}\tinstances`,
  unattested: (app: string) => `app\t${app}\tunattested`,
  unknown: (code: string) => `unknown\t${code}`,
  rollback: 'clock\trollback',
  /** A gateway started unsealed in the period: the report then says `unsealed`, whoever exports it. */
  unsealedStart: 'integrity\tunsealed',
  /** An admitted instance and its key thumbprint (the vendor sets it against its attester's records). */
  instance: (id: string, app: string, charter: string, jkt?: string) =>
    `instance\t${id}\t${app}\t${charter}${jkt ? `\t${jkt}` : ''}`,
} as const;

/** In-memory counters waiting for the next flush. */
export class UsageCounters {
  #pending = new Map<string, number>();

  /** Add `n` to counter `name` (synchronous, no I/O). */
  add(name: string, n = 1): void {
    this.#pending.set(name, (this.#pending.get(name) ?? 0) + n);
  }

  /** Move the pending counts to the store; on a store failure they are kept for the next flush. */
  async flush(store: GatewayStore): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await store.addCounters(Object.fromEntries(batch));
    } catch (e) {
      for (const [k, v] of batch) this.add(k, v);
      throw e;
    }
  }
}

/** The usage part of a report, from counters taken from the store. */
export function usageOf(
  counters: Readonly<Record<string, number>>,
): Pick<ReportClaims, 'apps' | 'unknown' | 'clock' | 'instances'> {
  const apps: Record<string, ReportAppUsage> = {};
  const unknown: Record<string, number> = {};
  const instances: NonNullable<ReportClaims['instances']> = {};
  let rollbacks = 0;
  const appOf = (id: string): ReportAppUsage => {
    let a = apps[id];
    if (!a) {
      a = { admitted: 0, denied: {}, instances: 0, unattested_instances: 0 };
      apps[id] = a;
    }
    return a;
  };
  for (const [name, n] of Object.entries(counters)) {
    const [kind, a, b, c, d] = name.split('\t');
    if (kind === 'app' && a) {
      const u = appOf(a);
      if (b === 'admitted') u.admitted += n;
      else if (b === 'instances') u.instances += n;
      else if (b === 'unattested') u.unattested_instances = (u.unattested_instances ?? 0) + n;
      else if (b === 'denied' && c) u.denied[c] = (u.denied[c] ?? 0) + n;
    } else if (kind === 'unknown' && a) unknown[a] = (unknown[a] ?? 0) + n;
    else if (kind === 'clock' && a === 'rollback') rollbacks += n;
    else if (kind === 'instance' && a && b && c)
      instances[a] = { app_id: b, charter_id: c, ...(d ? { jkt: d } : {}) };
  }
  return { apps, unknown, clock: { rollback_events: rollbacks }, instances };
}
