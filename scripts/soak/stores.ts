/**
 * What the stores hold, read directly (PostgreSQL not through the relay): the audit chain, read as it
 * grows during the run so that an entry that disappears or changes later is seen, and the checks
 * after the run (acknowledged registrations, installed licenses, chain verification).
 */
import { type AuditEntry, type GatewayStore, verifyAuditChain } from '@charter/gateway';
import { openBackends } from '@charter/gateway/backends';
import type { Ack, TargetName } from './traffic.ts';

/** The audit entries one store has shown so far. */
export class AuditWatcher {
  readonly name: TargetName;
  readonly #store: GatewayStore;
  readonly #close: () => Promise<void>;
  /** seq → hash of every entry seen during the run. */
  readonly seen = new Map<number, string>();
  #after = 0;

  private constructor(name: TargetName, store: GatewayStore, close: () => Promise<void>) {
    this.name = name;
    this.#store = store;
    this.#close = close;
  }

  static async open(name: TargetName, db: string): Promise<AuditWatcher> {
    const b = await openBackends({ db });
    return new AuditWatcher(name, b.store, () => b.close());
  }

  /** Read the entries written since the last look (errors are the caller's: a store may be away). */
  async poll(): Promise<void> {
    for (;;) {
      const page = await this.#store.auditEntries(this.#after, 1000);
      for (const e of page) this.seen.set(e.seq, e.hash);
      if (page.length === 0) return;
      this.#after = (page[page.length - 1] as AuditEntry).seq;
      if (page.length < 1000) return;
    }
  }

  /** The checks after the run. */
  async verify(acks: Ack[], expectSerial: number): Promise<StoreCheck> {
    const all: AuditEntry[] = [];
    let after = 0;
    for (;;) {
      const page = await this.#store.auditEntries(after, 1000);
      all.push(...page);
      if (page.length < 1000) break;
      after = (page[page.length - 1] as AuditEntry).seq;
    }
    const chain = verifyAuditChain(all);
    const bySeq = new Map(all.map((e) => [e.seq, e.hash]));
    let auditLost = 0;
    for (const [seq, hash] of this.seen) if (bySeq.get(seq) !== hash) auditLost += 1;
    const registered = new Set<string>();
    for (const e of all) {
      const ev = JSON.parse(e.entry) as { kind?: string; instance_id?: string };
      if (ev.kind === 'register' && ev.instance_id) registered.add(ev.instance_id);
    }
    const mine = acks.filter((a) => a.target === this.name);
    const lostRegistrations: string[] = [];
    const unaudited: string[] = [];
    for (const a of mine) {
      if (!(await this.#store.getInstance(a.instance_id))) lostRegistrations.push(a.instance_id);
      if (!registered.has(a.instance_id)) unaudited.push(a.instance_id);
    }
    const license = await this.#store.currentLicense();
    return {
      store: this.name,
      acknowledged_registrations: mine.length,
      registrations_lost: lostRegistrations.length,
      registrations_lost_ids: lostRegistrations.slice(0, 20),
      registrations_without_audit_entry: unaudited.length,
      installed_license_serial: license?.serial ?? null,
      installs_lost: (license?.serial ?? 0) < expectSerial ? 1 : 0,
      audit_entries: all.length,
      audit_entries_seen_during_run: this.seen.size,
      audit_entries_lost: auditLost + unaudited.length,
      audit_chain: chain.ok
        ? { ok: true, entries: chain.entries, head: chain.head }
        : { ok: false, entries: chain.entries, broken_at: chain.brokenAt, reason: chain.reason },
    };
  }

  close(): Promise<void> {
    return this.#close();
  }
}

export interface StoreCheck {
  store: TargetName;
  acknowledged_registrations: number;
  registrations_lost: number;
  registrations_lost_ids: string[];
  registrations_without_audit_entry: number;
  installed_license_serial: number | null;
  installs_lost: number;
  audit_entries: number;
  audit_entries_seen_during_run: number;
  audit_entries_lost: number;
  audit_chain: { ok: boolean; entries: number; head?: string; broken_at?: number; reason?: string };
}
