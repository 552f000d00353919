/**
 * The Redis cache against a real Redis (CHARTER_TEST_REDIS): first use and windowed counters are
 * atomic across clients, and an outage fails closed at once and heals by itself (a redis-server of
 * the test's own, killed and restarted).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisCache } from '@charter/gateway/redis';
import { OwnRedis, REDIS_SKIP, REDIS_URL } from './services.ts';

if (!REDIS_URL) {
  test('Redis cache', (t) => t.skip(REDIS_SKIP));
} else {
  const url = REDIS_URL;
  const open = async (prefix: string, options = {}) => {
    const c = new RedisCache(url, { prefix, ...options });
    await c.ready();
    return c;
  };

  describe('Redis cache', () => {
    test('first use is atomic across clients and expires', async () => {
      const prefix = `charter-test:${randomBytes(4).toString('hex')}:`;
      const a = await open(prefix);
      const b = await open(prefix);
      try {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, k) => (k % 2 ? a : b).setIfAbsent('jti:x', 1)),
        );
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal(await a.setIfAbsent('jti:y', 0.2), true);
        await sleep(300);
        assert.equal(await b.setIfAbsent('jti:y', 1), true, 'absent again after its lifetime');
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('windowed counters count every increment once, and the window ends', async () => {
      const prefix = `charter-test:${randomBytes(4).toString('hex')}:`;
      const a = await open(prefix);
      const b = await open(prefix);
      try {
        const counts = await Promise.all(
          Array.from({ length: 200 }, (_, k) => (k % 2 ? a : b).incr('rate:i:x', 0.3)),
        );
        assert.deepEqual(
          [...counts].sort((x, y) => x - y),
          Array.from({ length: 200 }, (_, k) => k + 1),
        );
        const ttl = await a.client.pttl('rate:i:x');
        assert.ok(ttl > 0 && ttl <= 300, `the window is set once (${ttl} ms left)`);
        await sleep(350);
        assert.equal(await b.incr('rate:i:x', 1), 1, 'a new window starts at 1');
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('an outage fails closed at once, and the cache heals when Redis returns', async () => {
      const redis = await OwnRedis.start();
      const cache = new RedisCache(redis.url, { lossGuardS: 1 });
      try {
        await cache.ready();
        assert.equal(await cache.setIfAbsent('nonce:1', 60), true);
        await redis.stop();
        const started = Date.now();
        await assert.rejects(cache.setIfAbsent('nonce:2', 60), { code: 'unavailable' });
        await assert.rejects(cache.incr('rate', 60), { code: 'unavailable' });
        await assert.rejects(cache.ping(), { code: 'unavailable' });
        assert.ok(Date.now() - started < 500, 'no waiting for a dead server');
        assert.equal(cache.backendStatus.up, false);

        await redis.start();
        // Redis came back empty: nonce:1 is forgotten, so first use stays refused for the guard.
        await waitFor(async () => (await cache.incr('rate', 60)) === 1);
        await assert.rejects(cache.setIfAbsent('nonce:1', 60), { code: 'unavailable' });
        await waitFor(
          async () =>
            cache.setIfAbsent('nonce:3', 60).then(
              () => true,
              () => false,
            ),
          3000,
        );
        assert.equal(cache.backendStatus.up, true);
      } finally {
        await cache.close();
        await redis.stop();
      }
    });
  });
}

/** Poll `check` until it is true (or fail after `ms`). */
async function waitFor(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {}
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(50);
  }
}
