/**
 * The store contract against PostgreSQL (CHARTER_TEST_PG), each test in a schema of its own, plus
 * what only PostgreSQL has: migrations raced by replicas starting at once, and license notifications.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayStore } from '@charter/gateway';
import { PG_MIGRATIONS, PgStore } from '@charter/gateway/pg';
import pg from 'pg';
import { dropSchema, freshSchemaName, PG_SKIP, PG_URL } from './services.ts';
import { storeContract } from './store-contract.ts';

if (!PG_URL) {
  test('PostgreSQL store contract', (t) => t.skip(PG_SKIP));
} else {
  const url = PG_URL;
  storeContract('PostgreSQL', async () => {
    const schema = freshSchemaName();
    const opened: GatewayStore[] = [];
    return {
      async open() {
        const s = await PgStore.open(url, { schema, poolSize: 4 });
        opened.push(s);
        return s;
      },
      async cleanup() {
        for (const s of opened) await s.close();
        await dropSchema(url, schema);
      },
    };
  });

  test('replicas starting at once migrate once (advisory lock)', async () => {
    const schema = freshSchemaName();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open(url, { schema })));
    try {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query(
        `SELECT version FROM ${schema}.charter_migrations ORDER BY version`,
      );
      await client.end();
      assert.deepEqual(
        rows.map((r) => r.version),
        PG_MIGRATIONS.map((_, i) => i + 1),
      );
      // Every replica works on the one schema.
      await stores[0]?.appendAudit({ at: 1, kind: 'license' });
      assert.equal((await stores[3]?.auditEntries())?.length, 1);
    } finally {
      for (const s of stores) await s.close();
      await dropSchema(url, schema);
    }
  });

  test('an unreachable database is unavailable at once, not a hang', async () => {
    const started = Date.now();
    await assert.rejects(PgStore.open('postgres://postgres@127.0.0.1:1/test'), { code: 'unavailable' });
    assert.ok(Date.now() - started < 3000);
  });

  test('a license installed by one replica is announced to the others', async () => {
    const schema = freshSchemaName();
    const a = await PgStore.open(url, { schema });
    const b = await PgStore.open(url, { schema });
    try {
      let heard = 0;
      const announced = new Promise<void>((resolve) => {
        b.watchLicenses(() => {
          heard += 1;
          // The first call is the catch-up at connection; the second is the install.
          if (heard === 2) resolve();
        });
      });
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      await a.installLicense({
        serial: 1,
        jti: 'lic_1',
        site_id: 'site_a',
        exp: 2_000_000_000,
        token: 't',
        installed_at: 1,
      });
      await announced;
      assert.ok(Date.now() - started < 1000);
    } finally {
      await a.close();
      await b.close();
      await dropSchema(url, schema);
    }
  });
}
