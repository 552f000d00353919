/**
 * Charter as the Client Attester of the customer's OAuth server (draft-ietf-oauth-attestation-based-
 * client-auth, client authentication `attest_jwt_client_auth`). The site's attester key — an ES256
 * key made once per site and kept in the gateway store beside the token key — signs short-lived
 * Client Attestation JWTs for registered instances: `sub` is the app's client id at the OAuth server
 * (from the site's `oauthClients` map), `cnf.jwk` the instance key. The customer's OAuth server
 * trusts the public key (`/charter/v1/attester/jwks`, or `charter gateway attester jwks`) and so
 * refuses any client that Charter did not admit: a clone gets no user tokens at all.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CharterError } from '@charter/core';
import { calculateJwkThumbprint, type JWK, SignJWT } from 'jose';
import type { GatewayStore } from './store.ts';

/** The name of the attester key in the store's secrets. */
export const ATTESTER_SECRET = 'attester-key';
/** The `typ` of a Client Attestation JWT (draft -05 onwards, as oidc-provider 9 checks it). */
export const CLIENT_ATTESTATION_TYP = 'oauth-client-attestation+jwt';
/** The signature algorithm of the attester key: ES256, the one every attestation-capable OAuth server takes. */
export const ATTESTER_ALG = 'ES256';
/** The longest lifetime of a Client Attestation, in seconds; the license's token TTL may shorten it. */
export const CLIENT_ATTESTATION_MAX_TTL_S = 300;

/** Paths of the client attester, under the Charter base path. */
export const ATTESTER_PATHS = {
  clientAttestation: '/charter/v1/client-attestation',
  jwks: '/charter/v1/attester/jwks',
} as const;

/** A new attester key as PKCS#8 DER (P-256). */
export function newAttesterKey(): Uint8Array {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    format: 'der',
    type: 'pkcs8',
  });
}

/** The claims of a Client Attestation JWT Charter issues. */
export interface ClientAttestationClaims {
  iss: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  cnf: { jwk: JWK };
  /** Who Charter admitted: for the OAuth server's own policy (`assertAttestationJwtAndPop`) and its logs. */
  charter: {
    app_id: string;
    publisher_id: string;
    instance_id: string;
    platform: string;
    /** Whether hardware attestation proved this instance at registration. */
    attested: boolean;
  };
}

/** The site's attester: signs client attestations and publishes its public key. */
export class ClientAttester {
  readonly kid: string;
  readonly #private: KeyObject;
  readonly #jwk: JWK;

  private constructor(key: KeyObject, jwk: JWK, kid: string) {
    this.#private = key;
    this.#jwk = jwk;
    this.kid = kid;
  }

  /** The attester of the store's site, creating its key on first use (atomically across replicas). */
  static async open(store: GatewayStore): Promise<ClientAttester> {
    const der = await store.secret(ATTESTER_SECRET, newAttesterKey);
    const key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    const { kty, crv, x, y } = createPublicKey(key).export({ format: 'jwk' });
    const jwk: JWK = { kty, crv, x, y } as JWK;
    return new ClientAttester(key, jwk, await calculateJwkThumbprint(jwk));
  }

  /** The public key as a JWK Set: what the customer's OAuth server is configured to trust. */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.#jwk, kid: this.kid, alg: ATTESTER_ALG, use: 'sig' }] };
  }

  /** Sign a Client Attestation JWT. */
  sign(claims: ClientAttestationClaims): Promise<string> {
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: ATTESTER_ALG, typ: CLIENT_ATTESTATION_TYP, kid: this.kid })
      .sign(this.#private);
  }
}

const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;
const APP_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The site's map of Charter app id → client id at its OAuth server, checked: one client id per app
 * and one app per client id (two apps sharing a client id would let one app's instances speak as the
 * other), printable ASCII. Refuses with `invalid_request` and the reason.
 */
export function oauthClientMap(input: unknown): Map<string, string> {
  const bad = (reason: string): never => {
    throw new CharterError('invalid_request', 'ERR_OAUTH_CLIENTS', reason);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    bad('the OAuth client map must be a JSON object { "<charter app id>": "<OAuth client id>" }');
  const map = new Map<string, string>();
  const seen = new Set<string>();
  for (const [app, client] of Object.entries(input as Record<string, unknown>)) {
    if (!APP_ID.test(app)) bad('an app id in the OAuth client map is malformed');
    if (typeof client !== 'string' || !CLIENT_ID.test(client))
      bad(`the OAuth client id of ${app} must be 1–255 printable ASCII characters`);
    if (seen.has(client as string)) bad('two apps map to one OAuth client id');
    seen.add(client as string);
    map.set(app, client as string);
  }
  return map;
}

/** {@link oauthClientMap} of a JSON file's text. */
export function parseOAuthClients(text: string): Map<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CharterError('invalid_request', 'ERR_OAUTH_CLIENTS', 'the OAuth client map is not JSON');
  }
  return oauthClientMap(value);
}
