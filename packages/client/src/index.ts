/**
 * @charter/client — the client SDK: instance keys, registration, DPoP-bound tokens and a signing
 * fetch. The one public entry; it runs in browsers and Node alike (WebCrypto only, no static
 * `node:` imports), and React Native plugs in through {@link ProofSigner} and {@link InstanceKeySource}.
 */
export {
  type AndroidKeyAttestation,
  type AppleAppAttestation,
  type Attestation,
  type AttestationContext,
  type AttestationProvider,
  attestationBinding,
} from './attestation.ts';
export {
  type AccessTokenState,
  CharterClient,
  type CharterClientOptions,
  type ClientAttestationState,
  createCharterClient,
  type FetchLike,
  type UserToken,
  type UserTokenSource,
  type VendorAttesterOptions,
} from './client.ts';
/** Re-exported so apps catch the same class without importing core (it is core's class, not a copy). */
export { CharterError, type ErrorCode, type Platform } from './core.ts';
export { accessTokenHash, createDpopProof, type DpopProofInput, htuOf } from './dpop.ts';
export { FileKeyStore } from './fileStore.ts';
export {
  algOf,
  ecdsaDerToJose,
  generateInstanceKeyPair,
  type InstanceAlg,
  type InstancePublicJwk,
  importInstanceKeyPair,
  jwkThumbprint,
  type ProofSigner,
  publicJwkOf,
  webCryptoSigner,
} from './keys.ts';
export {
  type AppAttestModule,
  androidAttestationProvider,
  androidKeyChallenge,
  appleAttestationProvider,
  type NativeKeyInfo,
  type NativeKeyModule,
  type NativeKeySourceOptions,
  type NativeStorage,
  nativeKeySource,
} from './native.ts';
export {
  type ChallengeResponse,
  type Endpoint,
  errorFromResponse,
  interpretResponse,
  isUseDpopNonce,
  type RegisterResponse,
  type TokenResponse,
  wwwAuthenticateError,
} from './response.ts';
export {
  createSignIn,
  type PendingSignIn,
  type SignInOptions,
  SignInSession,
  type UserTokens,
} from './signin.ts';
export {
  IndexedDbKeyStore,
  type IndexedDbKeyStoreOptions,
  type InstanceKeySource,
  type InstanceRecord,
  type KeyStore,
  keySourceFromStore,
  type LoadedInstance,
  MemoryKeyStore,
  type StoredInstance,
} from './store.ts';
