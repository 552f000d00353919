/**
 * Hardware attestation end to end through the real gateway: Android Key Attestation at registration
 * (the attested key is the DPoP key), Apple App Attest at registration and an assertion at every token
 * request. Test roots reach the gateway the way real new roots would: inside the vendor-signed license.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestAppAttestAuthority, createTestAttestationAuthority } from '@charter/attest/testing';
import { type LicenseClaims, thumbprint } from '@charter/core';
import { type RunningGateway, startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import {
  type InstanceKeys,
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeProof,
  makeVendor,
  type Reply,
  startUpstream,
  type TestVendor,
  tempDir,
} from './helpers.ts';

const PACKAGE = 'com.beta.orders';
const DIGEST = createHash('sha256').update('beta signing certificate').digest('hex');
const TEAM = 'ABCDE12345';
const BUNDLE = 'com.beta.orders';
const android = createTestAttestationAuthority();
const apple = createTestAppAttestAuthority();

async function post(url: string, dpop: string, body: unknown): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', dpop },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text || '{}') };
}

const binding = (nonce: string, jkt: string) =>
  createHash('sha256').update(`${nonce}.${jkt}`, 'ascii').digest();

describe('hardware attestation through the gateway', () => {
  let vendor: TestVendor;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let home: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  let gw: RunningGateway;
  let charter: string;
  let optionalCharter: string;
  let serial = 1;

  async function install(attestation: LicenseClaims['attestation'] = {}) {
    serial += 1;
    await gw.gateway.installLicense(
      await makeLicense(vendor, serial, {
        apps: [{ app_id: 'app_beta' }, { app_id: 'app_optional' }],
        attestation: { roots: [android.rootPem, apple.rootPem], ...attestation },
      }),
    );
  }

  before(async () => {
    vendor = await makeVendor();
    upstream = await startUpstream();
    home = tempDir();
    store = new SqliteStore(join(home.dir, 'gateway.db'));
    const platforms = {
      android: { package_name: PACKAGE, signing_cert_sha256: [DIGEST] },
      ios: { team_id: TEAM, bundle_id: BUNDLE },
    };
    charter = (await makeCharter(vendor, 'app_beta', { platforms })).token;
    optionalCharter = (
      await makeCharter(vendor, 'app_optional', {
        platforms,
        attestation: { android: 'optional', ios: 'optional' },
      })
    ).token;
    gw = await startGateway({
      trust: vendor.trust,
      store,
      license: await makeLicense(vendor, 1, {
        apps: [{ app_id: 'app_beta' }, { app_id: 'app_optional' }],
        attestation: { roots: [android.rootPem, apple.rootPem] },
      }),
      upstream: upstream.url,
      licensePollMs: 0,
      metricsListen: { host: '127.0.0.1', port: 0 },
    });
  });

  after(async () => {
    await gw.close();
    await store.close();
    await upstream.close();
    home.remove();
  });

  async function challenge(): Promise<string> {
    return (
      (await (await fetch(`${gw.url}/charter/v1/challenge`, { method: 'POST' })).json()) as { nonce: string }
    ).nonce;
  }

  /** Register with an attestation built from the nonce and the instance key's thumbprint. */
  async function register(
    key: InstanceKeys,
    platform: 'android' | 'ios',
    attest: (nonce: string, jkt: string) => unknown,
    charterToken = charter,
  ): Promise<Reply> {
    const nonce = await challenge();
    const jkt = await thumbprint(key.jwk);
    const htu = `${gw.url}/charter/v1/register`;
    const attestation = attest(nonce, jkt);
    return post(htu, await makeProof(key, { htm: 'POST', htu, nonce }), {
      charter: charterToken,
      platform,
      ...(attestation ? { attestation } : {}),
    });
  }

  const publicKeyOf = (key: InstanceKeys): KeyObject =>
    createPublicKey({ key: key.jwk as never, format: 'jwk' });
  const androidAttestation = (key: InstanceKeys, over: Parameters<typeof android.attest>[0]) => ({
    fmt: 'android-key',
    x5c: android.attest({
      publicKey: publicKeyOf(key),
      packageName: PACKAGE,
      signingCertDigests: [DIGEST],
      ...over,
    }).x5c,
  });

  test('an Android instance is admitted with an attestation bound to the nonce and its own key', async () => {
    const key = await makeInstanceKey('ES256');
    const r = await register(key, 'android', (nonce, jkt) =>
      androidAttestation(key, { challenge: binding(nonce, jkt) }),
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const instance = await store.getInstance(r.body.instance_id as string);
    assert.equal(instance?.attested, true);
    assert.equal(instance?.attestation_state?.security_level, 'TRUSTED_ENVIRONMENT');
    // What a real device can do: commit to the nonce alone (its key does not exist yet when the challenge is set).
    const key2 = await makeInstanceKey('ES256');
    const r2 = await register(key2, 'android', (nonce) =>
      androidAttestation(key2, { challenge: createHash('sha256').update(nonce).digest() }),
    );
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
  });

  test('Android attestations that do not match are refused with invalid_attestation', async () => {
    const cases: [string, (key: InstanceKeys) => (nonce: string, jkt: string) => unknown][] = [
      [
        'wrong challenge',
        (key) => () => androidAttestation(key, { challenge: binding('another-nonce', 'x') }),
      ],
      [
        'wrong package',
        (key) => (n, j) =>
          androidAttestation(key, { challenge: binding(n, j), packageName: 'com.clone.orders' }),
      ],
      [
        'unapproved signing certificate',
        (key) => (n, j) =>
          androidAttestation(key, { challenge: binding(n, j), signingCertDigests: ['ab'.repeat(32)] }),
      ],
      [
        'attested key is not the DPoP key',
        () => (n, j) => ({
          fmt: 'android-key',
          x5c: android.attest({
            challenge: binding(n, j),
            packageName: PACKAGE,
            signingCertDigests: [DIGEST],
          }).x5c,
        }),
      ],
      [
        'software security level',
        (key) => (n, j) => androidAttestation(key, { challenge: binding(n, j), securityLevel: 'SOFTWARE' }),
      ],
      [
        'a look-alike root that no license names',
        (key) => (n, j) => ({
          fmt: 'android-key',
          x5c: createTestAttestationAuthority().attest({
            publicKey: publicKeyOf(key),
            challenge: binding(n, j),
            packageName: PACKAGE,
            signingCertDigests: [DIGEST],
          }).x5c,
        }),
      ],
      ['garbage', () => () => ({ fmt: 'android-key', x5c: ['AAAA', 'not base64!'] })],
      [
        'wrong format',
        (key) => (n, j) => ({
          ...androidAttestation(key, { challenge: binding(n, j) }),
          fmt: 'apple-appattest',
        }),
      ],
    ];
    for (const [name, make] of cases) {
      const key = await makeInstanceKey('ES256');
      const r = await register(key, 'android', make(key));
      assert.equal(r.status, 403, name);
      assert.equal(r.body.error, 'invalid_attestation', `${name}: ${JSON.stringify(r.body)}`);
    }
  });

  test('without attestation a required platform is refused; an optional one is admitted unattested', async () => {
    const key = await makeInstanceKey('ES256');
    const r = await register(key, 'android', () => undefined);
    assert.equal(r.body.error, 'attestation_required');
    const r2 = await register(key, 'ios', () => undefined, optionalCharter);
    assert.equal(r2.status, 200);
    assert.equal((await store.getInstance(r2.body.instance_id as string))?.attested, false);
    // Unattested instances are marked in the audit chain and in the metrics.
    const entries = await store.auditEntries(0, 10_000);
    const registered = entries
      .map((e) => JSON.parse(e.entry))
      .find((e) => e.instance_id === r2.body.instance_id);
    assert.equal(registered?.kind, 'register');
    assert.equal(registered?.attested, false);
    assert.equal(registered?.platform, 'ios');
    const metrics = await (await fetch(`${gw.metricsUrl}/charter/metrics`)).text();
    assert.match(
      metrics,
      /charter_registrations_total\{app_id="app_optional",platform="ios",attested="false"\} 1/,
    );
    assert.match(
      metrics,
      /charter_registrations_total\{app_id="app_beta",platform="android",attested="true"\} [1-9]/,
    );
  });

  test('policy from the license: verified boot and a minimum security level', async () => {
    await install({ require_verified_boot: true });
    const key = await makeInstanceKey('ES256');
    const unlocked = await register(key, 'android', (n, j) =>
      androidAttestation(key, {
        challenge: binding(n, j),
        verifiedBootState: 'UNVERIFIED',
        deviceLocked: false,
      }),
    );
    assert.equal(unlocked.body.error, 'invalid_attestation');
    const locked = await register(key, 'android', (n, j) =>
      androidAttestation(key, {
        challenge: binding(n, j),
        verifiedBootState: 'VERIFIED',
        deviceLocked: true,
      }),
    );
    assert.equal(locked.status, 200, JSON.stringify(locked.body));
    await install({ min_security_level: 'STRONG_BOX' });
    const tee = await register(key, 'android', (n, j) =>
      androidAttestation(key, { challenge: binding(n, j) }),
    );
    assert.equal(tee.body.error, 'invalid_attestation');
    const sb = await register(key, 'android', (n, j) =>
      androidAttestation(key, { challenge: binding(n, j), securityLevel: 'STRONG_BOX' }),
    );
    assert.equal(sb.status, 200, JSON.stringify(sb.body));
    await install();
  });

  test('an iOS instance registers with App Attest and needs a fresh assertion with a rising counter for each token', async () => {
    const key = await makeInstanceKey('ES256');
    const appKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const appId = `${TEAM}.${BUNDLE}`;
    const r = await register(key, 'ios', (nonce, jkt) => {
      const a = apple.attest({ appId, clientDataHash: binding(nonce, jkt), keyPair: appKey });
      return { fmt: 'apple-appattest', key_id: a.keyIdB64, attestation: a.attestationB64 };
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const instance_id = r.body.instance_id as string;
    const jkt = await thumbprint(key.jwk);
    const htu = `${gw.url}/charter/v1/token`;
    const token = async (counter: number | undefined, nonce?: string) => {
      const n = nonce ?? (await challenge());
      const assertion =
        counter === undefined
          ? undefined
          : apple.assert({ privateKey: appKey.privateKey, appId, clientDataHash: binding(n, jkt), counter })
              .assertionB64;
      return post(htu, await makeProof(key, { htm: 'POST', htu, nonce: n }), {
        instance_id,
        ...(assertion ? { assertion } : {}),
      });
    };
    assert.equal((await token(undefined)).body.error, 'attestation_required');
    const first = await token(1);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(
      (await token(1)).body.error,
      'invalid_attestation',
      'a counter that does not rise is refused',
    );
    // Two concurrent assertions carrying the same counter: exactly one is admitted.
    const both = await Promise.all([token(5), token(5)]);
    assert.deepEqual(both.map((b) => b.status).sort(), [200, 403]);
    // An assertion over another nonce than the proof's is refused.
    const other = await challenge();
    const mismatched = apple.assert({
      privateKey: appKey.privateKey,
      appId,
      clientDataHash: binding(other, jkt),
      counter: 9,
    }).assertionB64;
    const n = await challenge();
    const bad = await post(htu, await makeProof(key, { htm: 'POST', htu, nonce: n }), {
      instance_id,
      assertion: mismatched,
    });
    assert.equal(bad.body.error, 'invalid_attestation');
  });

  test('App Attest development keys need the license to allow them', async () => {
    const appId = `${TEAM}.${BUNDLE}`;
    const attempt = async () => {
      const key = await makeInstanceKey('ES256');
      return register(key, 'ios', (nonce, jkt) => {
        const a = apple.attest({ appId, clientDataHash: binding(nonce, jkt), development: true });
        return { fmt: 'apple-appattest', key_id: a.keyIdB64, attestation: a.attestationB64 };
      });
    };
    assert.equal((await attempt()).body.error, 'invalid_attestation');
    await install({ allow_development: true });
    assert.equal((await attempt()).status, 200);
    await install();
    const wrongApp = await register(await makeInstanceKey('ES256'), 'ios', (nonce, jkt) => {
      const a = apple.attest({ appId: `${TEAM}.com.clone.orders`, clientDataHash: binding(nonce, jkt) });
      return { fmt: 'apple-appattest', key_id: a.keyIdB64, attestation: a.attestationB64 };
    });
    assert.equal(wrongApp.body.error, 'invalid_attestation');
  });
});
