/**
 * Library mode for Fastify, in the fastify-plugin idiom: the Charter endpoints are served from an
 * encapsulated child (with its own 64 KiB body parser, so the host's parsers are untouched) and an
 * `onRequest` hook admits every other request before its body is read, decorating `request.charter`.
 */

import { CharterError } from '@charter/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { MAX_BODY_BYTES } from './bodies.ts';
import { ATTESTER_PATHS } from './client-attester.ts';
import { type AdmittedApp, PATHS } from './context.ts';
import { corsOnWrite, isCorsPath, isPreflight } from './cors.ts';
import type { UserCredential } from './credentials.ts';
import { stripCharterHeaders } from './forward-headers.ts';
import type { Admission, Gateway } from './gateway.ts';
import type { GatewayReply } from './reply.ts';
import type { CharterRequest } from './request.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The admitted app; null on Charter endpoints and when monitor mode let an unproven request through. */
    charter: AdmittedApp | null;
    /** The full admission, with refusals monitor mode only noted. */
    charterAdmission: Admission | null;
    /** The user's own credential of a dual-form request (Charter-Token beside the user's Authorization), untouched. */
    userCredential: UserCredential | null;
  }
}

/** Options of {@link charterFastify}. */
export interface CharterFastifyOptions {
  gateway: Gateway;
}

/** Send an engine reply through Fastify. */
export function sendReply(reply: FastifyReply, r: GatewayReply): FastifyReply {
  return reply.code(r.status).headers(r.headers).send(r.body);
}

/** The neutral request of a Fastify request. */
export function neutralRequest(request: FastifyRequest, body?: unknown): CharterRequest {
  return {
    method: request.raw.method ?? 'GET',
    url: request.raw.url ?? '/',
    headers: request.raw.headers,
    body,
    ip: request.ip,
  };
}

/**
 * Marks the routes of {@link charterEndpoints} in their route config: the admission hook skips a
 * request only when the router matched one of them, never by looking at the URL.
 */
const CHARTER_ENDPOINT = Symbol('charter endpoint');

/** Whether Fastify routed `request` to one of the Charter endpoints. */
export function isCharterEndpointRoute(request: FastifyRequest): boolean {
  const config = request.routeOptions.config as unknown as Record<symbol, unknown> | undefined;
  return config?.[CHARTER_ENDPOINT] === true;
}

/** Answer a CORS preflight with the gateway's reply (see {@link Gateway.preflight}), and only that. */
export function sendPreflight(
  request: FastifyRequest,
  reply: FastifyReply,
  gateway: Pick<Gateway, 'preflight'>,
): FastifyReply {
  const answer = gateway.preflight(neutralRequest(request));
  corsOnWrite(reply.raw, answer.headers, true);
  return sendReply(reply, answer);
}

/**
 * From an `onRequest` hook: the response to this request will carry the gateway's CORS headers in
 * place of any the host or upstream set (see corsOnWrite). Paths outside CORS are left alone.
 */
export function corsForReply(
  request: FastifyRequest,
  reply: FastifyReply,
  gateway: Pick<Gateway, 'corsHeaders'>,
): void {
  const req = neutralRequest(request);
  if (!isCorsPath(req.url)) return;
  let cors: Record<string, string>;
  try {
    cors = gateway.corsHeaders(req);
  } catch {
    cors = {};
  }
  corsOnWrite(reply.raw, cors);
}

/** Register the Charter endpoints (well-known, challenge, register, token) on `app` for `gateway`. */
export async function charterEndpoints(
  app: FastifyInstance,
  gateway: Pick<Gateway, 'handle' | 'errorReply'>,
): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_req, body, done) =>
    done(null, body),
  );
  app.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
    // Fastify's own refusals (body too large, bad media type) become catalogued codes, not its format.
    const code = (error.statusCode ?? 500) < 500 ? 'invalid_request' : 'unavailable';
    return sendReply(
      reply,
      gateway.errorReply(
        error instanceof CharterError
          ? error
          : new CharterError(code, 'ERR_HTTP', 'the HTTP layer refused the request'),
      ),
    );
  });
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const result = await gateway.handle(neutralRequest(request, request.body));
    if (result.kind === 'reply') return sendReply(reply, result);
    return sendReply(
      reply,
      gateway.errorReply(new CharterError('invalid_request', 'ERR_ENDPOINT', 'no such Charter endpoint')),
    );
  };
  // The handler still hands the raw request to `gateway.handle`, which answers only the exact paths:
  // a spelling a lenient host router sends here (`/CHARTER/V1/TOKEN`, `/charter/v1/token/`) is
  // admitted like any protected request, so it cannot skip admission by landing on these routes.
  const config = { [CHARTER_ENDPOINT]: true };
  app.route({ method: ['GET', 'HEAD'], url: PATHS.wellKnown, handler, config });
  app.route({ method: 'POST', url: PATHS.challenge, handler, config });
  app.route({ method: 'POST', url: PATHS.register, handler, config });
  app.route({ method: 'POST', url: PATHS.token, handler, config });
  app.route({ method: 'POST', url: ATTESTER_PATHS.clientAttestation, handler, config });
  app.route({ method: ['GET', 'HEAD'], url: ATTESTER_PATHS.jwks, handler, config });
}

async function plugin(fastify: FastifyInstance, options: CharterFastifyOptions): Promise<void> {
  const { gateway } = options;
  fastify.decorateRequest('charter', null);
  fastify.decorateRequest('charterAdmission', null);
  fastify.decorateRequest('userCredential', null);
  await fastify.register(async (child) => charterEndpoints(child, gateway));
  fastify.addHook('onRequest', async (request, reply) => {
    // The engine reads the client's own Charter credentials (`Charter-Token`, `Charter-DPoP`) from a
    // copy taken first; then a client's `Charter_Scope` (any spelling that folds to a Charter header)
    // is removed, so it never reaches the host.
    const headers = { ...request.raw.headers };
    stripCharterHeaders(request.raw);
    // A CORS preflight is the gateway's to answer, whatever the host routes: never admitted, never
    // handed to the host (its own CORS handling would otherwise decide the origins).
    if (isPreflight(neutralRequest(request))) return sendPreflight(request, reply, gateway);
    // Every other response, the host's and the gateway's refusals alike, gets the gateway's CORS.
    corsForReply(request, reply, gateway);
    // Skipped only where the router matched a Charter endpoint route (its handler admits itself).
    if (isCharterEndpointRoute(request)) return;
    const result = await gateway.handle({ ...neutralRequest(request), headers });
    if (result.kind === 'reply') return sendReply(reply, result);
    request.charter = result.app ?? null;
    request.charterAdmission = {
      app: result.app,
      monitored: result.monitored,
      ...(result.user ? { user: result.user } : {}),
    };
    request.userCredential = result.user ?? null;
  });
}

/** The Fastify plugin: `app.register(charterFastify, { gateway })`. */
export const charterFastify = fp(plugin, { name: '@charter/gateway', fastify: '5.x' });
