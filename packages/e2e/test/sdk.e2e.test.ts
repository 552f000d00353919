/** The client SDK against the real gateway, with a vendor made by the real CLI. */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type CharterError, createCharterClient, FileKeyStore, MemoryKeyStore } from '@charter/client';
import { charter, makeWorld, type World } from './world.ts';

let world: World;
before(async () => {
  world = await makeWorld(['orders', 'reports', 'gamma']);
});
after(() => world.close());

test('an app registers, gets a token and calls the API through the gateway (ES256 and EdDSA keys)', async () => {
  const gw = await world.gateway({ license: await world.license(['orders', 'reports']) });
  for (const keyAlgorithm of ['ES256', 'EdDSA'] as const) {
    const client = createCharterClient({
      baseUrl: gw.url,
      charter: world.apps.orders?.charter as string,
      platform: 'server',
      keyStore: new MemoryKeyStore(),
      keyAlgorithm,
    });
    const res = await client.fetch('/orders?status=open');
    assert.equal(res.status, 200);
    const post = await client.fetch('/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ item: 'gauze' }),
    });
    assert.equal(post.status, 200);
    const seen = world.api.seen.at(-1);
    assert.equal(seen?.body, JSON.stringify({ item: 'gauze' }));
    assert.equal(seen?.headers['charter-app-id'], world.apps.orders?.app_id);
    assert.equal(seen?.headers['charter-scope'], 'orders:read orders:write');
    assert.equal(seen?.headers.authorization, undefined, 'the token never reaches the API');
    assert.equal(seen?.headers.dpop, undefined);
  }
});

test('a Node app keeps its instance key in a 0600 file and reuses its registration after a restart', async () => {
  const gw = await world.gateway({ license: await world.license(['orders']) });
  const file = join(world.dir, 'instance', 'key.json');
  const make = () =>
    createCharterClient({
      baseUrl: gw.url,
      charter: world.apps.orders?.charter as string,
      platform: 'server',
      keyStore: new FileKeyStore(file),
    });
  const first = make();
  assert.equal((await first.fetch('/orders')).status, 200);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const id = first.instance?.instance_id;
  const second = make();
  assert.equal((await second.fetch('/orders')).status, 200);
  assert.equal(second.instance?.instance_id, id, 'no second registration');
});

test('the SDK follows use_dpop_nonce and renews tokens before they expire', async () => {
  const gw = await world.gateway({
    license: await world.license(['orders'], ['--token-ttl', '10s']),
    requireTokenNonce: true,
  });
  let now = Date.now();
  const client = createCharterClient({
    baseUrl: gw.url,
    charter: world.apps.orders?.charter as string,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
    clock: () => now,
  });
  assert.equal((await client.fetch('/orders')).status, 200);
  const firstToken = (await client.accessToken()).access_token;
  now += 9_000; // past 80% of the 10 s lifetime
  const renewed = (await client.accessToken()).access_token;
  assert.notEqual(renewed, firstToken);
  assert.equal((await client.fetch('/orders')).status, 200);
});

test('a revocation in a newly installed license stops an instance at once, tokens already issued included', async () => {
  const gw = await world.gateway({ license: await world.license(['orders', 'reports']) });
  const client = createCharterClient({
    baseUrl: gw.url,
    charter: world.apps.reports?.charter as string,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
  });
  assert.equal((await client.fetch('/orders')).status, 200);
  await charter(
    'vendor',
    'revoke',
    '--home',
    world.V,
    '--charter',
    world.apps.reports?.charter_id as string,
    '--reason',
    'leaked',
  );
  await gw.gateway.installLicense(await world.license(['orders', 'reports']));
  await assert.rejects(client.fetch('/orders'), (e: CharterError) => e.code === 'charter_revoked');
});

test('an app this site does not admit is refused at registration', async () => {
  const gw = await world.gateway({ license: await world.license(['orders']) });
  const client = createCharterClient({
    baseUrl: gw.url,
    charter: world.apps.gamma?.charter as string,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
  });
  await assert.rejects(client.fetch('/orders'), (e: CharterError) => e.code === 'app_not_admitted');
  const web = createCharterClient({
    baseUrl: gw.url,
    charter: world.apps.orders?.charter as string,
    platform: 'web',
    keyStore: new MemoryKeyStore(),
  });
  await assert.rejects(
    web.fetch('/orders'),
    (e: CharterError) => e.code === 'platform_mismatch',
    'web without an approved Origin',
  );
});
