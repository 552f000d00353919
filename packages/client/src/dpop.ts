/** DPoP proofs (RFC 9449 §4): a fresh JWT per request, signed by the instance key. */
import { CharterError } from './core.ts';
import { base64url, jsonSegment, utf8 } from './encoding.ts';
import { type ProofSigner, publicJwkOf } from './keys.ts';
import { sha256 } from './sha256.ts';

/** What one proof is about. */
export interface DpopProofInput {
  /** The HTTP method exactly as sent (fetch upper-cases only the standard ones). */
  method: string;
  /** The request URL; query and fragment are dropped (RFC 9449 §4.2 `htu`). */
  url: string | URL;
  /** A server-provided nonce (challenge or `DPoP-Nonce`), when there is one. */
  nonce?: string;
  /** The access token the request carries; its hash becomes `ath`. */
  accessToken?: string;
  /**
   * The Charter token, when the proof also serves a user token bound to the same key (the user
   * token is then `accessToken`); its hash becomes `charter_ath`.
   */
  charterToken?: string;
  /** Seconds since the epoch for `iat`; defaults to now. */
  iat?: number;
  /** Override the random `jti` (tests only). */
  jti?: string;
}

/** The `htu` of a URL: scheme, authority and path, without query or fragment. */
export function htuOf(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new CharterError('invalid_request', 'ERR_CLIENT_URL', 'the request URL is not absolute', { cause });
  }
  return u.origin + u.pathname;
}

/** base64url SHA-256 of an access token's ASCII bytes: the `ath` claim. */
export async function accessTokenHash(accessToken: string): Promise<string> {
  return base64url(await sha256(utf8(accessToken)));
}

function randomJti(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return base64url(bytes);
}

/** Build and sign a DPoP proof JWT for one request. */
export async function createDpopProof(signer: ProofSigner, input: DpopProofInput): Promise<string> {
  // Rebuilt from the required members so a native signer's extra members (or a `d`) never travel.
  const header = { typ: 'dpop+jwt', alg: signer.alg, jwk: publicJwkOf(signer.jwk) };
  const payload: Record<string, string | number> = {
    jti: input.jti ?? randomJti(),
    htm: input.method,
    htu: htuOf(input.url),
    iat: input.iat ?? Math.floor(Date.now() / 1000),
  };
  if (input.nonce !== undefined) payload.nonce = input.nonce;
  if (input.accessToken !== undefined) payload.ath = await accessTokenHash(input.accessToken);
  if (input.charterToken !== undefined) payload.charter_ath = await accessTokenHash(input.charterToken);
  const signingInput = `${jsonSegment(header)}.${jsonSegment(payload)}`;
  const signature = await signer.sign(utf8(signingInput));
  if (signature.length !== 64) {
    // Both ES256 (r||s) and Ed25519 signatures are 64 bytes; anything else is most likely DER.
    throw new CharterError(
      'invalid_request',
      'ERR_CLIENT_SIGNATURE',
      `a ${signer.alg} signature must be 64 bytes (DER? see ecdsaDerToJose)`,
    );
  }
  return `${signingInput}.${base64url(signature)}`;
}
