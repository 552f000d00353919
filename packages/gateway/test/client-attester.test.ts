/**
 * The client attester against the real proxy on loopback: what it refuses (monitor-mode passes,
 * local revocations, unattested mobile instances, unmapped apps, route scopes that are the
 * upstream's), what it signs (lifetime from the license, the key replicas and restarts share), and
 * the configuration it refuses at start.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { type RunningGateway, type StartGatewayOptions, startGateway } from '../src/entries/server.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { addLocalRevocation, oauthClientMap, parseOAuthClients } from '../src/index.ts';
import {
  ath,
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeProof,
  makeVendor,
  now,
  SpecClient,
  type TestVendor,
  tempDir,
} from './helpers.ts';

describe('client attester', () => {
  let vendor: TestVendor;
  let home: ReturnType<typeof tempDir>;
  let charter: string;
  const running: { gw: RunningGateway; store: SqliteStore }[] = [];

  before(async () => {
    vendor = await makeVendor();
    home = tempDir();
    charter = (await makeCharter(vendor, 'app_beta')).token;
  });
  after(async () => {
    for (const r of running) {
      await r.gw.close();
      await r.store.close();
    }
    home.remove();
  });

  async function gateway(
    db: string,
    over: Partial<StartGatewayOptions> = {},
  ): Promise<{ gw: RunningGateway; store: SqliteStore }> {
    const store = new SqliteStore(join(home.dir, `${db}.db`));
    const gw = await startGateway({
      trust: vendor.trust,
      store,
      license: await makeLicense(vendor, 1),
      upstream: 'http://127.0.0.1:9',
      oauthClients: { app_beta: 'beta-orders' },
      routes: [{ method: 'POST', path: '/*', scope: 'orders:admin' }],
      licensePollMs: 0,
      ...over,
    });
    const r = { gw, store };
    running.push(r);
    return r;
  }

  async function attest(c: SpecClient) {
    const url = `${c.base}/charter/v1/client-attestation`;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `DPoP ${c.accessToken}`,
        dpop: await makeProof(c.key, { htm: 'POST', htu: url, ath: ath(c.accessToken) }),
      },
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers checked field by field.
    return { status: res.status, body: (await res.json()) as any };
  }

  async function instance(base: string, platform = 'server', charterText = charter): Promise<SpecClient> {
    const c = new SpecClient(base, await makeInstanceKey('EdDSA'));
    const reg = await c.register(charterText, platform);
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal((await c.token()).status, 200);
    return c;
  }

  test('signs for an admitted instance, verifiable with the published key, never past the license TTL', async () => {
    const { gw } = await gateway('sign', {
      license: await makeLicense(vendor, 1, { policy: { mode: 'enforce', token_ttl_s: 90 } }),
    });
    const c = await instance(gw.url);
    // The upstream's route scopes (POST /* needs orders:admin) do not apply to a Charter endpoint.
    const r = await attest(c);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.client_id, 'beta-orders');
    assert.equal(r.body.expires_in, 90);
    const jwks = (await (await fetch(`${gw.url}/charter/v1/attester/jwks`)).json()) as Parameters<
      typeof createLocalJWKSet
    >[0];
    const { payload, protectedHeader } = await jwtVerify(r.body.client_attestation, createLocalJWKSet(jwks), {
      typ: 'oauth-client-attestation+jwt',
      algorithms: ['ES256'],
      issuer: gw.gateway.wellKnown().issuer,
      subject: 'beta-orders',
    });
    assert.equal(protectedHeader.kid, jwks.keys[0]?.kid);
    assert.equal(payload.exp, (payload.iat as number) + 90);
    assert.equal(
      await calculateJwkThumbprint(
        (payload.cnf as { jwk: Parameters<typeof calculateJwkThumbprint>[0] }).jwk,
      ),
      await calculateJwkThumbprint(c.key.jwk),
    );
    assert.equal((payload.charter as { platform: string }).platform, 'server');
    // GET is not the endpoint; without a proof, no attestation.
    assert.equal((await fetch(`${gw.url}/charter/v1/client-attestation`)).status, 400);
    const noProof = await fetch(`${gw.url}/charter/v1/client-attestation`, {
      method: 'POST',
      headers: { authorization: `DPoP ${c.accessToken}` },
    });
    assert.equal(noProof.status, 401);
  });

  test('replicas on one store and a restart sign with the same attester key', async () => {
    const license = await makeLicense(vendor, 1);
    const a = await gateway('shared', { license });
    const b = await gateway('shared', { license });
    assert.deepEqual(a.gw.gateway.attesterJwks(), b.gw.gateway.attesterJwks());
    const c = await instance(a.gw.url);
    const fromB = new SpecClient(b.gw.url, c.key);
    fromB.instanceId = c.instanceId;
    assert.equal((await fromB.token()).status, 200);
    const r = await attest(fromB);
    assert.equal(r.status, 200);
    assert.equal(decodeJwt(r.body.client_attestation).iss, b.gw.gateway.wellKnown().issuer);
    const before = a.gw.gateway.attesterJwks();
    await a.gw.close();
    await a.store.close();
    running.splice(running.indexOf(a), 1);
    const again = await gateway('shared', { license });
    assert.deepEqual(again.gw.gateway.attesterJwks(), before, 'the key survives a restart');
    assert.notDeepEqual((await gateway('other-site')).gw.gateway.attesterJwks(), before, 'one key per site');
  });

  test('refuses what monitor mode only notes, local revocations, unattested mobile instances and unmapped apps', async () => {
    // Monitor mode: an app the license does not admit is let through to the API, but not vouched for.
    const monitor = await gateway('monitor', {
      license: await makeLicense(vendor, 1, { policy: { mode: 'monitor' }, apps: [{ app_id: 'app_other' }] }),
    });
    const m = await instance(monitor.gw.url);
    let r = await attest(m);
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'app_not_admitted');

    // The operator's local revocation bites at once.
    const local = await gateway('local');
    const l = await instance(local.gw.url);
    assert.equal((await attest(l)).status, 200);
    await addLocalRevocation(local.store, {
      instance_id: l.instanceId,
      at: now(),
      by: 'ops',
      reason: 'lost',
    });
    await local.gw.gateway.reloadLicense();
    r = await attest(l);
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'instance_revoked');

    // An Android instance registered without hardware attestation (the charter makes it optional).
    const android = (
      await makeCharter(vendor, 'app_beta', {
        platforms: { android: { package_name: 'com.beta.orders', signing_cert_sha256: ['ab'.repeat(32)] } },
        attestation: { android: 'optional' },
      })
    ).token;
    const mobile = await gateway('mobile');
    const a = await instance(mobile.gw.url, 'android', android);
    r = await attest(a);
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'attestation_required');

    // An admitted app the site maps to no OAuth client.
    const unmapped = await gateway('unmapped', { oauthClients: {} });
    r = await attest(await instance(unmapped.gw.url));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
  });

  test('the OAuth client map is checked', () => {
    assert.deepEqual(
      [...oauthClientMap({ app_a: 'a', app_b: 'b' })],
      [
        ['app_a', 'a'],
        ['app_b', 'b'],
      ],
    );
    for (const bad of [
      '[]',
      'null',
      '"x"',
      'not json',
      '{"app_a":"same","app_b":"same"}',
      '{"app_a":""}',
      '{"app_a":"has space"}',
      '{"app_a":7}',
      '{"bad id!":"x"}',
      `{"app_a":"${'x'.repeat(256)}"}`,
    ]) {
      assert.throws(
        () => parseOAuthClients(bad),
        { code: 'invalid_request', detail: 'ERR_OAUTH_CLIENTS' },
        bad,
      );
    }
  });
});
