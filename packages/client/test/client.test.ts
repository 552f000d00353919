import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { CharterError } from '@charter/core';
import {
  type AttestationContext,
  type AttestationProvider,
  CharterClient,
  type CharterClientOptions,
  createCharterClient,
  ecdsaDerToJose,
  type InstanceKeySource,
  type InstanceRecord,
  jwkThumbprint,
  type KeyStore,
  MemoryKeyStore,
  type ProofSigner,
  publicJwkOf,
} from '../src/index.ts';
import { StubGateway } from './stubGateway.ts';

// Shaped like a charter; the stub does not verify it (the real gateway does, in the end-to-end test).
const CHARTER = 'eyJhbGciOiJFZERTQSIsInR5cCI6ImNoYXJ0ZXIrand0In0.eyJzdWIiOiJhcHBfb3JkZXJzIn0.c2lnbmF0dXJl';
const OTHER_CHARTER =
  'eyJhbGciOiJFZERTQSIsInR5cCI6ImNoYXJ0ZXIrand0In0.eyJzdWIiOiJhcHBfb3RoZXIifQ.c2lnbmF0dXJl';

function isCode(code: string, detail?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof CharterError, `expected CharterError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (detail) assert.equal(e.detail, detail);
    return true;
  };
}

describe('CharterClient against the protocol stub', () => {
  let gw: StubGateway;
  let keyStore: KeyStore;
  const client = (extra: Partial<CharterClientOptions> = {}) =>
    createCharterClient({ baseUrl: gw.url, charter: CHARTER, platform: 'server', keyStore, ...extra });

  beforeEach(async () => {
    gw = await new StubGateway().start();
    keyStore = new MemoryKeyStore();
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('challenge → register → token → protected request, each proof verified', async () => {
    const c = client();
    const res = await c.fetch('/orders/7?expand=lines#x');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      ok: true,
      path: '/orders/7',
      query: '?expand=lines',
      method: 'GET',
    });
    assert.deepEqual(
      gw.seen.map((s) => s.path),
      ['/charter/v1/challenge', '/charter/v1/register', '/charter/v1/token', '/orders/7'],
    );
    const [challenge, register, token, orders] = gw.seen;
    assert.equal(challenge!.headers.dpop, undefined);
    assert.deepEqual(register!.body, { charter: CHARTER, platform: 'server' });
    assert.equal(
      typeof register!.proof!.payload.nonce,
      'string',
      'the register proof carries the challenge nonce',
    );
    assert.equal(register!.proof!.payload.htu, `${gw.url}charter/v1/register`);
    assert.deepEqual(token!.body, { instance_id: 'inst_1' });
    assert.equal(token!.proof!.payload.ath, undefined);
    const accessToken = String(orders!.headers.authorization).replace(/^DPoP /, '');
    assert.equal(orders!.proof!.payload.ath, createHash('sha256').update(accessToken).digest('base64url'));
    assert.equal(orders!.proof!.payload.htu, `${gw.url}orders/7`);
    assert.equal(orders!.proof!.payload.htm, 'GET');
    assert.equal(
      new Set(gw.seen.map((s) => s.proof?.jkt).filter(Boolean)).size,
      1,
      'one instance key throughout',
    );
    assert.equal(c.instance?.instance_id, 'inst_1');
    assert.equal(c.instance?.jkt, register!.proof!.jkt);
  });

  it('persists the registration with the key: a restarted client only asks for a token', async () => {
    await (await client().fetch('/a')).text();
    const again = client();
    await (await again.fetch('/b')).text();
    assert.equal(gw.count('/charter/v1/register'), 1);
    assert.equal(gw.count('/charter/v1/token'), 2);
    assert.equal(again.instance?.instance_id, 'inst_1');
    // A new charter (or another gateway) means a new registration, with the same key.
    const renewed = client({ charter: OTHER_CHARTER });
    assert.equal((await renewed.ensureRegistered()).instance_id, 'inst_2');
    assert.equal(
      gw.seen.at(-1)!.proof!.jkt,
      gw.seen.find((s) => s.path === '/charter/v1/register')!.proof!.jkt,
    );
  });

  it('retries registration once on use_dpop_nonce, with the nonce offered', async () => {
    gw.script.push({
      path: '/charter/v1/challenge',
      status: 200,
      body: { nonce: 'stale-nonce', expires_in: 60 },
    });
    const record = await client().ensureRegistered();
    assert.equal(record.instance_id, 'inst_1');
    const registers = gw.seen.filter((s) => s.path === '/charter/v1/register');
    assert.equal(registers.length, 2);
    assert.equal(registers[0]!.proof!.payload.nonce, 'stale-nonce');
    assert.notEqual(registers[1]!.proof!.payload.nonce, 'stale-nonce');
  });

  it('gives up after one nonce retry', async () => {
    gw.script.push({
      path: '/charter/v1/challenge',
      status: 200,
      body: { nonce: 'stale-1', expires_in: 60 },
    });
    gw.script.push({
      path: '/charter/v1/register',
      status: 400,
      body: { error: 'use_dpop_nonce' },
      headers: { 'dpop-nonce': 'x' },
    });
    gw.script.push({
      path: '/charter/v1/register',
      status: 400,
      body: { error: 'use_dpop_nonce' },
      headers: { 'dpop-nonce': 'y' },
    });
    await assert.rejects(client().ensureRegistered(), isCode('use_dpop_nonce', 'ERR_SERVER'));
    assert.equal(gw.count('/charter/v1/register'), 2);
  });

  it('honours server DPoP nonces on token and protected requests, and re-sends bodies on retry', async () => {
    gw.requiredDpopNonce = 'srv-1';
    const c = client();
    const first = await c.fetch('/orders', {
      method: 'POST',
      body: JSON.stringify({ n: 1 }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(first.status, 200);
    assert.equal(gw.count('/charter/v1/token'), 2, 'token retried once with the nonce');
    assert.equal(c.dpopNonce, 'srv-1');
    gw.requiredDpopNonce = 'srv-2';
    const second = await c.fetch('/orders', { method: 'POST', body: JSON.stringify({ n: 2 }) });
    assert.equal(second.status, 200);
    assert.deepEqual(
      ((await second.json()) as { body: unknown }).body,
      { n: 2 },
      'the body survived the retry',
    );
    const orders = gw.seen.filter((s) => s.path === '/orders');
    assert.deepEqual(
      orders.map((s) => s.proof?.payload.nonce),
      ['srv-1', 'srv-1', 'srv-2'],
    );
  });

  it('renews the token at 80% of expires_in (injected clock) and keeps the old one while the gateway is down', async () => {
    let now = 1_000_000;
    let down = false;
    gw.tokenTtl = 100;
    const c = client({
      clock: () => now,
      fetch: (input, init) => {
        if (down) return Promise.reject(new TypeError('fetch failed'));
        return fetch(input, init);
      },
    });
    const t1 = await c.accessToken();
    assert.equal(t1.refresh_at, 1_000_000 + 80_000);
    assert.equal(t1.expires_at, 1_000_000 + 100_000);
    now += 79_000;
    assert.equal((await c.accessToken()).access_token, t1.access_token);
    assert.equal(gw.count('/charter/v1/token'), 1);
    now += 2_000;
    down = true;
    assert.equal(
      (await c.accessToken()).access_token,
      t1.access_token,
      'still valid: used while renewal fails',
    );
    now += 20_000; // past expiry
    await assert.rejects(c.accessToken(), isCode('unavailable', 'ERR_CLIENT_NETWORK'));
    down = false;
    const t2 = await c.accessToken();
    assert.notEqual(t2.access_token, t1.access_token);
    assert.equal(gw.count('/charter/v1/token'), 2);
    // The proofs use the injected clock too.
    assert.equal(gw.seen.at(-1)!.proof!.payload.iat, Math.floor(now / 1000));
  });

  it('fetches a new token once on invalid_token', async () => {
    const c = client();
    await (await c.fetch('/a')).text();
    for (const t of gw.tokens.values()) t.valid = false;
    const res = await c.fetch('/a');
    assert.equal(res.status, 200);
    assert.equal(gw.count('/charter/v1/token'), 2);
  });

  it('surfaces instance_revoked (protected request and token request) without re-registering', async () => {
    const c = client();
    await (await c.fetch('/a')).text();
    gw.instances.get('inst_1')!.revoked = true;
    await assert.rejects(c.fetch('/a'), isCode('instance_revoked', 'ERR_SERVER'));
    await assert.rejects(c.fetch('/a'), isCode('instance_revoked', 'ERR_SERVER'));
    assert.equal(gw.count('/charter/v1/register'), 1);
    assert.equal(gw.seen.at(-1)!.path, '/charter/v1/token', 'the dropped token was not reused');
  });

  it('maps gateway errors to CharterError codes', async () => {
    gw.script.push({
      path: '/charter/v1/register',
      status: 403,
      body: { error: 'app_not_admitted', error_description: 'not\nhere' },
    });
    await assert.rejects(client().ensureRegistered(), (e: unknown) => {
      isCode('app_not_admitted', 'ERR_SERVER')(e);
      assert.equal((e as CharterError).message, 'not here');
      assert.equal((e as CharterError).status, 403);
      return true;
    });
    gw.script.push({
      path: '/charter/v1/challenge',
      status: 502,
      raw: '<html>Bad gateway</html>',
      headers: { 'content-type': 'text/html' },
    });
    await assert.rejects(client().ensureRegistered(), isCode('unavailable', 'ERR_SERVER_UNRECOGNISED'));
    gw.script.push({ path: '/charter/v1/challenge', status: 200, raw: '<html>captive portal</html>' });
    await assert.rejects(client().ensureRegistered(), isCode('unavailable', 'ERR_CLIENT_BAD_RESPONSE'));
    gw.script.push({
      path: '/charter/v1/token',
      status: 200,
      body: { access_token: 'abc', token_type: 'Bearer', expires_in: 60 },
    });
    await assert.rejects(client().accessToken(), isCode('unavailable', 'ERR_CLIENT_BAD_RESPONSE'));
    gw.script.push({ path: '/charter/v1/token', status: 429, body: {} });
    await assert.rejects(client().accessToken(), isCode('rate_limited', 'ERR_SERVER_UNRECOGNISED'));
  });

  it('returns per-request and upstream answers as Responses', async () => {
    const c = client();
    await c.ensureRegistered();
    gw.script.push({ path: '/scoped', status: 403, body: { error: 'insufficient_scope' } });
    assert.equal((await c.fetch('/scoped')).status, 403);
    gw.script.push({
      path: '/upstream-auth',
      status: 401,
      body: { error: 'login' },
      headers: { 'www-authenticate': 'Basic realm="x"' },
    });
    assert.equal((await c.fetch('/upstream-auth')).status, 401);
    gw.script.push({ path: '/busy', status: 429, body: { error: 'rate_limited' } });
    assert.equal((await c.fetch('/busy')).status, 429);
  });

  it('refuses to send the token to another origin', async () => {
    const c = client();
    await assert.rejects(
      c.fetch('https://elsewhere.example/steal'),
      isCode('invalid_request', 'ERR_CLIENT_CROSS_ORIGIN'),
    );
    await assert.rejects(
      c.fetch(new Request('https://elsewhere.example/steal')),
      isCode('invalid_request', 'ERR_CLIENT_CROSS_ORIGIN'),
    );
    await assert.rejects(
      c.authorize('GET', '//elsewhere.example/x'),
      isCode('invalid_request', 'ERR_CLIENT_CROSS_ORIGIN'),
    );
    assert.equal(gw.seen.length, 0);
  });

  it('accepts a Request object and keeps its method and headers', async () => {
    const c = client();
    const res = await c.fetch(
      new Request(`${gw.url}orders/1`, { method: 'DELETE', headers: { 'x-app': '1' } }),
    );
    assert.equal(res.status, 200);
    const seen = gw.seen.at(-1)!;
    assert.equal(seen.method, 'DELETE');
    assert.equal(seen.headers['x-app'], '1');
    assert.equal(seen.proof!.payload.htm, 'DELETE');
  });

  it('authorize() gives headers for other transports', async () => {
    const c = client();
    const { authorization, dpop } = await c.authorize('GET', '/orders/1');
    const res = await fetch(`${gw.url}orders/1`, { headers: { authorization, dpop } });
    assert.equal(res.status, 200);
  });

  it('registers and fetches a token once under concurrency', async () => {
    const c = client();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => c.fetch(`/p/${i}`)));
    assert.ok(results.every((r) => r.status === 200));
    assert.equal(gw.count('/charter/v1/challenge'), 1);
    assert.equal(gw.count('/charter/v1/register'), 1);
    assert.equal(gw.count('/charter/v1/token'), 1);
  });

  it('reset() forgets everything: the next call registers a new key', async () => {
    const c = client();
    await c.ensureRegistered();
    const jkt1 = c.instance!.jkt;
    await c.reset();
    assert.equal(await keyStore.load(), undefined);
    await c.ensureRegistered();
    assert.notEqual(c.instance!.jkt, jkt1);
    assert.equal(c.instance!.instance_id, 'inst_2');
  });

  it('EdDSA instance keys work end to end', async () => {
    const c = client({ keyAlgorithm: 'EdDSA' });
    assert.equal((await c.fetch('/a')).status, 200);
    assert.equal(gw.seen.at(-1)!.proof!.header.alg, 'EdDSA');
  });

  it('supports a path prefix in baseUrl', async () => {
    const c = client({ baseUrl: `${gw.url}gw` });
    await assert.rejects(c.ensureRegistered(), CharterError); // the stub only serves /charter/v1
    assert.equal(gw.seen[0]!.path, '/gw/charter/v1/challenge');
  });

  describe('attestation', () => {
    function nativeSigner(): ProofSigner {
      // Stands in for an Android Keystore key: node:crypto signs, DER is converted like a native module would.
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return {
        alg: 'ES256',
        jwk: publicJwkOf(publicKey.export({ format: 'jwk' })),
        sign: async (data) => ecdsaDerToJose(nodeSign('sha256', data, privateKey)),
      };
    }

    it('android: the provider owns a new key per registration and attests over the SPEC binding', async () => {
      const created: string[] = [];
      const attested: { binding: Uint8Array; context: AttestationContext }[] = [];
      let current: { signer: ProofSigner; record?: InstanceRecord } | undefined;
      const keys: InstanceKeySource = {
        newKeyPerRegistration: true,
        load: async () => current,
        create: async ({ nonce }) => {
          created.push(nonce);
          current = { signer: nativeSigner() };
          return current.signer;
        },
        saveRecord: async (record) => {
          current = { ...current!, record };
        },
        clear: async () => {
          current = undefined;
        },
      };
      const provider: AttestationProvider = {
        platform: 'android',
        keys,
        attest: async (binding, context) => {
          attested.push({ binding, context });
          return { fmt: 'android-key', x5c: ['AAAA'] };
        },
      };
      const c = client({ platform: 'android', attestationProvider: provider, keyStore: undefined });
      await c.ensureRegistered();
      const register = gw.seen.find((s) => s.path === '/charter/v1/register')!;
      assert.deepEqual((register.body as { attestation: unknown }).attestation, {
        fmt: 'android-key',
        x5c: ['AAAA'],
      });
      const nonce = register.proof!.payload.nonce as string;
      assert.deepEqual(created, [nonce]);
      assert.deepEqual(attested[0]!.context, { nonce, jkt: register.proof!.jkt });
      assert.deepEqual(
        Buffer.from(attested[0]!.binding),
        createHash('sha256').update(`${nonce}.${register.proof!.jkt}`).digest(),
      );
      assert.equal(register.proof!.jkt, await jwkThumbprint(current!.signer.jwk));
      await c.register();
      assert.equal(created.length, 2, 'a re-registration makes a new hardware key');
    });

    it('ios: token requests carry an App Attest assertion over a fresh challenge nonce', async () => {
      const assertions: AttestationContext[] = [];
      const provider: AttestationProvider = {
        platform: 'ios',
        attest: async () => ({ fmt: 'apple-appattest', key_id: 'a2V5', attestation: 'Y2Jvcg==' }),
        assert: async (binding, context) => {
          assertions.push(context);
          return Buffer.from(binding).toString('base64');
        },
      };
      const c = client({ platform: 'ios', attestationProvider: provider });
      await c.accessToken();
      const token = gw.seen.find((s) => s.path === '/charter/v1/token')!;
      const nonce = token.proof!.payload.nonce as string;
      assert.equal(gw.count('/charter/v1/challenge'), 2, 'one for registration, a fresh one for the token');
      assert.deepEqual(assertions, [{ nonce, jkt: token.proof!.jkt }]);
      assert.deepEqual(token.body, {
        instance_id: 'inst_1',
        assertion: createHash('sha256').update(`${nonce}.${token.proof!.jkt}`).digest('base64'),
      });
    });

    it('a failing provider becomes invalid_attestation', async () => {
      const provider: AttestationProvider = {
        platform: 'ios',
        attest: async () => {
          throw new Error('DCError.featureUnsupported');
        },
      };
      await assert.rejects(
        client({ platform: 'ios', attestationProvider: provider }).ensureRegistered(),
        isCode('invalid_attestation', 'ERR_CLIENT_ATTESTATION'),
      );
    });
  });
});

describe('CharterClient transport failures', () => {
  const silent = createServer(() => {
    // Never answers: a hung gateway.
  });
  after(() => {
    silent.closeAllConnections();
    silent.close();
  });

  it('a hung gateway times out as unavailable', async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const c = new CharterClient({
      baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      charter: CHARTER,
      platform: 'server',
      keyStore: new MemoryKeyStore(),
      timeoutMs: 150,
    });
    await assert.rejects(c.ensureRegistered(), isCode('unavailable', 'ERR_CLIENT_TIMEOUT'));
  });

  it('an unreachable gateway is unavailable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const c = createCharterClient({
      baseUrl: `http://127.0.0.1:${port}/`,
      charter: CHARTER,
      platform: 'server',
      keyStore: new MemoryKeyStore(),
    });
    await assert.rejects(c.fetch('/x'), isCode('unavailable', 'ERR_CLIENT_NETWORK'));
  });

  it('refuses bad options with invalid_request', () => {
    const base = {
      baseUrl: 'https://gw.example/',
      charter: CHARTER,
      platform: 'server' as const,
      keyStore: new MemoryKeyStore(),
    };
    for (const bad of [
      { baseUrl: 'not a url' },
      { baseUrl: 'ftp://gw.example/' },
      { baseUrl: 'https://gw.example/?q=1' },
      { charter: 'nope' },
      { platform: 'desktop' as 'web' },
      { keyStore: undefined },
      { refreshRatio: 0 },
    ]) {
      assert.throws(
        () => createCharterClient({ ...base, ...bad }),
        isCode('invalid_request', 'ERR_CLIENT_OPTIONS'),
      );
    }
  });
});
