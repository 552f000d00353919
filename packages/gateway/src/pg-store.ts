/**
 * The PostgreSQL {@link GatewayStore}, shared by every gateway replica of a site. Each method is one
 * statement or one short transaction, atomic across replicas by PostgreSQL's own row locks
 * (conditional UPDATEs re-check their WHERE on the newest row version under READ COMMITTED), and
 * every failure to reach the database becomes `unavailable`: the gateway fails closed and recovers
 * on its own, since the pool opens fresh connections once the server answers again.
 */
import { CharterError } from '@charter/core';
import pg from 'pg';
import type { Logger } from 'pino';
import { BackendStatus, type HasBackendStatus } from './backend-status.ts';
import { checkSchemaName, migrate } from './pg-schema.ts';
import type {
  AuditEntry,
  AuditEvent,
  GatewayStore,
  InstallOutcome,
  InstanceRecord,
  LicenseRecord,
} from './store.ts';

/** Options of {@link PgStore.open}. */
export interface PgStoreOptions {
  /** Tables live in this schema (created if absent); default `public`. */
  schema?: string;
  /** Connections per replica; default 10. */
  poolSize?: number;
  /** Milliseconds to wait for a connection before failing closed; default 2000. */
  connectTimeoutMs?: number;
  /** Milliseconds a statement may run (server side and client side); default 5000. */
  statementTimeoutMs?: number;
  /** Outage and recovery lines go here. */
  logger?: Logger;
}

/** The channel `NOTIFY`ed when a license is installed; the payload is the schema. */
const LICENSE_CHANNEL = 'charter_license';

interface InstanceRow {
  instance_id: string;
  app_id: string;
  charter_id: string;
  publisher_id: string;
  platform: InstanceRecord['platform'];
  jkt: string;
  scopes: string[];
  attested: boolean;
  charter_exp: string;
  created_at: string;
  attestation_state: Record<string, unknown> | null;
  charter: string | null;
  waived: string[] | null;
  evidence: string | null;
}

function instanceOf(row: InstanceRow): InstanceRecord {
  const { attestation_state, charter, waived, evidence, ...rest } = row;
  return {
    ...rest,
    charter_exp: Number(row.charter_exp),
    created_at: Number(row.created_at),
    ...(attestation_state ? { attestation_state } : {}),
    ...(charter ? { charter } : {}),
    ...(waived && waived.length > 0 ? { waived } : {}),
    ...(evidence ? { evidence } : {}),
  };
}

/** The instance columns in insert order. */
const INSTANCE_COLUMNS =
  'instance_id, app_id, charter_id, publisher_id, platform, jkt, scopes, attested, charter_exp, created_at, attestation_state, charter, waived, evidence';

function instanceValues(r: InstanceRecord): unknown[] {
  return [
    r.instance_id,
    r.app_id,
    r.charter_id,
    r.publisher_id,
    r.platform,
    r.jkt,
    JSON.stringify(r.scopes),
    r.attested,
    r.charter_exp,
    r.created_at,
    r.attestation_state ? JSON.stringify(r.attestation_state) : null,
    r.charter ?? null,
    r.waived && r.waived.length > 0 ? JSON.stringify(r.waived) : null,
    r.evidence ?? null,
  ];
}

interface LicenseRow {
  serial: string;
  jti: string;
  site_id: string;
  exp: string;
  token: string;
  installed_at: string;
}

/**
 * True for failures to reach the database (refused, reset or timed-out connections; SQLSTATE classes
 * 08 connection exception, 53 insufficient resources, 57 operator intervention), as opposed to a
 * statement the database refused.
 */
function isConnectionFailure(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('53') || code.startsWith('57');
}

/** A {@link GatewayStore} in PostgreSQL. */
export class PgStore implements GatewayStore, HasBackendStatus {
  readonly sharedByReplicas = true;
  readonly backendStatus: BackendStatus;
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #config: pg.PoolConfig;
  #listener: pg.Client | undefined;
  #closed = false;

  private constructor(pool: pg.Pool, config: pg.PoolConfig, schema: string, status: BackendStatus) {
    this.#pool = pool;
    this.#config = config;
    this.schema = schema;
    this.backendStatus = status;
  }

  /**
   * Connect to `url` (`postgres://…`) and migrate. Fails with `unavailable` when the database cannot
   * be reached, so `gateway start` exits 1 rather than serving without its store.
   */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const schema = checkSchemaName(options.schema ?? 'public');
    const timeout = options.statementTimeoutMs ?? 5000;
    const config: pg.PoolConfig = {
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
      // Server side: a statement (or a wait for a row lock) never holds a request longer than this.
      statement_timeout: timeout,
      // Client side: a server that stopped answering mid-query fails the call too.
      query_timeout: timeout + 1000,
      idle_in_transaction_session_timeout: timeout * 2,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'charter-gateway',
      ...(schema === 'public' ? {} : { options: `-c search_path=${schema}` }),
    };
    const status = new BackendStatus('postgres', options.logger);
    const pool = new pg.Pool(config);
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    pool.on('error', (e) => status.failed(e));
    const store = new PgStore(pool, config, schema, status);
    try {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
    } catch (cause) {
      await pool.end().catch(() => {});
      if (cause instanceof CharterError) throw cause;
      throw new CharterError('unavailable', 'ERR_STORE', 'the gateway store (PostgreSQL) cannot be opened', {
        cause,
      });
    }
    return store;
  }

  async getInstance(instanceId: string): Promise<InstanceRecord | undefined> {
    const { rows } = await this.#query<InstanceRow>(
      'read an instance',
      'SELECT * FROM instances WHERE instance_id = $1',
      [instanceId],
    );
    const row = rows[0];
    return row ? instanceOf(row) : undefined;
  }

  async putInstance(r: InstanceRecord): Promise<void> {
    await this.#query(
      'record an instance',
      `INSERT INTO instances (${INSTANCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      instanceValues(r),
    );
  }

  async instanceByKey(appId: string, jkt: string): Promise<InstanceRecord | undefined> {
    const { rows } = await this.#query<InstanceRow>(
      'read an instance',
      'SELECT * FROM instances WHERE app_id = $1 AND jkt = $2 AND charter IS NOT NULL',
      [appId, jkt],
    );
    const row = rows[0];
    return row ? instanceOf(row) : undefined;
  }

  async instanceIdsByKey(jkt: string): Promise<string[]> {
    const { rows } = await this.#query<{ instance_id: string }>(
      'read instances',
      'SELECT instance_id FROM instances WHERE jkt = $1 LIMIT 100',
      [jkt],
    );
    return rows.map((r) => r.instance_id);
  }

  async registerInstance(r: InstanceRecord): Promise<InstanceRecord> {
    // One statement: two replicas registering one key race on the unique index, and the loser's
    // insert becomes the refresh of the winner's row.
    const { rows } = await this.#query<InstanceRow>(
      'record an instance',
      `INSERT INTO instances (${INSTANCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (app_id, jkt) WHERE charter IS NOT NULL DO UPDATE SET
         charter_id = excluded.charter_id, publisher_id = excluded.publisher_id, platform = excluded.platform,
         scopes = excluded.scopes, attested = excluded.attested, charter_exp = excluded.charter_exp,
         attestation_state = excluded.attestation_state, charter = excluded.charter,
         waived = excluded.waived, evidence = excluded.evidence
       RETURNING *`,
      instanceValues(r),
    );
    const row = rows[0];
    if (!row) throw new CharterError('unavailable', 'ERR_STORE', 'the instance was not recorded');
    return instanceOf(row);
  }

  async advanceAttestationCounter(instanceId: string, counter: number): Promise<boolean> {
    // Two replicas racing: the second UPDATE waits for the first's row lock, then re-evaluates the
    // WHERE against the raised counter and changes nothing.
    const { rowCount } = await this.#query(
      'advance an attestation counter',
      `UPDATE instances SET attestation_state = jsonb_set(attestation_state, '{counter}', to_jsonb($2::bigint))
       WHERE instance_id = $1 AND attestation_state IS NOT NULL
         AND COALESCE((attestation_state->>'counter')::numeric, 0) < $2::bigint`,
      [instanceId, counter],
    );
    return rowCount === 1;
  }

  async secret(name: string, create: () => Uint8Array): Promise<Uint8Array> {
    const read = async () =>
      (
        await this.#query<{ value: Buffer }>('read a secret', 'SELECT value FROM secrets WHERE name = $1', [
          name,
        ])
      ).rows[0];
    const found = await read();
    if (found) return new Uint8Array(found.value);
    // A concurrent insert makes this one wait and then do nothing; the read after it (a new
    // snapshot) sees whichever value committed first.
    await this.#query(
      'create a secret',
      'INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
      [name, Buffer.from(create()), Math.floor(Date.now() / 1000)],
    );
    const written = await read();
    if (!written)
      throw new CharterError('unavailable', 'ERR_STORE', 'the gateway store lost a secret it just wrote');
    return new Uint8Array(written.value);
  }

  async installLicense(r: LicenseRecord): Promise<InstallOutcome> {
    return this.#transaction('record a license', async (c) => {
      // EXCLUSIVE blocks other installers (and inserts) until commit, but never readers.
      await c.query('LOCK TABLE licenses IN EXCLUSIVE MODE');
      const top = (
        await c.query<{ serial: string; jti: string; site_id: string }>(
          'SELECT serial, jti, site_id FROM licenses ORDER BY serial DESC LIMIT 1',
        )
      ).rows[0];
      if (top) {
        const serial = Number(top.serial);
        if (top.site_id !== r.site_id) return 'other_site';
        if (r.serial < serial) return 'serial_below_installed';
        if (r.serial === serial) return top.jti === r.jti ? 'already_installed' : 'serial_reused';
      }
      await c.query(
        'INSERT INTO licenses (serial, jti, site_id, exp, token, installed_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [r.serial, r.jti, r.site_id, r.exp, r.token, r.installed_at],
      );
      // Delivered at commit to every replica listening (see watchLicenses); polling stays the fallback.
      await c.query('SELECT pg_notify($1, $2)', [LICENSE_CHANNEL, this.schema]);
      return 'installed';
    });
  }

  async currentLicense(): Promise<LicenseRecord | undefined> {
    const { rows } = await this.#query<LicenseRow>(
      'read the license',
      'SELECT * FROM licenses ORDER BY serial DESC LIMIT 1',
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      ...row,
      serial: Number(row.serial),
      exp: Number(row.exp),
      installed_at: Number(row.installed_at),
    };
  }

  async getState(name: string): Promise<string | undefined> {
    const { rows } = await this.#query<{ value: string }>(
      'read state',
      'SELECT value FROM state WHERE name = $1',
      [name],
    );
    return rows[0]?.value;
  }

  async compareAndSetState(name: string, expected: string | undefined, value: string): Promise<boolean> {
    const now = Math.floor(Date.now() / 1000);
    const { rowCount } =
      expected === undefined
        ? await this.#query(
            'write state',
            'INSERT INTO state (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
            [name, value, now],
          )
        : await this.#query(
            'write state',
            'UPDATE state SET value = $2, updated_at = $3 WHERE name = $1 AND value = $4',
            [name, value, now, expected],
          );
    return rowCount === 1;
  }

  async addCounters(counts: Readonly<Record<string, number>>): Promise<void> {
    // Sorted, so that two replicas adding the same names lock the rows in the same order (no deadlock).
    const entries = Object.entries(counts)
      .filter(([, n]) => n !== 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return;
    await this.#query(
      'add counters',
      `INSERT INTO counters (name, value) SELECT * FROM unnest($1::text[], $2::bigint[])
       ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value`,
      [entries.map(([k]) => k), entries.map(([, n]) => n)],
    );
  }

  async takeCounters(): Promise<Record<string, number>> {
    const { rows } = await this.#query<{ name: string; value: string }>(
      'take counters',
      'DELETE FROM counters RETURNING name, value',
    );
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.value)]));
  }

  async appendAudit(event: AuditEvent): Promise<AuditEntry> {
    // One statement, so the chain head stays locked for one round trip only. The entry text is
    // exactly JSON.stringify({ seq, ...event }) (seq first, then the event's members) and the hash is
    // base64url(SHA-256(prev "." entry)), both built in SQL from the head this statement locked.
    const { rows } = await this.#query<{ seq: string; prev: string; entry: string; hash: string }>(
      'append to the audit log',
      `WITH head AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
       e AS (SELECT head.seq + 1 AS seq, head.hash AS prev,
                    '{"seq":' || (head.seq + 1)::text || ',' || substr($1::text, 2) AS entry FROM head),
       h AS (SELECT seq, prev, entry,
                    rtrim(translate(encode(sha256(convert_to(prev || '.' || entry, 'UTF8')), 'base64'), '+/', '-_'), '=') AS hash
             FROM e),
       ins AS (INSERT INTO audit (seq, prev, entry, hash) SELECT seq, prev, entry, hash FROM h
               RETURNING seq, prev, entry, hash),
       moved AS (UPDATE audit_head SET seq = h.seq, hash = h.hash FROM h WHERE audit_head.id = 1)
       SELECT seq, prev, entry, hash FROM ins`,
      [JSON.stringify(event)],
    );
    const row = rows[0];
    if (!row) throw new CharterError('unavailable', 'ERR_STORE', 'the audit chain has no head');
    return { ...row, seq: Number(row.seq) };
  }

  async auditEntries(after = 0, limit = 10_000): Promise<AuditEntry[]> {
    const { rows } = await this.#query<{ seq: string; prev: string; entry: string; hash: string }>(
      'read the audit log',
      'SELECT seq, prev, entry, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, limit],
    );
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  }

  /**
   * Call `listener` whenever any replica (or `gateway license install`) installs a license, through
   * LISTEN/NOTIFY on a connection of its own, reconnected after an outage. A hint only: a replica
   * that misses one still finds the license at its next poll.
   */
  watchLicenses(listener: () => void): void {
    const connect = async (): Promise<void> => {
      if (this.#closed) return;
      const client = new pg.Client(this.#config);
      let retried = false;
      const retry = () => {
        if (retried || this.#closed) return;
        retried = true;
        this.#listener = undefined;
        client.end().catch(() => {});
        setTimeout(() => void connect(), 1000).unref();
      };
      client.on('error', retry);
      client.on('end', retry);
      client.on('notification', (n) => {
        if (n.channel === LICENSE_CHANNEL && n.payload === this.schema) listener();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${LICENSE_CHANNEL}`);
        this.#listener = client;
        // Anything installed while this connection was down is picked up now rather than at the poll.
        listener();
      } catch {
        retry();
      }
    };
    void connect();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#listener?.end().catch(() => {});
    await this.#pool.end();
  }

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    what: string,
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      const r = await this.#pool.query<R>(text, values);
      this.backendStatus.ok();
      return r;
    } catch (cause) {
      throw this.#failure(what, cause);
    }
  }

  async #transaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (cause) {
      throw this.#failure(what, cause);
    }
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      client.release();
      this.backendStatus.ok();
      return result;
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => {});
      // A connection that failed mid-transaction is discarded, not returned to the pool.
      client.release(cause instanceof Error ? cause : true);
      throw this.#failure(what, cause);
    }
  }

  #failure(what: string, cause: unknown): CharterError {
    if (cause instanceof CharterError) return cause;
    if (isConnectionFailure(cause)) this.backendStatus.failed(cause);
    return new CharterError('unavailable', 'ERR_STORE', `the gateway store failed to ${what}`, { cause });
  }
}
