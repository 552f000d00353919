/**
 * The HTTP shape of the engine's answers, the same for every adapter: which paths are the engine's
 * own, a success reply, a refusal reply with its challenge headers, and the headers an admitted
 * request carries upstream.
 */
import { CharterError, httpErrorOf, isProtocolErrorCode } from '@charter/core/errors';
import type { Logger } from 'pino';
import { ATTESTER_PATHS } from './client-attester.ts';
import { PATHS } from './context.ts';
import type { Admission } from './gateway-options.ts';
import {
  type GatewayRefusalReply,
  type GatewayReply,
  JSON_CONTENT_TYPE,
  refusalReply,
  type WireRefusal,
} from './reply.ts';
import { pathOf } from './request.ts';

/**
 * True for exactly the paths the engine itself answers (the well-known document, challenge,
 * register, token, client attestation, attester keys), byte for byte.
 */
export function isCharterPath(url: string): boolean {
  const path = pathOf(url);
  return (
    path === PATHS.wellKnown ||
    path === PATHS.challenge ||
    path === PATHS.register ||
    path === PATHS.token ||
    path === ATTESTER_PATHS.clientAttestation ||
    path === ATTESTER_PATHS.jwks
  );
}

/** A JSON answer; `nonce`, when given, is handed to the client with it (RFC 9449 §8.2: saves a round trip). */
export function okReply(body: unknown, nonce?: string): GatewayReply {
  const headers: Record<string, string> = {
    'content-type': JSON_CONTENT_TYPE,
    'cache-control': 'no-store',
  };
  if (nonce !== undefined) headers['dpop-nonce'] = nonce;
  return { kind: 'reply', status: 200, headers, body };
}

/**
 * The reply for a refusal: `{error, error_description}` with the catalogue status; on 401 a
 * `WWW-Authenticate: DPoP` challenge; a fresh `DPoP-Nonce` with `use_dpop_nonce`; `Retry-After`
 * with `rate_limited`. What the client sees follows core's mapper with the catalogue's text only
 * (`expose: 'catalogue'`). Anything that is not a refusal with a gateway code (a fault, or a vendor
 * tool's code such as `conflict` that has no place on this wire) is logged and becomes `unavailable`.
 */
export function errorReplyOf(
  e: unknown,
  engine: { logger: Logger; nonce: () => string; now: () => number },
): GatewayRefusalReply {
  const mapped = httpErrorOf(e, { expose: 'catalogue' });
  let error: WireRefusal;
  if (!mapped.fault && isWireRefusal(mapped.error)) error = mapped.error;
  else {
    engine.logger.error(mapped.fault ? { err: e } : { err: mapped.log }, 'unexpected failure');
    error = new CharterError('unavailable', 'ERR_INTERNAL', 'unexpected failure');
  }
  const reply = refusalReply(error);
  if (error.code === 'use_dpop_nonce') reply.headers['dpop-nonce'] = engine.nonce();
  if (error.code === 'rate_limited') reply.headers['retry-after'] = String(60 - (engine.now() % 60));
  return reply;
}

/** True when `e` carries one of the SPEC's gateway codes. */
export function isWireRefusal(e: CharterError): e is WireRefusal {
  return isProtocolErrorCode(e.code);
}

/** Headers to hand upstream for an admitted app (the same names arriving from clients must be removed first). */
export function upstreamHeadersOf(admission: Admission): Record<string, string> {
  const h: Record<string, string> = {};
  if (admission.app) {
    h['charter-app-id'] = admission.app.app_id;
    h['charter-publisher-id'] = admission.app.publisher_id;
    h['charter-instance-id'] = admission.app.instance_id;
    h['charter-scope'] = admission.app.scopes.join(' ');
  }
  if (admission.monitored.length > 0) h['charter-monitor'] = admission.monitored.map((m) => m.code).join(' ');
  // The user's credential goes on as sent (the client's Authorization and DPoP are removed first).
  if (admission.user) {
    h.authorization = admission.user.authorization;
    if (admission.user.dpop !== undefined) h.dpop = admission.user.dpop;
  }
  return h;
}
