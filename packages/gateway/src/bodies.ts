/** The JSON bodies of the Charter endpoints (SPEC.md §3), parsed strictly from untrusted bytes. */
import { ID, MAX_ARTIFACT_BYTES, PLATFORMS, type Platform, type Refuse, refuser } from '@charter/core';

/** The largest body a Charter endpoint reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The body of `POST /charter/v1/register`. */
export interface RegisterBody {
  charter: string;
  platform: Platform;
  attestation?: Record<string, unknown>;
  /** A token of the vendor's online attester, in place of on-device attestation (docs/vendor-attester.md). */
  attester_token?: string;
}

/** The body of `POST /charter/v1/token`. */
export interface TokenBody {
  instance_id: string;
  assertion?: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const bad: Refuse = refuser('invalid_request');

/**
 * A JSON object from a request body: raw bytes or text need `Content-Type: application/json`; a
 * value a host framework has already parsed is taken as it is (the host checked its type).
 */
export function parseJsonBody(body: unknown, contentType: string | undefined): Record<string, unknown> {
  let value: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase();
    if (type !== 'application/json') bad('ERR_CONTENT_TYPE', 'the body is not application/json');
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (size > MAX_BODY_BYTES) bad('ERR_BODY_SIZE', 'the body is too large');
    try {
      value = JSON.parse(typeof body === 'string' ? body : strictUtf8.decode(body));
    } catch {
      bad('ERR_BODY_JSON', 'the body is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    bad('ERR_BODY_SHAPE', 'the body is not a JSON object');
  }
  return value as Record<string, unknown>;
}

/** The register body: a charter JWS, a platform name, and an optional attestation object. */
export function parseRegisterBody(body: unknown, contentType: string | undefined): RegisterBody {
  const o = parseJsonBody(body, contentType);
  const { charter, platform, attestation, attester_token } = o;
  if (typeof charter !== 'string' || charter.length === 0 || charter.length > MAX_ARTIFACT_BYTES)
    bad('ERR_BODY_CHARTER', 'charter must be a string');
  if (typeof platform !== 'string' || !(PLATFORMS as readonly string[]).includes(platform))
    bad('ERR_BODY_PLATFORM', 'platform must be a platform name');
  if (
    attestation !== undefined &&
    (typeof attestation !== 'object' || attestation === null || Array.isArray(attestation))
  ) {
    bad('ERR_BODY_ATTESTATION', 'attestation must be an object');
  }
  if (
    attester_token !== undefined &&
    (typeof attester_token !== 'string' ||
      attester_token.length === 0 ||
      attester_token.length > MAX_ARTIFACT_BYTES)
  )
    bad('ERR_BODY_ATTESTER_TOKEN', 'attester_token must be a string');
  return {
    charter,
    platform: platform as Platform,
    ...(attestation !== undefined ? { attestation: attestation as Record<string, unknown> } : {}),
    ...(typeof attester_token === 'string' ? { attester_token } : {}),
  };
}

/** The token body: an instance id and an optional App Attest assertion. */
export function parseTokenBody(body: unknown, contentType: string | undefined): TokenBody {
  const o = parseJsonBody(body, contentType);
  const { instance_id, assertion } = o;
  if (typeof instance_id !== 'string' || !ID.test(instance_id))
    bad('ERR_BODY_INSTANCE', 'instance_id must be an id');
  if (
    assertion !== undefined &&
    (typeof assertion !== 'string' || assertion.length === 0 || assertion.length > 16384)
  ) {
    bad('ERR_BODY_ASSERTION', 'assertion must be a string');
  }
  return { instance_id, ...(typeof assertion === 'string' ? { assertion } : {}) };
}
