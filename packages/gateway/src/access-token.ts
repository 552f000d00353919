/**
 * Access tokens (RFC 9068 `at+jwt`, DPoP-bound by `cnf.jkt`) signed with the site's token key. The
 * gateway verifies its own tokens once and then caches their claims by SHA-256 of the token (the
 * same hash the proof's `ath` carries), so a protected request costs no signature check for the token.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CharterError, publicJwkOf } from '@charter/core';
import { jwtVerify, SignJWT } from 'jose';

/** The claims of a Charter access token. */
export interface AccessClaims {
  iss: string;
  sub: string;
  aud: string;
  client_id: string;
  scope: string;
  cnf: { jkt: string };
  iat: number;
  exp: number;
  jti: string;
  app_id: string;
  publisher_id: string;
  charter_id: string;
}

const MAX_CACHED = 100_000;

/** Signs access tokens and verifies them (once per token). */
export class TokenAuthority {
  readonly issuer: string;
  readonly audience: string;
  readonly #private: KeyObject;
  readonly #public: KeyObject;
  readonly #kid: string;
  readonly #cache = new Map<string, AccessClaims>();

  private constructor(key: KeyObject, kid: string, issuer: string, audience: string) {
    this.#private = key;
    this.#public = createPublicKey(key);
    this.#kid = kid;
    this.issuer = issuer;
    this.audience = audience;
  }

  /** An authority for the PKCS#8 Ed25519 token key. */
  static async create(pkcs8: Uint8Array, issuer: string, audience: string): Promise<TokenAuthority> {
    const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    return new TokenAuthority(key, (await publicJwkOf(key)).kid, issuer, audience);
  }

  /** Sign an access token. */
  async issue(claims: Omit<AccessClaims, 'iss' | 'aud'>): Promise<string> {
    return new SignJWT({ ...claims, iss: this.issuer, aud: this.audience })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: this.#kid })
      .sign(this.#private);
  }

  /**
   * The claims of a token this authority issued, refusing with `invalid_token`. `hash` is
   * base64url(SHA-256(token)), computed once by the caller for both this cache and `ath`.
   */
  async verify(token: string, hash: string, now: number): Promise<AccessClaims> {
    return this.known(hash, now) ?? this.#verify(token, hash, now);
  }

  /**
   * The claims of a token already verified (by its hash), without a turn of the promise queue;
   * undefined when {@link verify} must check its signature. Refuses an expired one.
   */
  known(hash: string, now: number): AccessClaims | undefined {
    const claims = this.#cache.get(hash);
    if (claims !== undefined && claims.exp <= now) {
      this.#cache.delete(hash);
      throw new CharterError('invalid_token', 'ERR_TOKEN_EXPIRED', 'the access token has expired');
    }
    return claims;
  }

  async #verify(token: string, hash: string, now: number): Promise<AccessClaims> {
    let claims = this.#cache.get(hash);
    if (!claims) {
      try {
        const { payload } = await jwtVerify(token, this.#public, {
          algorithms: ['EdDSA'],
          typ: 'at+jwt',
          issuer: this.issuer,
          audience: this.audience,
          currentDate: new Date(now * 1000),
          requiredClaims: [
            'sub',
            'client_id',
            'scope',
            'cnf',
            'iat',
            'exp',
            'jti',
            'app_id',
            'publisher_id',
            'charter_id',
          ],
        });
        claims = payload as unknown as AccessClaims;
        if (typeof claims.cnf?.jkt !== 'string') throw new Error('no cnf.jkt');
      } catch {
        throw new CharterError('invalid_token', 'ERR_TOKEN_INVALID', 'the access token does not verify');
      }
      if (this.#cache.size >= MAX_CACHED) this.#sweep(now);
      this.#cache.set(hash, claims);
    }
    if (claims.exp <= now) {
      this.#cache.delete(hash);
      throw new CharterError('invalid_token', 'ERR_TOKEN_EXPIRED', 'the access token has expired');
    }
    return claims;
  }

  #sweep(now: number): void {
    for (const [k, c] of this.#cache) if (c.exp <= now) this.#cache.delete(k);
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
  }
}
