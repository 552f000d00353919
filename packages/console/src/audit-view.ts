/**
 * What the console reads from the gateway's hash-chained audit log: refusals by code, the latest
 * refusals, registered instances, recent admin actions, and the chain's verification. The log is read
 * incrementally (entries after the last one seen), so each screen costs only what was appended since.
 */
import {
  type AuditChainResult,
  type AuditEntry,
  type GatewayStore,
  verifyAuditChain,
} from '@charter/gateway';

/** One refusal (or monitored refusal) as the console shows it. */
export interface RefusalRow {
  seq: number;
  at: number;
  kind: 'refusal' | 'monitor';
  endpoint: string | undefined;
  code: string;
  detail: string | undefined;
  app_id: string | undefined;
  instance_id: string | undefined;
}

/** A registered instance, from its `register` entry. */
export interface InstanceRow {
  instance_id: string;
  app_id: string | undefined;
  publisher_id: string | undefined;
  charter_id: string | undefined;
  platform: string | undefined;
  attested: boolean;
  registered_at: number;
}

/** An admin action from the chain. */
export interface AdminRow {
  seq: number;
  at: number;
  actor: string | undefined;
  action: string | undefined;
  detail: string | undefined;
  instance_id: string | undefined;
  license_serial: number | undefined;
}

const PAGE = 2000;
const KEEP_LATEST = 50;
const MAX_INSTANCES = 100_000;

interface Parsed {
  kind?: string;
  at?: number;
  endpoint?: string;
  code?: string;
  detail?: string;
  app_id?: string;
  publisher_id?: string;
  instance_id?: string;
  charter_id?: string;
  platform?: string;
  attested?: boolean;
  actor?: string;
  action?: string;
  license_serial?: number;
}

/** The incremental view of the audit log. */
export class AuditView {
  #cursor = 0;
  #head = { seq: 0, hash: '' };
  #broken: { seq: number; reason: string } | undefined;
  readonly byCode = new Map<string, { refused: number; monitored: number }>();
  readonly latest: RefusalRow[] = [];
  readonly admin: AdminRow[] = [];
  readonly instances = new Map<string, InstanceRow>();
  #syncing: Promise<void> | undefined;

  constructor(readonly store: GatewayStore) {}

  /** Read what was appended since the last call (concurrent callers share one read). */
  sync(): Promise<void> {
    this.#syncing ??= this.#read().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  /** Whether the entries read so far link up (checked as they are read). */
  get chain(): { ok: boolean; entries: number; broken_at?: number; reason?: string } {
    return this.#broken
      ? { ok: false, entries: this.#head.seq, broken_at: this.#broken.seq, reason: this.#broken.reason }
      : { ok: true, entries: this.#head.seq };
  }

  async #read(): Promise<void> {
    // Bounded per call: a huge backlog is caught up over a few screens rather than in one request.
    for (let pages = 0; pages < 50; pages++) {
      const entries = await this.store.auditEntries(this.#cursor, PAGE);
      if (entries.length === 0) return;
      if (!this.#broken) {
        const r = verifyAuditChain(entries, this.#head);
        if (r.ok) this.#head = { seq: entries.at(-1)?.seq ?? this.#head.seq, hash: r.head };
        else this.#broken = { seq: r.brokenAt, reason: r.reason };
      }
      for (const e of entries) this.#take(e);
      this.#cursor = entries.at(-1)?.seq ?? this.#cursor;
      if (entries.length < PAGE) return;
    }
  }

  #take(e: AuditEntry): void {
    let p: Parsed;
    try {
      p = JSON.parse(e.entry) as Parsed;
    } catch {
      return;
    }
    const at = typeof p.at === 'number' ? p.at : 0;
    if ((p.kind === 'refusal' || p.kind === 'monitor') && typeof p.code === 'string') {
      const c = this.byCode.get(p.code) ?? { refused: 0, monitored: 0 };
      if (p.kind === 'refusal') c.refused += 1;
      else c.monitored += 1;
      this.byCode.set(p.code, c);
      push(this.latest, {
        seq: e.seq,
        at,
        kind: p.kind,
        endpoint: p.endpoint,
        code: p.code,
        detail: p.detail,
        app_id: p.app_id,
        instance_id: p.instance_id,
      });
    } else if (p.kind === 'register' && typeof p.instance_id === 'string') {
      if (this.instances.size < MAX_INSTANCES || this.instances.has(p.instance_id))
        this.instances.set(p.instance_id, {
          instance_id: p.instance_id,
          app_id: p.app_id,
          publisher_id: p.publisher_id,
          charter_id: p.charter_id,
          platform: p.platform,
          attested: p.attested === true,
          registered_at: at,
        });
    } else if (p.kind === 'admin') {
      push(this.admin, {
        seq: e.seq,
        at,
        actor: p.actor,
        action: p.action,
        detail: p.detail,
        instance_id: p.instance_id,
        license_serial: p.license_serial,
      });
    }
  }
}

function push<T>(list: T[], row: T): void {
  list.unshift(row);
  if (list.length > KEEP_LATEST) list.length = KEEP_LATEST;
}

/** Verify the whole audit chain from its first entry, page by page. */
export async function verifyWholeChain(store: GatewayStore): Promise<AuditChainResult> {
  let from = { seq: 0, hash: '' };
  let total = 0;
  for (;;) {
    const entries = await store.auditEntries(from.seq, 5000);
    if (entries.length === 0) return { ok: true, entries: total, head: from.hash };
    const r = verifyAuditChain(entries, from);
    if (!r.ok) return { ...r, entries: total + r.entries };
    total += entries.length;
    from = { seq: entries.at(-1)?.seq ?? from.seq, hash: r.head };
    if (entries.length < 5000) return { ok: true, entries: total, head: from.hash };
  }
}
