/**
 * Registration over real HTTP with the real-world variety of Android evidence (issue 11): chains that
 * genuine devices produce register; a genuine chain whose leaf key Charter cannot use (ML-DSA) is refused
 * with a clear, catalogued reason (403 invalid_attestation, never a 500); an extended chain is refused.
 * Test roots reach the gateway inside the vendor-signed license, as real new roots would.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { KEY_DESCRIPTION_OID } from '@charter/attest';
import { createTestAttestationAuthority, mlDsa65Spki } from '@charter/attest/testing';
import { type RunningGateway, startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import { pino } from 'pino';
import { parseCertificate } from '../../attest/src/certificate.ts';
import { keyDescription } from '../../attest/src/testing.ts';
import { buildCertificate, OID } from '../../attest/src/x509build.ts';
import {
  type InstanceKeys,
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeProof,
  makeVendor,
  type Reply,
  SpecClient,
  startUpstream,
  tempDir,
} from './helpers.ts';

const PACKAGE = 'com.gamma.orders';
const DIGEST = createHash('sha256').update('gamma signing certificate').digest('hex');
const caLess = createTestAttestationAuthority({ caLessBatch: true });
const expiredFactory = createTestAttestationAuthority({
  notBefore: new Date('2012-01-01T00:00:00Z'),
  notAfter: new Date('2022-01-01T00:00:00Z'),
});

describe('registration with the variety of genuine Android evidence', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let home: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  let gw: RunningGateway;
  let charter: string;
  let logged = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logged += chunk.toString();
      cb();
    },
  });

  let vendor: Awaited<ReturnType<typeof makeVendor>>;

  before(async () => {
    vendor = await makeVendor();
    upstream = await startUpstream();
    home = tempDir();
    store = new SqliteStore(join(home.dir, 'gateway.db'));
    charter = (
      await makeCharter(vendor, 'app_gamma', {
        platforms: { android: { package_name: PACKAGE, signing_cert_sha256: [DIGEST] } },
      })
    ).token;
    gw = await startGateway({
      trust: vendor.trust,
      store,
      license: await makeLicense(vendor, 1, {
        apps: [{ app_id: 'app_gamma' }],
        attestation: { roots: [caLess.rootPem, expiredFactory.rootPem] },
      }),
      upstream: upstream.url,
      licensePollMs: 0,
      logger: pino({ level: 'info' }, sink),
    });
  });

  after(async () => {
    await gw.close();
    await store.close();
    await upstream.close();
    home.remove();
  });

  async function register(key: InstanceKeys, x5c: (nonce: string) => string[]): Promise<Reply> {
    const nonce = (
      (await (await fetch(`${gw.url}/charter/v1/challenge`, { method: 'POST' })).json()) as { nonce: string }
    ).nonce;
    const htu = `${gw.url}/charter/v1/register`;
    const res = await fetch(htu, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        dpop: await makeProof(key, { htm: 'POST', htu, nonce }),
      },
      body: JSON.stringify({
        charter,
        platform: 'android',
        attestation: { fmt: 'android-key', x5c: x5c(nonce) },
      }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: JSON.parse(text || '{}') };
  }

  const keyOf = (key: InstanceKeys): KeyObject => createPublicKey({ key: key.jwk as never, format: 'jwk' });
  const nonceChallenge = (nonce: string) => createHash('sha256').update(nonce, 'ascii').digest();
  const app = { packageName: PACKAGE, signingCertDigests: [DIGEST] };

  test('a CA-less batch certificate, KeyMint 500 with unknown tags, expired factory intermediates: admitted', async () => {
    const shapes: [string, (key: InstanceKeys) => (nonce: string) => string[]][] = [
      [
        'ca-less batch',
        (k) => (n) => caLess.attest({ ...app, challenge: nonceChallenge(n), publicKey: keyOf(k) }).x5c,
      ],
      [
        'KeyMint 500',
        (k) => (n) =>
          caLess.attest({
            ...app,
            challenge: nonceChallenge(n),
            publicKey: keyOf(k),
            attestationVersion: 500,
            extraAuthorizations: [{ tag: 725, value: Uint8Array.of(0x02, 0x01, 0x01) }],
          }).x5c,
      ],
      [
        'expired factory intermediates, leaf expired in 1970',
        (k) => (n) =>
          expiredFactory.attest({
            ...app,
            challenge: nonceChallenge(n),
            publicKey: keyOf(k),
            leafNotAfter: new Date(86_400_000),
          }).x5c,
      ],
    ];
    for (const [name, make] of shapes) {
      const key = await makeInstanceKey('ES256');
      const r = await register(key, make(key));
      assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal((await store.getInstance(r.body.instance_id as string))?.attested, true, name);
    }
  });

  test('an ML-DSA leaf: 403 invalid_attestation, the reason (naming the algorithm) in the log and audit, not a 500', async () => {
    const key = await makeInstanceKey('ES256');
    const spki = mlDsa65Spki();
    const r = await register(
      key,
      (n) => caLess.attest({ ...app, challenge: nonceChallenge(n), leafSpki: spki }).x5c,
    );
    assert.equal(r.status, 403, JSON.stringify(r.body));
    // The client sees the catalogued code and description only.
    assert.deepEqual(r.body, {
      error: 'invalid_attestation',
      error_description: 'The attestation is not valid.',
    });
    // The operator sees why: a genuine chain whose key cannot be an instance key.
    const line = logged
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.detail === 'ERR_ATTEST_UNSUPPORTED');
    assert.ok(line, logged);
    assert.match(String(line.reason), /ml-dsa-65\) cannot be a Charter instance key/);
    assert.ok(!String(line.reason).includes(Buffer.from(spki).toString('base64').slice(0, 40)));
    const audit = (await store.auditEntries(0, 10_000)).map((e) => JSON.parse(e.entry));
    assert.ok(audit.some((e) => e.kind === 'refusal' && e.detail === 'ERR_ATTEST_UNSUPPORTED'));
    // The gateway is still serving.
    assert.equal((await fetch(`${gw.url}/.well-known/charter`)).status, 200);
  });

  test('a serial the license revokes is refused; the snapshot age and serial counts are metrics', async () => {
    const key = await makeInstanceKey('ES256');
    const sample = caLess.attest({ ...app, challenge: nonceChallenge('x') });
    const batchSerial = parseCertificate(new Uint8Array(Buffer.from(sample.x5c[1]!, 'base64'))).serialHex;
    await gw.gateway.installLicense(
      await makeLicense(vendor, 2, {
        apps: [{ app_id: 'app_gamma' }],
        attestation: { roots: [caLess.rootPem, expiredFactory.rootPem], android_revoked: [batchSerial] },
      }),
    );
    const r = await register(
      key,
      (n) => caLess.attest({ ...app, challenge: nonceChallenge(n), publicKey: keyOf(key) }).x5c,
    );
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error, 'invalid_attestation');
    // Metrics are not on the public listener (issue 10 item 13): read them from the engine.
    const metrics = (await gw.gateway.metrics.expose()).body;
    const ageDays = Math.floor((Date.now() - Date.parse('2019-08-14T00:00:00Z')) / 86_400_000);
    assert.match(metrics, new RegExp(`\\ncharter_android_revocation_snapshot_age_days ${ageDays}\\n`));
    assert.match(metrics, /charter_android_revoked_serials\{source="snapshot"\} 4/);
    assert.match(metrics, /charter_android_revoked_serials\{source="license"\} 1/);
    // Back to a license that revokes nothing, for the tests that follow.
    await gw.gateway.installLicense(
      await makeLicense(vendor, 3, {
        apps: [{ app_id: 'app_gamma' }],
        attestation: { roots: [caLess.rootPem, expiredFactory.rootPem] },
      }),
    );
  });

  test('an instance whose chain a later license revokes is refused from then on', async () => {
    const key = await makeInstanceKey('ES256');
    const client = new SpecClient(gw.url, key);
    const nonce = await client.challenge();
    const { x5c } = caLess.attest({ ...app, challenge: nonceChallenge(nonce), publicKey: keyOf(key) });
    const r = await client.register(charter, 'android', {
      proof: await makeProof(key, { htm: 'POST', htu: `${gw.url}/charter/v1/register`, nonce }),
      body: { charter, platform: 'android', attestation: { fmt: 'android-key', x5c } },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // The serials kept with the instance are those the chain check read at registration.
    const serials = x5c.map((c) => parseCertificate(new Uint8Array(Buffer.from(c, 'base64'))).serialHex);
    assert.equal(serials.length, x5c.length);
    assert.deepEqual((await store.getInstance(client.instanceId))?.attestation_state?.serials, serials);
    assert.equal((await client.token()).status, 200);
    const before = await client.call('GET', '/orders/1');
    assert.equal(before.status, 200, JSON.stringify(before.body));
    await gw.gateway.installLicense(
      await makeLicense(vendor, 4, {
        apps: [{ app_id: 'app_gamma' }],
        attestation: {
          roots: [caLess.rootPem, expiredFactory.rootPem],
          android_revoked: [serials[1] as string],
        },
      }),
    );
    const after = await client.call('GET', '/orders/1');
    assert.equal(after.body.error, 'invalid_attestation', JSON.stringify(after.body));
    await gw.gateway.installLicense(
      await makeLicense(vendor, 5, {
        apps: [{ app_id: 'app_gamma' }],
        attestation: { roots: [caLess.rootPem, expiredFactory.rootPem] },
      }),
    );
  });

  test('a genuine attested key signing a forged leaf for the instance key (chain extension): refused', async () => {
    const key = await makeInstanceKey('ES256');
    const r = await register(key, (n) => {
      // The attacker's genuine device attested some key for some old challenge; they hold its private key.
      const genuine = caLess.attest({ ...app, challenge: nonceChallenge('old') });
      const forged = buildCertificate({
        subject: [[OID.commonName, 'Android Keystore Key']],
        issuer: [[OID.commonName, 'Android Keystore Key']],
        publicKey: keyOf(key),
        signingKey: genuine.privateKey ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
        notBefore: new Date(0),
        notAfter: new Date('2106-02-07T06:28:15Z'),
        extensions: [
          { oid: KEY_DESCRIPTION_OID, value: keyDescription({ ...app, challenge: nonceChallenge(n) }) },
        ],
      });
      return [Buffer.from(forged).toString('base64'), ...genuine.x5c];
    });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error, 'invalid_attestation');
  });
});
