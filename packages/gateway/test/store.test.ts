/** The store's small generic state: compare-and-set records and counters taken atomically. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '@charter/gateway/sqlite';
import { tempDir } from './helpers.ts';

test('state is compare-and-set and counters are taken atomically (SQLite)', async () => {
  const t = tempDir();
  const store = new SqliteStore(join(t.dir, 'g.db'));
  try {
    assert.equal(await store.getState('clock'), undefined);
    assert.equal(await store.compareAndSetState('clock', undefined, '1'), true);
    assert.equal(await store.compareAndSetState('clock', undefined, '2'), false, 'only if absent');
    assert.equal(await store.compareAndSetState('clock', '0', '2'), false, 'stale expectation');
    assert.equal(await store.compareAndSetState('clock', '1', '2'), true);
    assert.equal(await store.getState('clock'), '2');
    await store.addCounters({ 'app_a admitted': 2, 'app_a denied rate_limited': 1 });
    await store.addCounters({ 'app_a admitted': 3 });
    assert.deepEqual(await store.takeCounters(), { 'app_a admitted': 5, 'app_a denied rate_limited': 1 });
    assert.deepEqual(await store.takeCounters(), {});
  } finally {
    await store.close();
    t.remove();
  }
});
