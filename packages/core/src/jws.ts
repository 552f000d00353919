/**
 * Strict parsing of a compact JWS before any key is looked up: size, shape, header. Steps 1–5 of the
 * verification order in verify.ts. Everything here refuses with the artifact's own code.
 */
import { base64url } from 'jose';
import { MAX_ARTIFACT_BYTES } from './artifact.ts';
import { CharterError, type ErrorCode } from './errors.ts';

/** A compact JWS split into its parts, with the protected header decoded. */
export interface ParsedJws {
  header: Record<string, unknown>;
  payloadB64: string;
  token: string;
}

const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Header members that would let the token choose its own key: refused on vendor artifacts. */
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const HMAC_ALGS = /^HS(256|384|512)$/i;

/** Normalise a `typ` as RFC 7515 §4.1.9 allows: case-insensitive, optional `application/` prefix. */
export function normaliseTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}

/** Decode a base64url segment as a JSON object, or undefined. */
export function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(segment)),
    );
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    return value as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Check an untrusted input is a compact JWS of the expected `typ` whose header is safe to act on:
 * 1 a string of at most 64 KiB; 2 three base64url parts; 3 a JSON-object header; 4 `alg` EdDSA
 * (`none` and HMAC named as such); 5 `typ`; 6 no `jku`/`x5u`/`jwk`/`x5c`, no `crit`, no `b64`;
 * 7 a string `kid`.
 */
export function parseVendorJws(input: unknown, expectedTyp: string, code: ErrorCode): ParsedJws {
  if (typeof input !== 'string') throw new CharterError(code, 'ERR_FORMAT', 'the artifact is not a string');
  if (input.length > MAX_ARTIFACT_BYTES) {
    throw new CharterError(code, 'ERR_SIZE', `the artifact is larger than ${MAX_ARTIFACT_BYTES} bytes`);
  }
  const token = input;
  if (!COMPACT.test(token)) {
    throw new CharterError(code, 'ERR_FORMAT', 'the artifact is not a compact JWS (three base64url parts)');
  }
  const [headerB64, payloadB64, signatureB64] = token.split('.') as [string, string, string];
  // Base64url has spare bits in its last character; refusing non-canonical text means one artifact
  // has exactly one spelling, so no edited byte can leave the decoded artifact unchanged.
  if (!isCanonicalB64(headerB64) || !isCanonicalB64(payloadB64) || !isCanonicalB64(signatureB64)) {
    throw new CharterError(code, 'ERR_FORMAT', 'the artifact is not canonically base64url-encoded');
  }
  const header = decodeJsonSegment(headerB64);
  if (!header) throw new CharterError(code, 'ERR_HEADER', 'the protected header is not a JSON object');
  const alg = header.alg;
  if (typeof alg !== 'string') throw new CharterError(code, 'ERR_ALG', 'the header has no alg');
  if (alg.toLowerCase() === 'none')
    throw new CharterError(code, 'ERR_ALG_NONE', 'unsigned artifacts (alg none) are refused');
  if (HMAC_ALGS.test(alg))
    throw new CharterError(code, 'ERR_ALG_HMAC', 'HMAC algorithms are refused for vendor artifacts');
  if (alg !== 'EdDSA')
    throw new CharterError(code, 'ERR_ALG', `vendor artifacts are signed with EdDSA only, not ${safe(alg)}`);
  if (typeof header.typ !== 'string')
    throw new CharterError(code, 'ERR_TYP', `the header has no typ (expected ${expectedTyp})`);
  if (normaliseTyp(header.typ) !== expectedTyp) {
    throw new CharterError(
      code,
      'ERR_TYP',
      `wrong artifact type ${safe(header.typ)} (expected ${expectedTyp})`,
    );
  }
  for (const name of FORBIDDEN_HEADERS) {
    if (name in header)
      throw new CharterError(
        code,
        'ERR_HEADER_KEY',
        `the header member ${name} is refused on vendor artifacts`,
      );
  }
  if ('crit' in header)
    throw new CharterError(
      code,
      'ERR_CRIT',
      'the header lists critical extensions this verifier does not support',
    );
  if ('b64' in header) throw new CharterError(code, 'ERR_HEADER', 'unencoded payloads (b64) are refused');
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 128) {
    throw new CharterError(code, 'ERR_KID', 'the header has no usable kid');
  }
  return { header, payloadB64, token };
}

/** True when `segment` is the one canonical base64url spelling of the bytes it decodes to. */
export function isCanonicalB64(segment: string): boolean {
  if (segment.length % 4 === 1) return false;
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/** A short, printable rendering of an attacker-chosen header value for a reason text. */
export function safe(value: string): string {
  const cut = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(cut.replace(/[^\x20-\x7e]/g, '?'));
}
