/**
 * DPoP proofs (RFC 9449 §4.3), verified with node:crypto directly: one parse, one signature check,
 * no per-request JWK import (keys are cached by thumbprint in instance-key.ts). The rules mirror
 * jose's `jwtVerify(proof, EmbeddedJWK, { typ, algorithms, maxTokenAge: 0, clockTolerance: skew })`
 * plus the DPoP claims; test/dpop-differential.test.ts holds the two to the same answers.
 */
import { isAscii } from 'node:buffer';
import { verify } from 'node:crypto';
import { CharterError, normaliseTyp } from '@charter/core';
import { htuMatches } from './htu.ts';
import { INSTANCE_ALGS, type InstanceAlg, type InstanceKey, instanceKeyOf } from './instance-key.ts';

/** What a proof must match: the request, the clock, and (for protected requests) the token hash. */
export interface ProofExpectations {
  method: string;
  /** The normalised URL the proof must name (see htu.ts). */
  htu: string;
  /** Now, in epoch seconds. */
  now: number;
  /** Seconds a proof's `iat` may differ from now, either way. */
  skewS: number;
  /** base64url(SHA-256(access token)), when the proof accompanies a token. */
  ath?: string;
  /** base64url(SHA-256(Charter token)) in `charter_ath`, when one proof serves a user token too (credentials.ts). */
  charterAth?: string;
}

/** The claims of a verified proof. */
export interface ProofClaims {
  jti: string;
  htm: string;
  htu: string;
  iat: number;
  ath?: string;
  nonce?: string;
}

/** A verified proof: its key (with thumbprint) and claims. */
export interface VerifiedProof {
  key: InstanceKey;
  claims: ProofClaims;
}

/** The largest proof read; a proof is a few hundred bytes, so anything near this is garbage. */
export const MAX_PROOF_CHARS = 8192;

const COMPACT = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const utf8 = new TextDecoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function refuse(detail: string, reason: string): never {
  throw new CharterError('invalid_dpop_proof', detail, reason);
}

/** A base64url segment as bytes; a length of 4n+1 cannot be base64 and is refused, as atob does. */
function segment(text: string): Buffer {
  if (text.length % 4 === 1) refuse('ERR_DPOP_FORMAT', 'a proof segment is not base64url');
  return Buffer.from(text, 'base64url');
}

function jsonObject(bytes: Buffer, decoder: TextDecoder): Record<string, unknown> | undefined {
  try {
    // ASCII (every proof a client library writes) reads the same under any UTF-8 decoder, strict or
    // not, and latin1 copies it without the decoder's validation; anything else goes through it.
    const v: unknown = JSON.parse(isAscii(bytes) ? bytes.toString('latin1') : decoder.decode(bytes));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function numericDate(payload: Record<string, unknown>, name: string): number | undefined {
  const v = payload[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    refuse('ERR_DPOP_CLAIMS', `the proof's ${name} is not a number`);
  return v;
}

/**
 * The key a proof header names, checked: every proof of one instance carries the same header bytes,
 * so the outcome of decoding, checking and importing it (a pure function of the segment) is kept by
 * the segment's text. Bounded: a flood of fresh headers empties the map rather than growing it.
 */
const headers = new Map<string, InstanceKey>();
const MAX_HEADERS = 10_000;

function headerKey(h64: string): InstanceKey {
  const known = headers.get(h64);
  if (known) return known;
  const header = jsonObject(segment(h64), utf8);
  if (!header) refuse('ERR_DPOP_HEADER', 'the proof header is not a JSON object');
  if ('crit' in header || 'b64' in header) refuse('ERR_DPOP_HEADER', 'the proof header names extensions');
  const alg = header.alg;
  if (typeof alg !== 'string' || !(INSTANCE_ALGS as readonly string[]).includes(alg)) {
    refuse('ERR_DPOP_ALG', 'the proof alg is not ES256 or EdDSA');
  }
  if (typeof header.typ !== 'string' || normaliseTyp(header.typ) !== 'dpop+jwt')
    refuse('ERR_DPOP_TYP', 'the proof typ is not dpop+jwt');
  const key = instanceKeyOf(header.jwk, alg as InstanceAlg);
  if (typeof key === 'string') refuse('ERR_DPOP_JWK', key);

  if (headers.size >= MAX_HEADERS) headers.clear();
  headers.set(h64, key);
  return key;
}

/**
 * Verify a DPoP proof header value against `expect`, refusing with `invalid_dpop_proof` and a detail
 * naming the failed rule. The nonce and jti replay checks need shared state and are the caller's.
 */
export function verifyDpopProof(value: string | undefined, expect: ProofExpectations): VerifiedProof {
  if (value === undefined || value === '') refuse('ERR_DPOP_MISSING', 'the request carries no DPoP proof');
  if (value.length > MAX_PROOF_CHARS) refuse('ERR_DPOP_SIZE', 'the DPoP proof is too long');
  const m = COMPACT.exec(value);
  if (!m) refuse('ERR_DPOP_FORMAT', 'the DPoP proof is not a compact JWS');
  const [, h64, p64, s64] = m as unknown as [string, string, string, string];

  const key = headerKey(h64);

  const signature = segment(s64);
  // The signing input is the proof up to its second dot (the regex matched only base64url there).
  const input = Buffer.from(value.slice(0, h64.length + 1 + p64.length), 'latin1');
  let ok = false;
  if (signature.length === 64) {
    try {
      ok =
        key.alg === 'ES256'
          ? verify('sha256', input, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature)
          : verify(null, input, key.key, signature);
    } catch {
      ok = false;
    }
  }
  if (!ok) refuse('ERR_DPOP_SIGNATURE', 'the proof signature does not verify');

  const payload = jsonObject(segment(p64), utf8Strict);
  if (!payload) refuse('ERR_DPOP_PAYLOAD', 'the proof payload is not a JSON object');
  const iat = numericDate(payload, 'iat');
  if (iat === undefined) refuse('ERR_DPOP_CLAIMS', 'the proof has no iat');
  const nbf = numericDate(payload, 'nbf');
  const exp = numericDate(payload, 'exp');
  const skew = expect.skewS;
  if (nbf !== undefined && nbf > expect.now + skew) refuse('ERR_DPOP_NBF', 'the proof is not valid yet');
  if (exp !== undefined && exp <= expect.now - skew) refuse('ERR_DPOP_EXP', 'the proof has expired');
  const age = expect.now - iat;
  if (age - skew > 0) refuse('ERR_DPOP_IAT', 'the proof was issued too long ago');
  if (age < -skew) refuse('ERR_DPOP_IAT', 'the proof was issued in the future');

  const { jti, htm, htu, ath, nonce } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
    refuse('ERR_DPOP_JTI', 'the proof has no usable jti');
  if (htm !== expect.method) refuse('ERR_DPOP_HTM', 'the proof is for another method');
  if (!htuMatches(htu, expect.htu)) refuse('ERR_DPOP_HTU', 'the proof is for another URL');
  if (expect.ath !== undefined && ath !== expect.ath)
    refuse('ERR_DPOP_ATH', 'the proof is not bound to this access token');
  if (expect.charterAth !== undefined && payload.charter_ath !== expect.charterAth)
    refuse('ERR_DPOP_CHARTER_ATH', 'the shared proof is not bound to this Charter token');
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length > 512))
    refuse('ERR_DPOP_NONCE', 'the proof nonce is malformed');
  return {
    key,
    claims: {
      jti,
      htm,
      htu,
      iat,
      ...(typeof ath === 'string' ? { ath } : {}),
      ...(typeof nonce === 'string' ? { nonce } : {}),
    },
  };
}
