/**
 * Replicas on PostgreSQL share the store; the replay state (used proofs and nonces, rate counts) must
 * be shared too. A replica on PostgreSQL with an in-process cache would accept at replica B the proof
 * replica A just accepted, so it refuses to start and says what to add.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { PgStore } from '../src/entries/pg.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { createGateway, MemoryCache } from '../src/index.ts';
import { StoreReplayCache } from '../src/replay-cache.ts';
import { replayId } from '../src/sqlite-store.ts';
import { makeLicense, makeVendor, type TestVendor, tempDir } from './helpers.ts';
import { dropSchema, freshSchemaName, PG_SKIP, PG_URL } from './services.ts';

const CHARTER = join(import.meta.dirname, '../../cli/bin/charter.js');

test('the embedded store keeps used keys across a reopen, until they expire in engine time', async () => {
  const home = tempDir();
  try {
    const file = join(home.dir, 'gateway.db');
    let store = new SqliteStore(file);
    assert.equal(await store.useOnce('jti:k:1', 1_000_121, 1_000_000), true);
    assert.equal(await store.useOnce('jti:k:1', 1_000_121, 1_000_000), false, 'a second use');
    await store.close();
    store = new SqliteStore(file);
    assert.equal(await store.useOnce('jti:k:1', 1_000_130, 1_000_120), false, 'after a reopen');
    assert.equal(await store.useOnce('jti:k:1', 1_000_242, 1_000_121), true, 'once expired');
    assert.equal(await store.useOnce('jti:k:1', 1_000_242, 1_000_122), false);
    await store.close();
  } finally {
    home.remove();
  }
});

describe('a replica on PostgreSQL without a shared cache', { skip: PG_URL ? false : PG_SKIP }, () => {
  const pgUrl = PG_URL as string;
  let vendor: TestVendor;
  let home: ReturnType<typeof tempDir>;
  let schema: string;
  let license: string;
  before(async () => {
    vendor = await makeVendor();
    home = tempDir();
    schema = freshSchemaName();
    license = await makeLicense(vendor, 1, { apps: [{ app_id: 'app_beta' }] });
  });
  after(async () => {
    await dropSchema(pgUrl, schema);
    home.remove();
  });

  test('`gateway start --db postgres://…` without --redis refuses, naming --redis', async () => {
    const trust = join(home.dir, 'trust.json');
    const file = join(home.dir, 'site.license');
    writeFileSync(trust, JSON.stringify(vendor.trustDoc));
    writeFileSync(file, license);
    const db = new URL(pgUrl);
    db.searchParams.set('schema', schema);
    const r = await promisify(execFile)(
      process.execPath,
      [
        CHARTER,
        'gateway',
        'start',
        '--trust',
        trust,
        '--license',
        file,
        '--upstream',
        'http://127.0.0.1:9',
        '--listen',
        '127.0.0.1:0',
        '--db',
        db.href,
        '--json',
      ],
      { timeout: 20_000, env: { ...process.env, CHARTER_LOG_LEVEL: 'warn' } },
    ).then(
      () => assert.fail('the replica started without a shared replay cache'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(r.code, 1);
    const answer = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    assert.equal(answer.error, 'invalid_request');
    assert.match(r.stderr, /shared by replicas/);
    assert.match(r.stderr, /add --redis redis:\/\//);
  });

  test('library mode refuses too, unless the host passes a cache on purpose', async () => {
    const store = await PgStore.open(pgUrl, { schema });
    try {
      const base = { trust: vendor.trust, store, license, publicUrl: 'http://127.0.0.1:1', licensePollMs: 0 };
      await assert.rejects(createGateway(base), { code: 'invalid_request', detail: 'ERR_CACHE_NOT_SHARED' });
      const g = await createGateway({ ...base, cache: new MemoryCache() });
      await g.close();
    } finally {
      await store.close();
    }
  });
});

/** A store file as schema `version` left it: a current one made, then `sql` and `fill` run on it. */
async function olderStore(
  file: string,
  version: number,
  sql: string,
  fill: (db: Database.Database) => unknown,
): Promise<void> {
  await new SqliteStore(file).close();
  const db = new Database(file);
  db.exec(sql);
  fill(db);
  db.pragma(`user_version = ${version}`);
  db.close();
}

test('used proofs recorded by an older store (the text-keyed replay table) are still used after the upgrade', async () => {
  const home = tempDir();
  try {
    const file = join(home.dir, 'gateway.db');
    // A store as schema version 4 left it: the replay table keyed by the full text, and none of the
    // later tables (the workers' rate counts).
    await olderStore(
      file,
      4,
      'DROP TABLE replay_log; DROP TABLE rates; CREATE TABLE replay (key TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;',
      (db) => db.prepare('INSERT INTO replay (key, expires) VALUES (?, ?)').run('jti:k:old', 1_000_300),
    );
    const upgraded = new SqliteStore(file);
    assert.equal(
      await upgraded.useOnce('jti:k:old', 1_000_400, 1_000_100),
      false,
      'a proof used before the upgrade',
    );
    assert.equal(await upgraded.useOnce('jti:k:new', 1_000_400, 1_000_100), true);
    await upgraded.close();
  } finally {
    home.remove();
  }
});

test('used proofs recorded by the keyed replay table of schema 6 are still used after the upgrade to the log', async () => {
  const home = tempDir();
  try {
    const file = join(home.dir, 'gateway.db');
    await olderStore(
      file,
      6,
      `DROP TABLE replay_log;
       CREATE TABLE replay_ids (id BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;
       CREATE INDEX replay_ids_expires ON replay_ids(expires);`,
      (db) => {
        const insert = db.prepare('INSERT INTO replay_ids (id, expires) VALUES (?, ?)');
        insert.run(replayId('jti:k:kept'), 1_000_300);
        insert.run(replayId('jti:k:lapsed'), 1_000_050);
      },
    );
    const upgraded = new SqliteStore(file);
    assert.deepEqual(
      await upgraded.useOnceMany(
        [
          { key: 'jti:k:kept', expiresAt: 1_000_400 },
          { key: 'jti:k:lapsed', expiresAt: 1_000_400 },
          { key: 'jti:k:new', expiresAt: 1_000_400 },
        ],
        1_000_100,
      ),
      [false, true, true],
      'the live record is still used; the lapsed one and a new one are fresh',
    );
    await upgraded.close();
    const check = new Database(file, { readonly: true });
    assert.equal(
      (
        check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'replay_ids%'").get() as {
          n: number;
        }
      ).n,
      0,
      'the keyed table and its index are gone',
    );
    check.close();
  } finally {
    home.remove();
  }
});

test('the same proof twice in one turn of the event loop (one group commit): one use only', async () => {
  const home = tempDir();
  try {
    const store = new SqliteStore(join(home.dir, 'gateway.db'));
    const cache = new StoreReplayCache(store, () => 1_000_000);
    const results = await Promise.all([
      cache.setIfAbsent('jti:k:same', 601),
      cache.setIfAbsent('jti:k:other', 601),
      cache.setIfAbsent('jti:k:same', 601),
    ]);
    assert.deepEqual(results, [true, true, false]);
    assert.equal(await cache.setIfAbsent('jti:k:same', 601), false, 'in a later turn too');
    await cache.close();
    await store.close();
  } finally {
    home.remove();
  }
});
