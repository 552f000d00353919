import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign as nodeSign } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { utf8 } from '../src/encoding.ts';
import {
  type AppAttestModule,
  androidAttestationProvider,
  appleAttestationProvider,
  createCharterClient,
  type NativeKeyModule,
  type NativeStorage,
  nativeKeySource,
  publicJwkOf,
} from '../src/index.ts';
import { StubGateway } from './stubGateway.ts';

const CHARTER = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2ln';

/** Stands in for the native side (Keystore / Secure Enclave): node:crypto keys, DER signatures, base64 over the bridge. */
function nodeKeyModule() {
  const keys = new Map<string, { key: KeyObject; jwk: ReturnType<typeof publicJwkOf>; challenge?: string }>();
  const module: NativeKeyModule = {
    async generateKey(alias, { attestationChallenge }) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = publicJwkOf(publicKey.export({ format: 'jwk' }));
      keys.set(alias, {
        key: privateKey,
        jwk,
        ...(attestationChallenge && { challenge: attestationChallenge }),
      });
      return { jwk, ...(attestationChallenge && { x5c: [`leaf-for-${attestationChallenge}`, 'root'] }) };
    },
    async getKey(alias) {
      const k = keys.get(alias);
      return k ? { jwk: k.jwk, ...(k.challenge && { x5c: [`leaf-for-${k.challenge}`, 'root'] }) } : null;
    },
    async sign(alias, data) {
      return nodeSign('sha256', Buffer.from(data, 'base64'), keys.get(alias)!.key).toString('base64');
    },
    async deleteKey(alias) {
      keys.delete(alias);
    },
  };
  return { module, keys };
}

function memoryStorage(): NativeStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: async (k) => items.get(k) ?? null,
    setItem: async (k, v) => {
      items.set(k, v);
    },
    removeItem: async (k) => {
      items.delete(k);
    },
  };
}

describe('native glue against the protocol stub', () => {
  let gw: StubGateway;
  beforeEach(async () => {
    gw = await new StubGateway().start();
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('android: a Keystore key generated with the nonce challenge signs every proof', async () => {
    const { module, keys } = nodeKeyModule();
    const storage = memoryStorage();
    const provider = androidAttestationProvider(module, storage);
    const c = createCharterClient({
      baseUrl: gw.url,
      charter: CHARTER,
      platform: 'android',
      attestationProvider: provider,
    });
    assert.equal((await c.fetch('/orders')).status, 200);
    const register = gw.seen.find((s) => s.path === '/charter/v1/register')!;
    const challenge = createHash('sha256').update(String(register.proof!.payload.nonce)).digest('base64');
    assert.equal(keys.get('charter.instance')!.challenge, challenge);
    assert.deepEqual((register.body as { attestation: unknown }).attestation, {
      fmt: 'android-key',
      x5c: [`leaf-for-${challenge}`, 'root'],
    });
    assert.equal(new Set(gw.seen.map((s) => s.proof?.jkt).filter(Boolean)).size, 1);
    // Restart: the stored record and the Keystore key are reused, no new registration.
    const again = createCharterClient({
      baseUrl: gw.url,
      charter: CHARTER,
      platform: 'android',
      attestationProvider: androidAttestationProvider(module, storage),
    });
    assert.equal((await again.fetch('/orders')).status, 200);
    assert.equal(gw.count('/charter/v1/register'), 1);
    await again.reset();
    assert.equal(keys.size, 0);
    assert.equal(storage.items.size, 0);
  });

  it('ios: App Attest over the binding, assertions on token requests, Secure Enclave instance key', async () => {
    const { module } = nodeKeyModule();
    const storage = memoryStorage();
    const calls: string[] = [];
    const appAttest: AppAttestModule = {
      isSupported: async () => true,
      generateKey: async () => 'a2V5LWlk',
      attestKey: async (keyId, cdh) => {
        calls.push(`attest ${keyId} ${cdh}`);
        return 'Y2Jvcg==';
      },
      generateAssertion: async (keyId, cdh) => {
        calls.push(`assert ${keyId} ${cdh}`);
        return 'YXNzZXJ0aW9u';
      },
    };
    const provider = appleAttestationProvider(appAttest, nativeKeySource(module, storage), storage);
    const c = createCharterClient({
      baseUrl: gw.url,
      charter: CHARTER,
      platform: 'ios',
      attestationProvider: provider,
    });
    assert.equal((await c.fetch('/orders')).status, 200);
    const register = gw.seen.find((s) => s.path === '/charter/v1/register')!;
    const token = gw.seen.find((s) => s.path === '/charter/v1/token')!;
    const bindingOf = (s: typeof register) =>
      createHash('sha256').update(`${s.proof!.payload.nonce}.${s.proof!.jkt}`).digest('base64');
    assert.deepEqual(calls, [
      `attest a2V5LWlk ${bindingOf(register)}`,
      `assert a2V5LWlk ${bindingOf(token)}`,
    ]);
    assert.deepEqual((register.body as { attestation: unknown }).attestation, {
      fmt: 'apple-appattest',
      key_id: 'a2V5LWlk',
      attestation: 'Y2Jvcg==',
    });
    assert.deepEqual(token.body, { instance_id: 'inst_1', assertion: 'YXNzZXJ0aW9u' });
  });
});

describe('encodings for runtimes without TextEncoder', () => {
  it('the utf8 fallback matches TextEncoder', () => {
    const saved = globalThis.TextEncoder;
    try {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (s) => {
          const expected = new saved().encode(s);
          (globalThis as { TextEncoder?: unknown }).TextEncoder = undefined;
          try {
            assert.deepEqual(utf8(s), expected);
          } finally {
            globalThis.TextEncoder = saved;
          }
        }),
      );
    } finally {
      globalThis.TextEncoder = saved;
    }
  });
});
