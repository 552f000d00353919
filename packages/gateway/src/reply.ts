/** The HTTP shape of a refusal (SPEC.md §3), shared by the engine and the transport layers. */
import type { CharterError, ClientError, ProtocolErrorCode } from '@charter/core/errors';
import { CHARTER_REFUSAL_HEADER } from './credentials.ts';
import { INSTANCE_ALGS } from './instance-key.ts';

/**
 * The media type of every JSON answer the gateway writes itself, as Fastify sends it: the same on the
 * lean proxy path, through Fastify, in library mode (Express, node:http) and for the parser's refusals.
 */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A response the engine wants written. */
export interface GatewayReply {
  kind: 'reply';
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * The body of a gateway refusal. Its code is one of the SPEC's gateway codes only: the vendor tools'
 * codes (`not_found`, `conflict`, `key_unavailable`, …) are not in the type, so they cannot reach
 * the gateway's wire (test/wire-codes.test.ts holds the type and the runtime check to that).
 */
export type GatewayRefusal = ClientError<ProtocolErrorCode>;

/** A refusal the gateway may send: a CharterError whose code is a gateway code. */
export type WireRefusal = CharterError<ProtocolErrorCode>;

/** A refusal reply: its body is a {@link GatewayRefusal}. */
export interface GatewayRefusalReply extends GatewayReply {
  body: GatewayRefusal;
}

/**
 * `{error, error_description}` with the catalogue status, never more; on 401 a
 * `WWW-Authenticate: DPoP error="CODE", algs="ES256 EdDSA"` challenge (RFC 9449 §7.1).
 */
export function refusalReply(error: WireRefusal): GatewayRefusalReply {
  // Every refusal names its code in `Charter-Refusal` too, so one without a body (HEAD) still says it.
  const headers: Record<string, string> = {
    'content-type': JSON_CONTENT_TYPE,
    'cache-control': 'no-store',
    [CHARTER_REFUSAL_HEADER]: error.code,
  };
  if (error.status === 401)
    headers['www-authenticate'] = `DPoP error="${error.code}", algs="${INSTANCE_ALGS.join(' ')}"`;
  return { kind: 'reply', status: error.status, headers, body: error.toClient() };
}
