/**
 * The embedded replay log: an append-only table every process sharing the file writes to, and an
 * index in each process's memory. Two handles on one file play two gateway workers (each has its own
 * index and learns the other's records from the log's tail); the index is held to a plain model
 * under random traffic (fast-check).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '@charter/gateway/sqlite';
import fc from 'fast-check';
import { fingerprintHi, fingerprintLo, ReplayIndex } from '../src/replay-index.ts';
import { tempDir } from './helpers.ts';

test('a record used through one handle is used at the other, both ways, in batches and alone', async () => {
  const home = tempDir();
  const file = join(home.dir, 'gateway.db');
  const a = new SqliteStore(file);
  const b = new SqliteStore(file);
  try {
    const t = 1_000_000;
    assert.equal(await a.useOnce('jti:k:1', t + 601, t), true);
    assert.equal(await b.useOnce('jti:k:1', t + 601, t), false, 'used at A, refused at B');
    assert.deepEqual(
      await b.useOnceMany(
        [
          { key: 'jti:k:2', expiresAt: t + 601 },
          { key: 'jti:k:1', expiresAt: t + 601 },
          { key: 'jti:k:2', expiresAt: t + 601 },
        ],
        t,
      ),
      [true, false, false],
    );
    assert.equal(await a.useOnce('jti:k:2', t + 601, t + 1), false, 'used at B, refused at A');
    // A third handle opened later loads the log: both records are used there too.
    const c = new SqliteStore(file);
    assert.deepEqual(
      await c.useOnceMany(
        [
          { key: 'jti:k:1', expiresAt: t + 700 },
          { key: 'jti:k:2', expiresAt: t + 700 },
          { key: 'jti:k:3', expiresAt: t + 700 },
        ],
        t + 2,
      ),
      [false, false, true],
    );
    await c.close();
    assert.equal(await a.useOnce('jti:k:3', t + 700, t + 3), false);
    assert.equal(await a.useOnce('jti:k:1', t + 1300, t + 601), true, 'once expired, fresh again');
    assert.equal(await b.useOnce('jti:k:1', t + 1300, t + 602), false, 'and used again at B');
  } finally {
    await a.close();
    await b.close();
    home.remove();
  }
});

test('expired records are swept from the log, and a handle that has not read them yet still sees every live one', async () => {
  const home = tempDir();
  const file = join(home.dir, 'gateway.db');
  const a = new SqliteStore(file);
  const b = new SqliteStore(file);
  try {
    const t = 2_000_000;
    assert.equal(await b.useOnce('jti:b:0', t + 10, t), true);
    // A writes more than a sweep's worth of records that lapse at t + 10, then some that do not.
    for (let i = 0; i < 5; i++) {
      const batch = Array.from({ length: 1000 }, (_, j) => ({ key: `jti:a:${i}:${j}`, expiresAt: t + 10 }));
      assert.ok((await a.useOnceMany(batch, t)).every((f) => f));
    }
    const live = Array.from({ length: 4200 }, (_, j) => ({ key: `jti:live:${j}`, expiresAt: t + 601 }));
    assert.ok((await a.useOnceMany(live, t + 20)).every((f) => f));
    assert.ok((await a.replayRecords()) <= 4201, 'the lapsed records were swept');
    // B has read nothing since its own record: its tail starts among rows that are gone.
    assert.deepEqual(
      await b.useOnceMany(
        [
          { key: 'jti:live:0', expiresAt: t + 621 },
          { key: 'jti:live:4199', expiresAt: t + 621 },
          { key: 'jti:a:0:0', expiresAt: t + 621 },
        ],
        t + 21,
      ),
      [false, false, true],
    );
  } finally {
    await a.close();
    await b.close();
    home.remove();
  }
});

test('the in-memory index agrees with a plain model under random arrivals, lookups and clock steps (fast-check)', () => {
  const ids = Array.from({ length: 64 }, () => randomBytes(16));
  const used = (index: ReplayIndex, id: Buffer, now: number) =>
    index.used(fingerprintHi(id), fingerprintLo(id), now);
  const add = (index: ReplayIndex, id: Buffer, expires: number, now: number) =>
    index.add(fingerprintHi(id), fingerprintLo(id), expires, now);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), id: fc.nat(63), ttl: fc.integer({ min: 1, max: 700 }) }),
    fc.record({ kind: fc.constant('tick' as const), s: fc.integer({ min: 0, max: 120 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const index = new ReplayIndex();
      const model = new Map<number, number>();
      let now = 1_000_000;
      for (const o of ops) {
        if (o.kind === 'tick') now += o.s;
        else {
          const id = ids[o.id] as Buffer;
          const usedInModel = (model.get(o.id) ?? 0) > now;
          assert.equal(used(index, id, now), usedInModel);
          if (!usedInModel) {
            add(index, id, now + o.ttl, now);
            model.set(o.id, now + o.ttl);
          }
        }
        for (let k = 0; k < ids.length; k++)
          assert.equal(used(index, ids[k] as Buffer, now), (model.get(k) ?? 0) > now, `id ${k} at ${now}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('the index drops whole generations once expired and grows a generation past its size without losing a record', () => {
  const index = new ReplayIndex();
  const usedAt = (id: Buffer, now: number) => index.used(fingerprintHi(id), fingerprintLo(id), now);
  const t = 3_000_000;
  const many = Array.from({ length: 20_000 }, () => randomBytes(16));
  for (const id of many) index.add(fingerprintHi(id), fingerprintLo(id), t + 601, t);
  assert.ok(
    many.every((id) => usedAt(id, t + 1)),
    'every record of a grown generation',
  );
  assert.equal(index.size, 20_000);
  const bytesPerId = index.bytes / index.size;
  assert.ok(bytesPerId <= 32, `${bytesPerId} bytes a record`);
  // An arrival after all of them expired starts a new generation and drops the old one.
  const late = randomBytes(16);
  index.add(fingerprintHi(late), fingerprintLo(late), t + 2000, t + 1000);
  assert.equal(index.size, 1);
  assert.ok(!usedAt(many[0] as Buffer, t + 1000));
  assert.ok(usedAt(late, t + 1000));
});
