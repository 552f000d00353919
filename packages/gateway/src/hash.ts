/** SHA-256 as base64url: the `ath` of RFC 9449, token cache keys and JWK thumbprints all use it. */
import { hash } from 'node:crypto';

/** base64url(SHA-256(ASCII or UTF-8 text)). */
export function sha256B64url(text: string | Uint8Array): string {
  return hash('sha256', text, 'base64url');
}
