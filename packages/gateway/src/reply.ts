/** The HTTP shape of a refusal (SPEC.md §3), shared by the engine and the transport layers. */
import type { CharterError } from '@charter/core';
import { INSTANCE_ALGS } from './instance-key.ts';

/** A response the engine wants written. */
export interface GatewayReply {
  kind: 'reply';
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * `{error, error_description}` with the catalogue status, never more; on 401 a
 * `WWW-Authenticate: DPoP error="CODE", algs="ES256 EdDSA"` challenge (RFC 9449 §7.1).
 */
export function refusalReply(error: CharterError): GatewayReply {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (error.status === 401)
    headers['www-authenticate'] = `DPoP error="${error.code}", algs="${INSTANCE_ALGS.join(' ')}"`;
  return { kind: 'reply', status: error.status, headers, body: error.toClient() };
}
