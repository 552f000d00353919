/**
 * Glue for keys and attestation that live in native code (React Native). Pure TypeScript with no
 * React Native import: the app passes its native modules in, shaped as below (REACT_NATIVE.md).
 */
import type { AttestationProvider } from './attestation.ts';
import { CharterError } from './core.ts';
import { base64, decodeBase64, utf8 } from './encoding.ts';
import { algOf, ecdsaDerToJose, type InstancePublicJwk, type ProofSigner, publicJwkOf } from './keys.ts';
import { sha256 } from './sha256.ts';
import type { InstanceKeySource, InstanceRecord } from './store.ts';

/** A hardware key as the native module reports it: its public JWK and, on Android, the attestation chain. */
export interface NativeKeyInfo {
  jwk: InstancePublicJwk;
  /** Android: the Key Attestation chain, leaf first, each certificate base64 DER. */
  x5c?: string[];
}

/**
 * The native key module: Android Keystore (EC P-256, StrongBox when present) or the iOS Secure
 * Enclave. All binary values cross the bridge as standard base64.
 */
export interface NativeKeyModule {
  /** Make a new P-256 signing key under `alias`, replacing any; Android sets `attestationChallenge` (base64) on it. */
  generateKey(alias: string, options: { attestationChallenge?: string }): Promise<NativeKeyInfo>;
  /** The key under `alias`, or null. */
  getKey(alias: string): Promise<NativeKeyInfo | null>;
  /** SHA256withECDSA over `data` (base64); returns the DER signature, base64. */
  sign(alias: string, data: string): Promise<string>;
  deleteKey(alias: string): Promise<void>;
}

/** Apple App Attest (DCAppAttestService), bridged. */
export interface AppAttestModule {
  isSupported(): Promise<boolean>;
  /** `generateKey`; returns the key id (base64). */
  generateKey(): Promise<string>;
  /** `attestKey(keyId, clientDataHash)`; returns the attestation object (CBOR), base64. */
  attestKey(keyId: string, clientDataHash: string): Promise<string>;
  /** `generateAssertion(keyId, clientDataHash)`; returns the assertion (CBOR), base64. */
  generateAssertion(keyId: string, clientDataHash: string): Promise<string>;
}

/** Small persistent string storage (AsyncStorage's shape) for the registration record and App Attest key id. */
export interface NativeStorage {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
}

/** Options of {@link nativeKeySource}. */
export interface NativeKeySourceOptions {
  /** Key alias and storage key prefix; default `charter.instance`. */
  alias?: string;
  /**
   * The attestation challenge a new key is generated with, from the registration nonce. Set only for
   * Android Key Attestation, where it also makes every registration use a new key.
   */
  attestationChallenge?: (nonce: string) => Promise<Uint8Array>;
}

function bytesFrom(b64: string, what: string): Uint8Array {
  const bytes = decodeBase64(b64);
  if (!bytes)
    throw new CharterError(
      'key_unavailable',
      'ERR_CLIENT_NATIVE',
      `the native module returned a malformed ${what}`,
    );
  return bytes;
}

function nativeSigner(module: NativeKeyModule, alias: string, info: NativeKeyInfo): ProofSigner {
  const jwk = publicJwkOf(info.jwk);
  if (algOf(jwk) !== 'ES256')
    throw new CharterError('key_unavailable', 'ERR_CLIENT_NATIVE', 'native instance keys must be P-256');
  return {
    alg: 'ES256',
    jwk,
    sign: async (data) => {
      let der: string;
      try {
        der = await module.sign(alias, base64(data));
      } catch (cause) {
        // The key was deleted, or the user removed the device lock: the app must re-register.
        throw new CharterError('key_unavailable', 'ERR_CLIENT_NATIVE', 'the native key could not sign', {
          cause,
        });
      }
      return ecdsaDerToJose(bytesFrom(der, 'signature'));
    },
  };
}

/** An {@link InstanceKeySource} over a native key module; the record lives in `storage`. */
export function nativeKeySource(
  module: NativeKeyModule,
  storage: NativeStorage,
  options: NativeKeySourceOptions = {},
): InstanceKeySource & { keyInfo(): Promise<NativeKeyInfo | null> } {
  const alias = options.alias ?? 'charter.instance';
  const recordKey = `${alias}.record`;
  const challengeOf = options.attestationChallenge;
  return {
    newKeyPerRegistration: challengeOf !== undefined,
    keyInfo: () => module.getKey(alias),
    async load() {
      const info = await module.getKey(alias);
      if (!info) return undefined;
      const signer = nativeSigner(module, alias, info);
      const text = await storage.getItem(recordKey);
      let record: InstanceRecord | undefined;
      try {
        record = text ? (JSON.parse(text) as InstanceRecord) : undefined;
      } catch {
        record = undefined; // a damaged record only costs a new registration
      }
      return record ? { signer, record } : { signer };
    },
    async create({ nonce }) {
      await storage.removeItem(recordKey);
      const challenge = challengeOf && base64(await challengeOf(nonce));
      const info = await module.generateKey(
        alias,
        challenge === undefined ? {} : { attestationChallenge: challenge },
      );
      return nativeSigner(module, alias, info);
    },
    async saveRecord(record) {
      await storage.setItem(recordKey, JSON.stringify(record));
    },
    async clear() {
      await storage.removeItem(recordKey);
      await module.deleteKey(alias);
    },
  };
}

/**
 * PROPOSED Android attestation challenge: `SHA-256(ASCII(nonce))`. SPEC §3 asks for
 * `SHA-256(nonce "." jkt)` of the attested key itself, which Android cannot produce: the challenge is
 * fixed when the key is generated, before its thumbprint exists. The key binding still holds because
 * the gateway checks that the leaf certificate's key is the key that signed the DPoP proof.
 */
export async function androidKeyChallenge(nonce: string): Promise<Uint8Array> {
  return sha256(utf8(nonce));
}

/** Android Key Attestation: the Keystore key is the instance key; its chain is the attestation. */
export function androidAttestationProvider(
  module: NativeKeyModule,
  storage: NativeStorage,
  options: NativeKeySourceOptions = {},
): AttestationProvider {
  const keys = nativeKeySource(module, storage, { attestationChallenge: androidKeyChallenge, ...options });
  return {
    platform: 'android',
    keys,
    async attest() {
      const info = await keys.keyInfo();
      // No chain (an emulator, an old device): register without attestation and let the charter's policy decide.
      return info?.x5c?.length ? { fmt: 'android-key', x5c: info.x5c } : undefined;
    },
  };
}

/**
 * Apple App Attest: a fresh App Attest key attested at each registration over the binding, and an
 * assertion over a fresh binding before each token request. The instance key is a separate Secure
 * Enclave key (`keys`, e.g. {@link nativeKeySource} without a challenge).
 */
export function appleAttestationProvider(
  appAttest: AppAttestModule,
  keys: InstanceKeySource,
  storage: NativeStorage,
  options: { keyIdItem?: string } = {},
): AttestationProvider {
  const keyIdItem = options.keyIdItem ?? 'charter.appattest.key_id';
  return {
    platform: 'ios',
    keys,
    async attest(binding) {
      if (!(await appAttest.isSupported())) return undefined;
      const keyId = await appAttest.generateKey();
      const attestation = await appAttest.attestKey(keyId, base64(binding));
      await storage.setItem(keyIdItem, keyId);
      return { fmt: 'apple-appattest', key_id: keyId, attestation };
    },
    async assert(binding) {
      const keyId = await storage.getItem(keyIdItem);
      return keyId ? appAttest.generateAssertion(keyId, base64(binding)) : undefined;
    },
  };
}
