/**
 * The PostgreSQL schema of the gateway store and its numbered migrations, applied at start inside
 * one transaction that holds a transaction-scoped advisory lock: replicas starting together queue
 * on the lock, the first migrates, the others find the work done. DDL is transactional in
 * PostgreSQL, so a migration that fails leaves nothing half-applied.
 */
import { CharterError } from '@charter/core';
import type { PoolClient } from 'pg';

/** Key of the advisory lock taken around migrations (any constant; it names no row). */
const MIGRATION_LOCK = 0x63_68_61_72; // "char"

/** The migrations, in order; index + 1 is the version recorded in `charter_migrations`. */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE instances (
     instance_id text PRIMARY KEY, app_id text NOT NULL, charter_id text NOT NULL, publisher_id text NOT NULL,
     platform text NOT NULL, jkt text NOT NULL, scopes jsonb NOT NULL, attested boolean NOT NULL,
     charter_exp bigint NOT NULL, created_at bigint NOT NULL, attestation_state jsonb);
   CREATE INDEX instances_app ON instances (app_id);
   CREATE TABLE secrets (name text PRIMARY KEY, value bytea NOT NULL, created_at bigint NOT NULL);
   CREATE TABLE licenses (serial bigint PRIMARY KEY, jti text NOT NULL, site_id text NOT NULL, exp bigint NOT NULL,
     token text NOT NULL, installed_at bigint NOT NULL);
   CREATE TABLE audit (seq bigint PRIMARY KEY, prev text NOT NULL, entry text NOT NULL, hash text NOT NULL);
   -- The head of the one audit chain: appends lock this row, so they are serialised across replicas.
   CREATE TABLE audit_head (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, hash text NOT NULL);
   INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
   CREATE TABLE state (name text PRIMARY KEY, value text NOT NULL, updated_at bigint NOT NULL);
   CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL);`,
  // One key is one instance per app (rows of older versions have no charter and admit nothing).
  `ALTER TABLE instances ADD COLUMN charter text, ADD COLUMN waived jsonb, ADD COLUMN evidence text;
   CREATE UNIQUE INDEX instances_key ON instances (app_id, jkt) WHERE charter IS NOT NULL;
   CREATE INDEX instances_jkt ON instances (jkt);`,
];

/** A schema name safe to splice into SQL (PostgreSQL identifiers, unquoted, lower case). */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new TypeError('a PostgreSQL schema name must be lower-case letters, digits and _ (at most 63)');
  return schema;
}

/**
 * Bring the schema up to date on `client` (whose search_path names `schema`), creating the schema
 * itself when it is not `public`. Refuses a database written by a newer version.
 */
export async function migrate(client: PoolClient, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (schema !== 'public') await client.query(`CREATE SCHEMA IF NOT EXISTS ${checkSchemaName(schema)}`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS charter_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM charter_migrations',
    );
    const version = rows[0]?.v ?? 0;
    if (version > PG_MIGRATIONS.length) {
      throw new CharterError(
        'unavailable',
        'ERR_STORE_VERSION',
        'the gateway store was written by a newer version',
      );
    }
    for (let v = version; v < PG_MIGRATIONS.length; v++) {
      await client.query(PG_MIGRATIONS[v] as string);
      await client.query('INSERT INTO charter_migrations (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
