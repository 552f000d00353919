/**
 * The SQLite {@link GatewayStore} (better-sqlite3): one file under the gateway home, WAL so readers
 * never wait for the writer, schema migrations by `PRAGMA user_version`. better-sqlite3 is
 * synchronous, so each method is one statement or one IMMEDIATE transaction: atomic across the
 * processes sharing the file (a running gateway and `gateway license install`).
 */
import { hash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CharterError } from '@charter/core';
import Database from 'better-sqlite3';
import { AUDIT_GENESIS, auditHash } from './audit.ts';
import { fingerprintHi, fingerprintLo } from './replay-index.ts';
import { SqliteReplayLog } from './sqlite-replay-log.ts';
import type {
  AuditEntry,
  AuditEvent,
  GatewayStore,
  InstallOutcome,
  InstanceRecord,
  LicenseRecord,
} from './store.ts';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE instances (
     instance_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, charter_id TEXT NOT NULL, publisher_id TEXT NOT NULL,
     platform TEXT NOT NULL, jkt TEXT NOT NULL, scopes TEXT NOT NULL, attested INTEGER NOT NULL,
     charter_exp INTEGER NOT NULL, created_at INTEGER NOT NULL, attestation_state TEXT);
   CREATE INDEX instances_app ON instances(app_id);
   CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE licenses (serial INTEGER PRIMARY KEY, jti TEXT NOT NULL, site_id TEXT NOT NULL, exp INTEGER NOT NULL,
     token TEXT NOT NULL, installed_at INTEGER NOT NULL);
   CREATE TABLE audit (seq INTEGER PRIMARY KEY, prev TEXT NOT NULL, entry TEXT NOT NULL, hash TEXT NOT NULL);`,
  `CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);`,
  // Used proof ids and spent nonces (useOnce), so that nothing used before a restart is usable after.
  `CREATE TABLE replay (key TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;`,
  // One key is one instance per app (rows of older versions have no charter and admit nothing).
  `ALTER TABLE instances ADD COLUMN charter TEXT;
   ALTER TABLE instances ADD COLUMN waived TEXT;
   ALTER TABLE instances ADD COLUMN evidence TEXT;
   CREATE UNIQUE INDEX instances_key ON instances(app_id, jkt) WHERE charter IS NOT NULL;
   CREATE INDEX instances_jkt ON instances(jkt);`,
  // Replay records by a 16-byte id (replayId) instead of the ~84-character key: about 56 bytes a live
  // proof on disk with the index below (replay-flood.ts), instead of about 130; the records already kept are carried over, so an upgrade
  // forgets no used proof.
  // The index on expires keeps the sweep to the expired rows: without it every sweep read the whole
  // table (a stall of the event loop that grew with the flood).
  `CREATE TABLE replay_ids (id BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX replay_ids_expires ON replay_ids(expires);
   INSERT INTO replay_ids (id, expires) SELECT charter_replay_id(key), expires FROM replay WHERE true
     ON CONFLICT (id) DO UPDATE SET expires = max(expires, excluded.expires);
   DROP TABLE replay;`,
  // Rate counts of gateway workers sharing this file (countInWindow); a single process counts in memory.
  `CREATE TABLE rates (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;`,
  // Replay records appended in arrival order, looked up in each process's memory (sqlite-replay-log.ts):
  // a record no longer dirties a random page of a keyed B-tree. The records kept are carried over.
  // A record is the id's fingerprint as two integers (read back with no buffer made per row).
  `CREATE TABLE replay_log (seq INTEGER PRIMARY KEY, hi INTEGER NOT NULL, lo INTEGER NOT NULL, expires INTEGER NOT NULL);
   INSERT INTO replay_log (hi, lo, expires)
     SELECT charter_fingerprint_hi(id), charter_fingerprint_lo(id), expires FROM replay_ids ORDER BY expires;
   DROP TABLE replay_ids;`,
];

/**
 * The id a replay record is kept under: the first 16 bytes of SHA-256 of its key. Two keys sharing
 * an id (a 2⁻¹²⁸ chance a pair; about 2⁻⁶⁰ with ten million live records) would only refuse the
 * second as used: the safe failure, never a replay accepted. (The one-shot `hash` costs about half
 * of a `createHash` object for a key this short.)
 */
export function replayId(key: string): Buffer {
  return hash('sha256', key, 'buffer').subarray(0, 16);
}

/** Expired rate counts (workers sharing the file) are swept every this many writes. */
const RATE_SWEEP_EVERY = 4096;

interface InstanceRow {
  instance_id: string;
  app_id: string;
  charter_id: string;
  publisher_id: string;
  platform: string;
  jkt: string;
  scopes: string;
  attested: number;
  charter_exp: number;
  created_at: number;
  attestation_state: string | null;
  charter: string | null;
  waived: string | null;
  evidence: string | null;
}

function instanceOf(row: InstanceRow): InstanceRecord {
  const { attestation_state, charter, waived, evidence, ...rest } = row;
  return {
    ...rest,
    platform: row.platform as InstanceRecord['platform'],
    scopes: JSON.parse(row.scopes) as string[],
    attested: row.attested === 1,
    ...(attestation_state
      ? { attestation_state: JSON.parse(attestation_state) as Record<string, unknown> }
      : {}),
    ...(charter ? { charter } : {}),
    ...(waived ? { waived: JSON.parse(waived) as string[] } : {}),
    ...(evidence ? { evidence } : {}),
  };
}

/** The 14 columns of an instance row, in the order of the INSERTs above, from a record. */
function instanceParams(r: InstanceRecord): (string | number | null)[] {
  return [
    r.instance_id,
    r.app_id,
    r.charter_id,
    r.publisher_id,
    r.platform,
    r.jkt,
    JSON.stringify(r.scopes),
    r.attested ? 1 : 0,
    r.charter_exp,
    r.created_at,
    r.attestation_state ? JSON.stringify(r.attestation_state) : null,
    r.charter ?? null,
    r.waived && r.waived.length > 0 ? JSON.stringify(r.waived) : null,
    r.evidence ?? null,
  ];
}

/** How long a statement waits for another process's write lock before failing closed. */
const BUSY_TIMEOUT_MS = 5000;
/** A synchronous sleep (better-sqlite3 is synchronous: the statement must not return before it ran). */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
}

/**
 * Run `fn`, turning a database failure into `unavailable` (fail closed; the cause goes to logs).
 * Another process holding the write lock (a gateway worker, `gateway license install`) is waited
 * for here rather than by SQLite's busy handler, whose first sleep is a whole millisecond: writes of
 * workers sharing the file hold the lock for some 10 µs, so a short spin then sleeps of 50 µs rising
 * to 2 ms keep a collision from adding a millisecond to the request. Every method is one statement
 * or one transaction that a BUSY left unapplied, so running it again is safe.
 */
function guarded<T>(what: string, fn: () => T): T {
  let deadline = 0;
  let pause = 0.05;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof CharterError) throw cause;
      if (isBusy(cause)) {
        const now = performance.now();
        deadline ||= now + BUSY_TIMEOUT_MS;
        if (now < deadline) {
          if (attempt >= 20) {
            Atomics.wait(SLEEPER, 0, 0, pause);
            pause = Math.min(pause * 2, 2);
          }
          continue;
        }
      }
      throw new CharterError('unavailable', 'ERR_STORE', `the gateway store failed to ${what}`, { cause });
    }
  }
}

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * Several processes of one gateway (`gateway start --workers N`) share the file: rate counts go to
   * the store too (countInWindow), and the WAL is checkpointed by the supervising process
   * ({@link SqliteStore.checkpoint}) instead of inline by whichever request crosses the threshold.
   */
  sharedByWorkers?: boolean;
}

/** A {@link GatewayStore} in one SQLite file. */
export class SqliteStore implements GatewayStore {
  readonly path: string;
  readonly #db: Database.Database;
  /** Set for gateway workers sharing the file: the engine then counts rates here (workers-cache.ts). */
  readonly sharedByWorkers: boolean;
  #replayLog: SqliteReplayLog | undefined;
  #rateWrites = 0;
  /** Statements by their text, prepared once (preparing one costs more than running it). */
  readonly #statements = new Map<string, Database.Statement>();

  /** Open (creating and migrating if needed) the store at `path`. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    this.sharedByWorkers = options.sharedByWorkers === true;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // No busy handler of SQLite's own: guarded() waits for the lock (see there).
    this.#db = guarded('open', () => new Database(path, { timeout: 0 }));
    this.#db.function('charter_replay_id', { deterministic: true }, (key) => replayId(String(key)));
    this.#db.function('charter_fingerprint_hi', { deterministic: true }, (id) => fingerprintHi(id as Buffer));
    this.#db.function('charter_fingerprint_lo', { deterministic: true }, (id) => fingerprintLo(id as Buffer));
    guarded('migrate', () => {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.pragma('foreign_keys = ON');
      if (this.sharedByWorkers) this.#db.pragma('wal_autocheckpoint = 0');
      const migrate = this.#db.transaction(() => {
        const version = this.#db.pragma('user_version', { simple: true }) as number;
        if (version > MIGRATIONS.length) {
          throw new CharterError(
            'unavailable',
            'ERR_STORE_VERSION',
            'the gateway store was written by a newer version',
          );
        }
        for (let v = version; v < MIGRATIONS.length; v++) this.#db.exec(MIGRATIONS[v] as string);
        this.#db.pragma(`user_version = ${MIGRATIONS.length}`);
      });
      migrate.immediate();
    });
  }

  /** The statement for `text`, prepared on first use (none of them changes its mode: no raw or pluck). */
  #sql(text: string): Database.Statement {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  async getInstance(instanceId: string): Promise<InstanceRecord | undefined> {
    const row = guarded(
      'read an instance',
      () =>
        this.#sql('SELECT * FROM instances WHERE instance_id = ?').get(instanceId) as InstanceRow | undefined,
    );
    return row ? instanceOf(row) : undefined;
  }

  async instanceByKey(appId: string, jkt: string): Promise<InstanceRecord | undefined> {
    const row = guarded(
      'read an instance',
      () =>
        this.#sql('SELECT * FROM instances WHERE app_id = ? AND jkt = ? AND charter IS NOT NULL').get(
          appId,
          jkt,
        ) as InstanceRow | undefined,
    );
    return row ? instanceOf(row) : undefined;
  }

  async instanceIdsByKey(jkt: string): Promise<string[]> {
    return guarded('read instances', () =>
      (
        this.#sql('SELECT instance_id FROM instances WHERE jkt = ? LIMIT 100').all(jkt) as {
          instance_id: string;
        }[]
      ).map((r) => r.instance_id),
    );
  }

  async registerInstance(r: InstanceRecord): Promise<InstanceRecord> {
    const row = guarded(
      'record an instance',
      () =>
        this.#sql(
          `INSERT INTO instances (instance_id, app_id, charter_id, publisher_id, platform, jkt, scopes, attested, charter_exp, created_at, attestation_state, charter, waived, evidence)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (app_id, jkt) WHERE charter IS NOT NULL DO UPDATE SET
               charter_id = excluded.charter_id, publisher_id = excluded.publisher_id, platform = excluded.platform,
               scopes = excluded.scopes, attested = excluded.attested, charter_exp = excluded.charter_exp,
               attestation_state = excluded.attestation_state, charter = excluded.charter,
               waived = excluded.waived, evidence = excluded.evidence
             RETURNING *`,
        ).get(...instanceParams(r)) as InstanceRow,
    );
    return instanceOf(row);
  }

  async getState(name: string): Promise<string | undefined> {
    return guarded('read state', () => {
      const row = this.#sql('SELECT value FROM state WHERE name = ?').get(name) as
        | { value: string }
        | undefined;
      return row?.value;
    });
  }

  async compareAndSetState(name: string, expected: string | undefined, value: string): Promise<boolean> {
    return guarded('write state', () => {
      const now = Math.floor(Date.now() / 1000);
      const changes =
        expected === undefined
          ? this.#sql(
              'INSERT INTO state (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
            ).run(name, value, now).changes
          : this.#sql('UPDATE state SET value = ?, updated_at = ? WHERE name = ? AND value = ?').run(
              value,
              now,
              name,
              expected,
            ).changes;
      return changes === 1;
    });
  }

  async useOnce(key: string, expiresAt: number, now: number): Promise<boolean> {
    return (await this.useOnceMany([{ key, expiresAt }], now))[0] === true;
  }

  /**
   * {@link useOnce} for several keys in one transaction (the replay cache gathers the proofs of one
   * turn of the event loop): one WAL commit for all of them instead of one each. A key twice in the
   * batch is used by its first entry.
   */
  async useOnceMany(entries: readonly { key: string; expiresAt: number }[], now: number): Promise<boolean[]> {
    return guarded('record a used proof or nonce', () => {
      // WAL with synchronous=NORMAL: committed before the answer, kept across a crash of the process.
      this.#replayLog ??= new SqliteReplayLog(this.#db);
      return this.#replayLog.use(
        entries.map((e) => ({ id: replayId(e.key), expiresAt: e.expiresAt })),
        now,
      );
    });
  }

  async prepareReplay(now: number): Promise<void> {
    guarded('load the used proofs and nonces', () => {
      this.#replayLog ??= new SqliteReplayLog(this.#db);
      this.#replayLog.load(now);
    });
  }

  /** Bytes of this process's in-memory replay index (docs/benchmarks.md: bytes per live proof id). */
  get replayIndexBytes(): number {
    return this.#replayLog?.indexBytes ?? 0;
  }

  /** Replay records standing now (expired ones are swept every few thousand writes). */
  async replayRecords(): Promise<number> {
    return guarded(
      'count replay records',
      () => (this.#sql('SELECT count(*) AS n FROM replay_log').get() as { n: number }).n,
    );
  }

  /**
   * Count one event under `key` in a fixed window ending at `expiresAt`: the new count, starting
   * again at 1 once the stored window ended by `now`. One statement, so workers sharing the file
   * count together.
   */
  async countInWindow(key: string, expiresAt: number, now: number): Promise<number> {
    return guarded('count a rate', () => this.#count(key, expiresAt, now));
  }

  /**
   * {@link countInWindow} for several events in one IMMEDIATE transaction (the workers' group
   * commit): the counts are those of the events one after another, in order.
   */
  async countManyInWindow(
    entries: readonly { key: string; expiresAt: number }[],
    now: number,
  ): Promise<number[]> {
    return guarded('count a rate', () => {
      this.#countMany ??= this.#db.transaction(
        (batch: readonly { key: string; expiresAt: number }[], t: number) =>
          batch.map((e) => this.#count(e.key, e.expiresAt, t)),
      );
      return this.#countMany.immediate(entries, now);
    });
  }

  #countMany:
    | Database.Transaction<(batch: readonly { key: string; expiresAt: number }[], t: number) => number[]>
    | undefined;

  #count(key: string, expiresAt: number, now: number): number {
    const { count } = this.#sql(
      `INSERT INTO rates (key, count, expires) VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN rates.expires <= ? THEN 1 ELSE rates.count + 1 END,
         expires = CASE WHEN rates.expires <= ? THEN excluded.expires ELSE rates.expires END
       RETURNING count`,
    ).get(key, expiresAt, now, now) as { count: number };
    if (++this.#rateWrites % RATE_SWEEP_EVERY === 0)
      this.#sql('DELETE FROM rates WHERE expires <= ?').run(now);
    return count;
  }

  /**
   * Move the WAL's pages into the database file without waiting for readers or writers (PASSIVE),
   * so the WAL stays small; the supervisor of workers calls it every second.
   */
  checkpoint(): void {
    guarded('checkpoint', () => this.#db.pragma('wal_checkpoint(PASSIVE)'));
  }

  async addCounters(counts: Readonly<Record<string, number>>): Promise<void> {
    guarded('add counters', () => {
      const add = this.#sql(
        'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value',
      );
      this.#db.transaction(() => {
        for (const [name, n] of Object.entries(counts)) if (n !== 0) add.run(name, n);
      })();
    });
  }

  async takeCounters(): Promise<Record<string, number>> {
    return guarded('take counters', () =>
      this.#db.transaction(() => {
        const rows = this.#sql('SELECT name, value FROM counters').all() as {
          name: string;
          value: number;
        }[];
        this.#sql('DELETE FROM counters').run();
        return Object.fromEntries(rows.map((r) => [r.name, r.value]));
      })(),
    );
  }

  async advanceAttestationCounter(instanceId: string, counter: number): Promise<boolean> {
    return guarded('advance an attestation counter', () => {
      const changes = this.#sql(
        `UPDATE instances SET attestation_state = json_set(attestation_state, '$.counter', ?)
           WHERE instance_id = ? AND attestation_state IS NOT NULL
             AND COALESCE(json_extract(attestation_state, '$.counter'), 0) < ?`,
      ).run(counter, instanceId, counter).changes;
      return changes === 1;
    });
  }

  async putInstance(r: InstanceRecord): Promise<void> {
    guarded('record an instance', () =>
      this.#sql(
        `INSERT INTO instances (instance_id, app_id, charter_id, publisher_id, platform, jkt, scopes, attested, charter_exp, created_at, attestation_state, charter, waived, evidence)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(...instanceParams(r)),
    );
  }

  async secret(name: string, create: () => Uint8Array): Promise<Uint8Array> {
    return guarded('read a secret', () => {
      const read = () =>
        this.#sql('SELECT value FROM secrets WHERE name = ?').get(name) as { value: Buffer } | undefined;
      const found = read();
      if (found) return new Uint8Array(found.value);
      // INSERT OR IGNORE then read back: whoever wrote first wins, and everyone reads the winner.
      this.#sql('INSERT OR IGNORE INTO secrets (name, value, created_at) VALUES (?, ?, ?)').run(
        name,
        Buffer.from(create()),
        Math.floor(Date.now() / 1000),
      );
      return new Uint8Array((read() as { value: Buffer }).value);
    });
  }

  async installLicense(r: LicenseRecord): Promise<InstallOutcome> {
    return guarded('record a license', () => {
      const tx = this.#db.transaction((): InstallOutcome => {
        const top = this.#sql(
          'SELECT serial, jti, site_id FROM licenses ORDER BY serial DESC LIMIT 1',
        ).get() as { serial: number; jti: string; site_id: string } | undefined;
        if (top) {
          if (top.site_id !== r.site_id) return 'other_site';
          if (r.serial < top.serial) return 'serial_below_installed';
          if (r.serial === top.serial) return top.jti === r.jti ? 'already_installed' : 'serial_reused';
        }
        this.#sql(
          'INSERT INTO licenses (serial, jti, site_id, exp, token, installed_at) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(r.serial, r.jti, r.site_id, r.exp, r.token, r.installed_at);
        return 'installed';
      });
      return tx.immediate();
    });
  }

  async currentLicense(): Promise<LicenseRecord | undefined> {
    return guarded(
      'read the license',
      () =>
        this.#sql('SELECT * FROM licenses ORDER BY serial DESC LIMIT 1').get() as LicenseRecord | undefined,
    );
  }

  async appendAudit(event: AuditEvent): Promise<AuditEntry> {
    return guarded('append to the audit log', () => {
      const tx = this.#db.transaction((): AuditEntry => {
        const last = this.#sql('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
          | { seq: number; hash: string }
          | undefined;
        const seq = (last?.seq ?? 0) + 1;
        const prev = last?.hash ?? AUDIT_GENESIS;
        const entry = JSON.stringify({ seq, ...event });
        const hash = auditHash(prev, entry);
        this.#sql('INSERT INTO audit (seq, prev, entry, hash) VALUES (?, ?, ?, ?)').run(
          seq,
          prev,
          entry,
          hash,
        );
        return { seq, prev, entry, hash };
      });
      return tx.immediate();
    });
  }

  async auditEntries(after = 0, limit = 10_000): Promise<AuditEntry[]> {
    return guarded(
      'read the audit log',
      () =>
        this.#sql('SELECT seq, prev, entry, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?').all(
          after,
          limit,
        ) as AuditEntry[],
    );
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
