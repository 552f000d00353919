/** Decision logs: one JSON line per decision with its reason, and never a token, a proof, a charter or a key. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { startGateway } from '../src/entries/server.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import {
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeVendor,
  SpecClient,
  startUpstream,
  tempDir,
} from './helpers.ts';

test('logs carry decisions and reasons but no secrets', async () => {
  const vendor = await makeVendor();
  const upstream = await startUpstream();
  const t = tempDir();
  const store = new SqliteStore(join(t.dir, 'g.db'));
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const gw = await startGateway({
    trust: vendor.trust,
    store,
    upstream: upstream.url,
    license: await makeLicense(vendor, 1),
    logger: pino({ level: 'info' }, sink),
  });
  try {
    const charter = (await makeCharter(vendor, 'app_beta')).token;
    const c = new SpecClient(gw.url, await makeInstanceKey());
    await c.register(charter);
    await c.token();
    const proof = await c.proofFor('GET', '/orders/1?secret=1');
    await c.call('GET', '/orders/1?secret=1', { proof });
    await c.call('GET', '/orders/1?secret=1', { proof });
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const decisions = lines.filter((l) => l.endpoint);
    assert.deepEqual(
      decisions.map((d) => [d.endpoint, d.outcome, d.code ?? null]),
      [
        ['register', 'admitted', null],
        ['token', 'admitted', null],
        ['protected', 'admitted', null],
        ['protected', 'refused', 'invalid_dpop_proof'],
      ],
    );
    assert.equal(decisions[3]?.detail, 'ERR_DPOP_REPLAY');
    assert.equal(decisions[2]?.path, '/orders/1');
    for (const secret of [c.accessToken, proof, charter, c.accessToken.split('.')[2] as string, 'secret=1'])
      assert.ok(!text.includes(secret));
  } finally {
    await gw.close();
    await store.close();
    await upstream.close();
    t.remove();
  }
});
