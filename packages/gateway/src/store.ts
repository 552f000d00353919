/**
 * Durable gateway state behind a small async interface: registered instances, the site's secrets
 * (token key, nonce key, later the installation key), installed licenses with their serial
 * high-water mark, and the hash-chained audit log. SQLite implements it (sqlite-store.ts);
 * PostgreSQL is a later issue, which is why every method is async and every write is one atomic step.
 */
import type { Platform } from '@charter/core';

/** A registered app instance. */
export interface InstanceRecord {
  instance_id: string;
  app_id: string;
  /** The charter's `jti`. */
  charter_id: string;
  publisher_id: string;
  platform: Platform;
  /** RFC 7638 thumbprint of the instance key. */
  jkt: string;
  /** The scopes granted at registration. */
  scopes: string[];
  attested: boolean;
  /** The charter's `exp`: tokens are never issued past it. */
  charter_exp: number;
  created_at: number;
  /** What the attestation verifier asked to keep (e.g. an App Attest key id and counter). */
  attestation_state?: Record<string, unknown>;
  /**
   * The vendor-signed charter the instance registered with (compact JWS). Admission re-verifies it,
   * so a row without one (older versions, or written by hand) admits nothing.
   */
  charter?: string;
  /** Checks that only monitor mode let through at registration (`code:detail`); refused under enforce. */
  waived?: string[];
  /** base64url SHA-256 of the attestation object the instance registered with. */
  evidence?: string;
}

/** An installed license as the store keeps it. */
export interface LicenseRecord {
  serial: number;
  jti: string;
  site_id: string;
  exp: number;
  token: string;
  installed_at: number;
}

/** Why the store refused to record a license, or that it did. */
export type InstallOutcome =
  | 'installed'
  | 'already_installed'
  | 'serial_below_installed'
  | 'serial_reused'
  | 'other_site';

/** What an audit entry says; the store adds `seq`, `prev` and `hash`. */
export interface AuditEvent {
  at: number;
  kind: 'register' | 'refusal' | 'monitor' | 'license' | 'clock' | 'admin';
  endpoint?: string;
  code?: string;
  detail?: string;
  app_id?: string;
  publisher_id?: string;
  instance_id?: string;
  charter_id?: string;
  license_serial?: number;
  /** Registrations: the platform and whether the instance is hardware-attested (unattested ones are marked). */
  platform?: string;
  attested?: boolean;
  /** Clock events: the clock seen and the high-water mark it fell behind. */
  clock?: number;
  high_water?: number;
  /**
   * Refusals with no verified identity are sampled (anonymous-audit.ts): the number of such refusals,
   * of this endpoint and code, that this entry stands for (itself included).
   */
  count?: number;
  /** Admin console events: who (the operator's email, or `… (sign-in)` for failures) and what (`auth.signin`, `instance.revoke`, …). */
  actor?: string;
  action?: string;
}

/** A stored audit entry: `hash` = base64url(SHA-256(prev || "." || entry)), `entry` the event JSON. */
export interface AuditEntry {
  seq: number;
  prev: string;
  entry: string;
  hash: string;
}

/** The gateway's durable store. */
export interface GatewayStore {
  /**
   * True for a store several gateway processes share (PostgreSQL): the engine then refuses to start
   * on an in-process replay cache, which the other replicas would not see.
   */
  readonly sharedByReplicas?: boolean;
  /**
   * True for an embedded store the workers of one gateway share (`gateway start --workers N`, N > 1):
   * the engine then counts rates in it too ({@link GatewayStore.countInWindow}), not in its process.
   */
  readonly sharedByWorkers?: boolean;
  getInstance(instanceId: string): Promise<InstanceRecord | undefined>;
  putInstance(record: InstanceRecord): Promise<void>;
  /** The instance of app `appId` whose key has thumbprint `jkt` (one key is one instance per app). */
  instanceByKey(appId: string, jkt: string): Promise<InstanceRecord | undefined>;
  /** The ids of every instance, of any app, whose key has thumbprint `jkt`. */
  instanceIdsByKey(jkt: string): Promise<string[]>;
  /**
   * Record a registration: a new instance, or, when the app already has an instance with this key,
   * that instance refreshed in place (same id and `created_at`; charter, scopes, attestation, evidence
   * and waivers replaced), atomically. Returns the record as stored.
   */
  registerInstance(record: InstanceRecord): Promise<InstanceRecord>;
  /**
   * Raise the instance's App Attest counter (`attestation_state.counter`) to `counter` if and only if
   * it is currently lower, atomically; false when it was not (a replayed or concurrent assertion).
   */
  advanceAttestationCounter(instanceId: string, counter: number): Promise<boolean>;
  /**
   * The secret `name`, created from `create()` if absent, atomically: two replicas starting together
   * both end up with the first one written.
   */
  secret(name: string, create: () => Uint8Array): Promise<Uint8Array>;
  /** Record a license unless its serial is below the highest installed (or reused, or for another site). */
  installLicense(record: LicenseRecord): Promise<InstallOutcome>;
  /** The installed license with the highest serial. */
  currentLicense(): Promise<LicenseRecord | undefined>;
  /** A small named record (JSON text): the clock high-water mark, the head of the report chain, … */
  getState(name: string): Promise<string | undefined>;
  /**
   * Set `name` to `value` only if it still holds `expected` (undefined: only if absent), atomically
   * across replicas; false when another writer changed it first.
   */
  compareAndSetState(name: string, expected: string | undefined, value: string): Promise<boolean>;
  /**
   * Record `key` as used until `expiresAt`, durably and atomically: true the first time (or once an
   * earlier record expired by `now`), false while one stands. Both times are the engine's (epoch
   * seconds, never below the clock mark), the clock proofs are checked against, so no change of the
   * wall clock can expire a record while its proof is still in its window. An embedded store
   * implements it so that a used proof or spent nonce stays used across a restart or a crash
   * (replay-cache.ts); a store shared by replicas leaves it to the shared cache (Redis).
   */
  useOnce?(key: string, expiresAt: number, now: number): Promise<boolean>;
  /** {@link useOnce} for several keys at once, atomically each (one transaction: cheaper per key). */
  useOnceMany?(entries: readonly { key: string; expiresAt: number }[], now: number): Promise<boolean[]>;
  /**
   * Load what {@link useOnce} needs before the first request (the embedded store's in-memory index
   * of the records standing at `now`), so no request waits for it; the engine calls it at start.
   */
  prepareReplay?(now: number): Promise<void>;
  /**
   * Count one event under `key` in a window ending at `expiresAt` (engine seconds), atomically: the
   * count so far, restarting at 1 once the stored window ended by `now`. Stores shared by workers
   * implement it (rate limits count across the workers).
   */
  countInWindow?(key: string, expiresAt: number, now: number): Promise<number>;
  /** {@link countInWindow} for several events at once, in order, atomically each (one transaction). */
  countManyInWindow?(entries: readonly { key: string; expiresAt: number }[], now: number): Promise<number[]>;
  /** Add to named counters atomically (usage since the last report). */
  addCounters(counts: Readonly<Record<string, number>>): Promise<void>;
  /** Read every counter and reset them to zero, atomically. */
  takeCounters(): Promise<Record<string, number>>;
  /** Append an event to the audit chain. */
  appendAudit(event: AuditEvent): Promise<AuditEntry>;
  /** Audit entries with `seq` greater than `after`, in order, at most `limit`. */
  auditEntries(after?: number, limit?: number): Promise<AuditEntry[]>;
  close(): Promise<void>;
}
