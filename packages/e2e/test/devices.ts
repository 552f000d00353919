/**
 * Emulated devices for end-to-end tests: an Android Keystore and an Apple App Attest service that
 * produce real-format attestations (certificate chains with a KeyDescription; CBOR attestation objects
 * and assertions) from test roots. They implement the SDK's React Native module shapes, so the SDK's
 * own glue (`androidAttestationProvider`, `appleAttestationProvider`) runs unchanged against them.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createTestAppAttestAuthority, createTestAttestationAuthority } from '@charter/attest/testing';
import type { AppAttestModule, NativeKeyInfo, NativeKeyModule, NativeStorage } from '@charter/client';

/** AsyncStorage's shape, in memory. */
export function memoryStorage(): NativeStorage {
  const items = new Map<string, string>();
  return {
    getItem: async (k) => items.get(k) ?? null,
    setItem: async (k, v) => {
      items.set(k, v);
    },
    removeItem: async (k) => {
      items.delete(k);
    },
  };
}

/** An Android device whose keystore attests keys for `packageName` signed by `signingDigest`. */
export function emulatedAndroid(packageName: string, signingDigest: string) {
  const authority = createTestAttestationAuthority();
  const keys = new Map<string, { privateKey: KeyObject; info: NativeKeyInfo }>();
  const module: NativeKeyModule = {
    async generateKey(alias, options) {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const { crv, x, y } = pair.publicKey.export({ format: 'jwk' });
      const challenge = Buffer.from(options.attestationChallenge ?? '', 'base64');
      const { x5c } = authority.attest({
        publicKey: pair.publicKey,
        challenge,
        packageName,
        signingCertDigests: [signingDigest],
      });
      const info: NativeKeyInfo = {
        jwk: { kty: 'EC', crv: crv as 'P-256', x: x as string, y: y as string },
        x5c,
      };
      keys.set(alias, { privateKey: pair.privateKey, info });
      return info;
    },
    getKey: async (alias) => keys.get(alias)?.info ?? null,
    async sign(alias, data) {
      const key = keys.get(alias);
      if (!key) throw new Error('no such key');
      // Android Keystore returns DER ECDSA signatures; the SDK converts them for JOSE.
      return sign('sha256', Buffer.from(data, 'base64'), key.privateKey).toString('base64');
    },
    deleteKey: async (alias) => {
      keys.delete(alias);
    },
  };
  return { module, rootPem: authority.rootPem };
}

/** An iPhone whose App Attest service attests keys for `appId` (TEAMID.BUNDLEID). */
export function emulatedIphone(appId: string) {
  const authority = createTestAppAttestAuthority();
  const attested = new Map<string, { privateKey: KeyObject; counter: number }>();
  const pending = new Map<string, { publicKey: KeyObject; privateKey: KeyObject }>();
  const module: AppAttestModule = {
    isSupported: async () => true,
    async generateKey() {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const raw = pair.publicKey.export({ format: 'jwk' });
      const point = Buffer.concat([
        Buffer.from([4]),
        Buffer.from(raw.x as string, 'base64url'),
        Buffer.from(raw.y as string, 'base64url'),
      ]);
      const keyId = createHash('sha256').update(point).digest('base64');
      pending.set(keyId, pair);
      return keyId;
    },
    async attestKey(keyId, clientDataHash) {
      const pair = pending.get(keyId);
      if (!pair) throw new Error('unknown key');
      const a = authority.attest({
        appId,
        clientDataHash: Buffer.from(clientDataHash, 'base64'),
        keyPair: pair,
      });
      attested.set(keyId, { privateKey: pair.privateKey, counter: 0 });
      return a.attestationB64;
    },
    async generateAssertion(keyId, clientDataHash) {
      const key = attested.get(keyId);
      if (!key) throw new Error('unknown key');
      key.counter += 1;
      return authority.assert({
        privateKey: key.privateKey,
        appId,
        clientDataHash: Buffer.from(clientDataHash, 'base64'),
        counter: key.counter,
      }).assertionB64;
    },
  };
  return { module, rootPem: authority.rootPem };
}
