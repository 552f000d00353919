/**
 * Hardware attestation end to end: the vendor approves an Android and iOS app with the real CLI, the
 * license carries the (test) attestation roots, and the SDK's own React Native glue registers through
 * emulated devices that produce real-format attestations. A clone with the genuine charter but another
 * package cannot get in.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  androidAttestationProvider,
  appleAttestationProvider,
  type CharterError,
  createCharterClient,
  keySourceFromStore,
  MemoryKeyStore,
} from '@charter/client';
import { parseTrustFile } from '@charter/core';
import { type RunningGateway, startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import { emulatedAndroid, emulatedIphone, memoryStorage } from './devices.ts';
import { charter } from './world.ts';

const PACKAGE = 'com.beta.ward';
const DIGEST = createHash('sha256').update('beta release certificate').digest('hex');
const TEAM = 'BETA123456';
const BUNDLE = 'com.beta.ward';
const pixel = emulatedAndroid(PACKAGE, DIGEST);
const clonePhone = emulatedAndroid('com.clone.ward', DIGEST);
const iphone = emulatedIphone(`${TEAM}.${BUNDLE}`);

let dir: string;
let gw: RunningGateway;
let store: SqliteStore;
let wardCharter: string;
const upstream = { seen: 0 };
let api: import('node:http').Server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charter-e2e-attest-'));
  const V = join(dir, 'V');
  await charter('vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme');
  await charter('vendor', 'export-trust', '--home', V, '--out', join(dir, 'trust.json'));
  const { publisher_id } = await charter('vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps');
  const sub = await charter(
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id,
    '--name',
    'Beta Ward',
    '--scopes',
    'orders:read',
    '--android-package',
    PACKAGE,
    '--android-cert-sha256',
    DIGEST,
    '--ios-team-id',
    TEAM,
    '--ios-bundle-id',
    BUNDLE,
  );
  await charter(
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub.submission_id,
    '--ttl',
    '30d',
    '--out',
    join(dir, 'ward.charter'),
  );
  wardCharter = readFileSync(join(dir, 'ward.charter'), 'utf8');
  // The test roots reach the site the way Google's and Apple's next roots would: in the signed license.
  writeFileSync(join(dir, 'android-root.pem'), pixel.rootPem);
  writeFileSync(join(dir, 'clone-root.pem'), clonePhone.rootPem);
  writeFileSync(join(dir, 'apple-root.pem'), iphone.rootPem);
  const { site_id } = await charter('vendor', 'site', 'add', '--home', V, '--name', 'Hospital A');
  await charter(
    'vendor',
    'license',
    'issue',
    '--home',
    V,
    '--site',
    site_id,
    '--apps',
    sub.app_id,
    '--ttl',
    '30d',
    '--out',
    join(dir, 'a.license'),
    '--attestation-root',
    join(dir, 'android-root.pem'),
    '--attestation-root',
    join(dir, 'clone-root.pem'),
    '--attestation-root',
    join(dir, 'apple-root.pem'),
    '--token-ttl',
    '10s',
  );
  const { createServer } = await import('node:http');
  api = createServer((_req, res) => {
    upstream.seen += 1;
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const port = (api.address() as { port: number }).port;
  store = new SqliteStore(join(dir, 'gateway.db'));
  gw = await startGateway({
    trust: await parseTrustFile(readFileSync(join(dir, 'trust.json'), 'utf8')),
    store,
    license: readFileSync(join(dir, 'a.license'), 'utf8'),
    upstream: `http://127.0.0.1:${port}`,
    licensePollMs: 0,
  });
});

after(async () => {
  await gw.close();
  await store.close();
  api.close();
});

test('an Android app registers through the SDK with a hardware-attested key and calls the API', async () => {
  const client = createCharterClient({
    baseUrl: gw.url,
    charter: wardCharter,
    platform: 'android',
    attestationProvider: androidAttestationProvider(pixel.module, memoryStorage()),
  });
  const res = await client.fetch('/orders');
  assert.equal(res.status, 200);
  const instance = await store.getInstance(client.instance?.instance_id as string);
  assert.equal(instance?.attested, true);
  assert.equal(instance?.platform, 'android');
});

test('a clone with the genuine charter but another package is refused', async () => {
  const clone = createCharterClient({
    baseUrl: gw.url,
    charter: wardCharter,
    platform: 'android',
    attestationProvider: androidAttestationProvider(clonePhone.module, memoryStorage()),
  });
  await assert.rejects(clone.fetch('/orders'), (e: CharterError) => e.code === 'invalid_attestation');
});

test('an iOS app attests with App Attest, then asserts on every token request with a rising counter', async () => {
  let now = Date.now();
  const client = createCharterClient({
    baseUrl: gw.url,
    charter: wardCharter,
    platform: 'ios',
    attestationProvider: appleAttestationProvider(
      iphone.module,
      keySourceFromStore(new MemoryKeyStore()),
      memoryStorage(),
    ),
    clock: () => now,
  });
  assert.equal((await client.fetch('/orders')).status, 200);
  const instance = await store.getInstance(client.instance?.instance_id as string);
  assert.equal(instance?.attested, true);
  assert.equal(instance?.attestation_state?.counter, 1, 'the first token request carried assertion 1');
  now += 9_000; // past 80% of the 10 s token: the next call renews with a fresh assertion
  assert.equal((await client.fetch('/orders')).status, 200);
  assert.equal(
    (await store.getInstance(client.instance?.instance_id as string))?.attestation_state?.counter,
    2,
  );
});

test('without an attestation provider, the required platforms are refused', async () => {
  for (const platform of ['android', 'ios'] as const) {
    const bare = createCharterClient({
      baseUrl: gw.url,
      charter: wardCharter,
      platform,
      keyStore: new MemoryKeyStore(),
    });
    await assert.rejects(bare.fetch('/orders'), (e: CharterError) => e.code === 'attestation_required');
  }
});
