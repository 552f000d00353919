/**
 * Server nonces (RFC 9449 §8) for `/challenge` and `DPoP-Nonce`. A nonce is MACed with the site's
 * nonce key and carries its expiry, so issuing one writes nothing: a flood of challenges costs no
 * memory, and forged or expired nonces are refused before the cache is asked. Single use is one
 * atomic set-if-absent on the nonce when it is spent.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EphemeralCache } from './cache.ts';

/** Issues and spends single-use nonces. */
export class NonceIssuer {
  readonly ttlS: number;
  readonly #key: Uint8Array;
  readonly #cache: EphemeralCache;

  constructor(key: Uint8Array, cache: EphemeralCache, ttlS = 120) {
    this.#key = key;
    this.#cache = cache;
    this.ttlS = ttlS;
  }

  /** A fresh nonce valid for `ttlS` seconds from `now` (epoch seconds). */
  issue(now: number): { nonce: string; expires_in: number } {
    const body = Buffer.alloc(16);
    body.writeUInt32BE(now + this.ttlS, 0);
    randomBytes(12).copy(body, 4);
    return { nonce: Buffer.concat([body, this.#mac(body)]).toString('base64url'), expires_in: this.ttlS };
  }

  /** Spend a nonce: true once for a genuine, unexpired nonce, false for anything else or a second use. */
  async spend(nonce: string, now: number): Promise<boolean> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(nonce)) return false;
    const bytes = Buffer.from(nonce, 'base64url');
    const body = bytes.subarray(0, 16);
    if (!timingSafeEqual(bytes.subarray(16), this.#mac(body))) return false;
    const expires = body.readUInt32BE(0);
    if (expires <= now || expires > now + this.ttlS) return false;
    return this.#cache.setIfAbsent(`nonce:${body.toString('base64url')}`, expires - now + 1);
  }

  #mac(body: Uint8Array): Buffer {
    return createHmac('sha256', this.#key).update(body).digest().subarray(0, 16);
  }
}
