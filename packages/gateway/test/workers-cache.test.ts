/**
 * The workers' shared state in one SQLite file, gathered into one transaction a turn (group commit):
 * each call must still be answered exactly as alone, across two handles of the file as two worker
 * processes hold them. Counts of one key from both are 1…n with none twice; of two uses of one proof
 * id, exactly one is fresh; a window that ended restarts at 1 inside a batch.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { WorkersCache } from '../src/workers-cache.ts';
import { tempDir } from './helpers.ts';

const NOW = 1_000_000;

/** Two handles of one SQLite file, as two worker processes hold it, each with its WorkersCache. */
function twoWorkers() {
  const home = tempDir();
  const file = join(home.dir, 'gateway.db');
  const a = new SqliteStore(file, { sharedByWorkers: true });
  const b = new SqliteStore(file, { sharedByWorkers: true });
  return {
    home,
    file,
    a,
    b,
    ca: new WorkersCache(a, () => NOW),
    cb: new WorkersCache(b, () => NOW),
  };
}

test('rate counts from two workers in batches: every count from 1 to n exactly once', async () => {
  const { home, a, b, ca, cb } = twoWorkers();
  try {
    const counts: number[] = [];
    // Three turns of 40 calls at each worker: each turn is one transaction per worker.
    for (let turn = 0; turn < 3; turn++) {
      const all = await Promise.all([
        ...Array.from({ length: 40 }, () => ca.incr('rate:a:app_beta:1', 61)),
        ...Array.from({ length: 40 }, () => cb.incr('rate:a:app_beta:1', 61)),
        ca.incr('rate:i:other:1', 61),
      ]);
      assert.equal(all.pop(), turn + 1, 'another key counts on its own');
      counts.push(...all);
    }
    assert.deepEqual(
      counts.sort((x, y) => x - y),
      Array.from({ length: 240 }, (_, i) => i + 1),
    );
    // Within one batch: the window ended by now restarts at 1, then counts on.
    const later = await b.countManyInWindow(
      [
        { key: 'rate:a:app_beta:1', expiresAt: NOW + 200 },
        { key: 'rate:a:app_beta:1', expiresAt: NOW + 200 },
      ],
      NOW + 61,
    );
    assert.deepEqual(later, [1, 2]);
  } finally {
    await a.close();
    await b.close();
    home.remove();
  }
});

test('proof ids used at two workers in the same turn: exactly one use of each is fresh', async () => {
  const { home, file, a, b, ca, cb } = twoWorkers();
  try {
    const keys = Array.from({ length: 50 }, (_, i) => `jti:k:${i}`);
    const [fromA, fromB, again] = await Promise.all([
      Promise.all(keys.map((k) => ca.setIfAbsent(k, 121))),
      Promise.all(keys.map((k) => cb.setIfAbsent(k, 121))),
      Promise.all(keys.map((k) => ca.setIfAbsent(k, 121))),
    ]);
    for (let i = 0; i < keys.length; i++) {
      const fresh = [fromA[i], fromB[i], again[i]].filter(Boolean).length;
      assert.equal(fresh, 1, `${keys[i]}: ${fromA[i]} ${fromB[i]} ${again[i]}`);
    }
    // And after both handles are reopened, as after a restart of the workers.
    await a.close();
    await b.close();
    const c = new SqliteStore(file, { sharedByWorkers: true });
    try {
      const cc = new WorkersCache(c, () => NOW + 1);
      assert.deepEqual(
        await Promise.all(keys.map((k) => cc.setIfAbsent(k, 121))),
        keys.map(() => false),
      );
    } finally {
      await c.close();
    }
  } finally {
    home.remove();
  }
});
