/**
 * Issue 10 item 12, a variation: the flood comes from a registered instance. A charter is public
 * and a server-platform registration costs nothing, so "proven" identities are cheap; refusals are
 * never rate-limited (only requests that would be admitted count against a rate). An instance with
 * `orders:read` sends `GET /admin` (needs `orders:admin`) again and again against a real
 * `charter gateway start`: the first refusals of that instance and code get a row each (they name
 * who to ask), the rest are sampled with `count`, and the rows still add up to every refusal.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { verifyAuditChain } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
import { makeSite, rawCall, registeredClient, type Site } from './hosts.ts';
import { startGatewayProcess } from './processes.ts';

let site: Site;
before(async () => {
  site = await makeSite();
});
after(() => site.remove());

test('a registered instance flooding refused requests does not write one audit row each', async () => {
  const G = join(site.dir, 'G-proven-flood');
  const gw = await startGatewayProcess([
    '--home',
    G,
    '--license',
    site.licenseFile,
    '--trust',
    site.trustFile,
    '--routes',
    site.routesFile,
    '--upstream',
    'http://127.0.0.1:9',
    '--listen',
    '127.0.0.1:0',
    // The row budget before sampling is per process (each worker samples its own refusals).
    '--workers',
    '1',
  ]);
  const total = 3000;
  let instanceId = '';
  try {
    const c = await registeredClient(gw.info.url, site.readOnly);
    instanceId = c.instanceId;
    let next = 0;
    const statuses = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          next++;
          const r = await rawCall(c, 'GET', '/admin');
          const key = `${r.status} ${r.body?.error}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
        }
      }),
    );
    assert.deepEqual([...statuses], [['403 insufficient_scope', total]], 'every request was refused');
  } finally {
    assert.equal(await gw.stop(), 0);
  }
  const store = new SqliteStore(join(G, 'gateway.db'));
  try {
    const all = await store.auditEntries(0, 1_000_000);
    assert.equal(verifyAuditChain(all).ok, true);
    const rows = all
      .map(
        (e) => JSON.parse(e.entry) as { kind: string; code?: string; count?: number; instance_id?: string },
      )
      .filter((e) => e.kind === 'refusal' && e.code === 'insufficient_scope');
    assert.ok(rows.length <= 120, `${rows.length} audit rows for ${total} refusals of one instance`);
    assert.ok(rows.length >= 1);
    assert.ok(
      rows.every((e) => e.instance_id === instanceId),
      'every row names the instance',
    );
    assert.equal(
      rows.reduce((n, e) => n + (e.count ?? 1), 0),
      total,
      'the rows account for every refusal',
    );
  } finally {
    await store.close();
  }
});
