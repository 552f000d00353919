/**
 * The attester's records: what it issued and refused, per site and app, with instance key
 * thumbprints — the independent evidence `vendor report verify` sets against a site's usage reports —
 * and its spent challenge nonces. SQLite by default, PostgreSQL with `--db postgres://…` (shared by
 * replicas). No customer data is kept: ids, thumbprints, verdicts and catalogue codes only.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

/** One attester decision. */
export interface AttesterRecord {
  at: number;
  site_id: string;
  app_id: string | null;
  charter_id: string | null;
  platform: string | null;
  jkt: string | null;
  verdict: 'issued' | 'refused';
  /** The token's jti when issued; the catalogue code when refused. */
  jti: string | null;
  code: string | null;
  evidence: string | null;
}

/** Counts per site and app, for operators and `vendor report verify`. */
export interface AttesterSummary {
  site_id: string;
  app_id: string | null;
  issued: number;
  refused: number;
  instances: number;
}

/** Where records and spent nonces live. */
export interface AttesterRecords {
  /** Spend a nonce once; false when it was spent already. */
  spendNonce(nonce: string, exp: number): Promise<boolean>;
  add(record: AttesterRecord): Promise<void>;
  /** Of `jkts`, those the attester issued a token for at `siteId`. */
  vouched(siteId: string, jkts: readonly string[]): Promise<Set<string>>;
  summary(): Promise<AttesterSummary[]>;
  /** A secret shared by replicas (the challenge MAC key), made once. */
  secret(): Promise<Buffer>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS attester_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, site_id TEXT NOT NULL, app_id TEXT,
    charter_id TEXT, platform TEXT, jkt TEXT, verdict TEXT NOT NULL, jti TEXT, code TEXT, evidence TEXT
  );
  CREATE INDEX IF NOT EXISTS attester_records_site_jkt ON attester_records (site_id, jkt);
  CREATE TABLE IF NOT EXISTS attester_nonces (nonce TEXT PRIMARY KEY, exp INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS attester_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const COLUMNS = [
  'at',
  'site_id',
  'app_id',
  'charter_id',
  'platform',
  'jkt',
  'verdict',
  'jti',
  'code',
  'evidence',
] as const;

/** Records in a SQLite file. */
export class SqliteAttesterRecords implements AttesterRecords {
  readonly #db: Database.Database;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
  }

  async spendNonce(nonce: string, exp: number): Promise<boolean> {
    this.#db.prepare('DELETE FROM attester_nonces WHERE exp < ?').run(Math.floor(Date.now() / 1000) - 60);
    return (
      this.#db
        .prepare('INSERT INTO attester_nonces (nonce, exp) VALUES (?, ?) ON CONFLICT DO NOTHING')
        .run(nonce, exp).changes === 1
    );
  }

  async add(r: AttesterRecord): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO attester_records (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
      )
      .run(...COLUMNS.map((c) => r[c]));
  }

  async vouched(siteId: string, jkts: readonly string[]): Promise<Set<string>> {
    const rows = this.#db
      .prepare(
        `SELECT DISTINCT jkt FROM attester_records WHERE site_id = ? AND verdict = 'issued' AND jkt IN (SELECT value FROM json_each(?))`,
      )
      .all(siteId, JSON.stringify(jkts)) as { jkt: string }[];
    return new Set(rows.map((r) => r.jkt));
  }

  async summary(): Promise<AttesterSummary[]> {
    return this.#db
      .prepare(
        `SELECT site_id, app_id, SUM(verdict = 'issued') AS issued, SUM(verdict = 'refused') AS refused,
           COUNT(DISTINCT CASE WHEN verdict = 'issued' THEN jkt END) AS instances
         FROM attester_records GROUP BY site_id, app_id ORDER BY site_id, app_id`,
      )
      .all() as AttesterSummary[];
  }

  async secret(): Promise<Buffer> {
    const { randomBytes } = await import('node:crypto');
    this.#db
      .prepare(`INSERT INTO attester_meta (key, value) VALUES ('challenge-key', ?) ON CONFLICT DO NOTHING`)
      .run(randomBytes(32).toString('base64'));
    const row = this.#db.prepare(`SELECT value FROM attester_meta WHERE key = 'challenge-key'`).get() as {
      value: string;
    };
    return Buffer.from(row.value, 'base64');
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}

/** Records in PostgreSQL, shared by attester replicas. */
export class PgAttesterRecords implements AttesterRecords {
  readonly #pool: pg.Pool;
  #ready: Promise<void> | undefined;

  constructor(url: string, options: { schema?: string } = {}) {
    const schema = options.schema;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: 5,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    this.#pool.on('error', () => {
      // A dropped idle connection is replaced on next use; readiness reports a down database.
    });
  }

  #init(): Promise<void> {
    this.#ready ??= this.#pool
      .query(
        `CREATE TABLE IF NOT EXISTS attester_records (
          id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, site_id TEXT NOT NULL, app_id TEXT, charter_id TEXT,
          platform TEXT, jkt TEXT, verdict TEXT NOT NULL, jti TEXT, code TEXT, evidence TEXT);
        CREATE INDEX IF NOT EXISTS attester_records_site_jkt ON attester_records (site_id, jkt);
        CREATE TABLE IF NOT EXISTS attester_nonces (nonce TEXT PRIMARY KEY, exp BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS attester_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
      )
      .then(() => undefined)
      .catch((e) => {
        this.#ready = undefined;
        throw e;
      });
    return this.#ready;
  }

  async spendNonce(nonce: string, exp: number): Promise<boolean> {
    await this.#init();
    await this.#pool.query('DELETE FROM attester_nonces WHERE exp < $1', [
      Math.floor(Date.now() / 1000) - 60,
    ]);
    const r = await this.#pool.query(
      'INSERT INTO attester_nonces (nonce, exp) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [nonce, exp],
    );
    return r.rowCount === 1;
  }

  async add(r: AttesterRecord): Promise<void> {
    await this.#init();
    await this.#pool.query(
      `INSERT INTO attester_records (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
      COLUMNS.map((c) => r[c]),
    );
  }

  async vouched(siteId: string, jkts: readonly string[]): Promise<Set<string>> {
    await this.#init();
    const r = await this.#pool.query(
      `SELECT DISTINCT jkt FROM attester_records WHERE site_id = $1 AND verdict = 'issued' AND jkt = ANY($2)`,
      [siteId, jkts],
    );
    return new Set(r.rows.map((row: { jkt: string }) => row.jkt));
  }

  async summary(): Promise<AttesterSummary[]> {
    await this.#init();
    const r = await this.#pool.query(
      `SELECT site_id, app_id, COUNT(*) FILTER (WHERE verdict = 'issued')::int AS issued,
         COUNT(*) FILTER (WHERE verdict = 'refused')::int AS refused,
         COUNT(DISTINCT jkt) FILTER (WHERE verdict = 'issued')::int AS instances
       FROM attester_records GROUP BY site_id, app_id ORDER BY site_id, app_id`,
    );
    return r.rows as AttesterSummary[];
  }

  async secret(): Promise<Buffer> {
    await this.#init();
    const { randomBytes } = await import('node:crypto');
    await this.#pool.query(
      `INSERT INTO attester_meta (key, value) VALUES ('challenge-key', $1) ON CONFLICT DO NOTHING`,
      [randomBytes(32).toString('base64')],
    );
    const r = await this.#pool.query(`SELECT value FROM attester_meta WHERE key = 'challenge-key'`);
    return Buffer.from(r.rows[0].value as string, 'base64');
  }

  async ping(): Promise<void> {
    await this.#init();
    await this.#pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** The records for a `--db` value: postgres://… or sqlite:PATH, else the SQLite file `fallback`. */
export function openAttesterRecords(db: string | undefined, fallback: string): AttesterRecords {
  if (db && /^postgres(ql)?:\/\//.test(db)) return new PgAttesterRecords(db);
  if (db?.startsWith('sqlite:')) return new SqliteAttesterRecords(db.slice('sqlite:'.length));
  return new SqliteAttesterRecords(fallback);
}
