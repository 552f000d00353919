/**
 * The Fastify instance of an operations listener (`--metrics-listen`), alike for one gateway process
 * and for the supervisor of workers: every path it does not serve, and every request Fastify itself
 * refuses before routing (a URL it cannot decode), is answered `invalid_request` in the catalogue's
 * words, never Fastify's own `{"error":"Bad Request"}` that echoes the path.
 */
import { CharterError } from '@charter/core/errors';
import Fastify, { type FastifyInstance } from 'fastify';
import { sendReply } from './fastify-plugin.ts';
import { refusalReply } from './reply.ts';

/** A new operations listener's app, before its routes. */
export function operationsApp(): FastifyInstance {
  const ops = Fastify({
    logger: false,
    forceCloseConnections: true,
    frameworkErrors: (_error, _request, reply) =>
      sendReply(
        reply,
        refusalReply(new CharterError('invalid_request', 'ERR_HTTP', 'the HTTP layer refused the request')),
      ),
  });
  ops.setNotFoundHandler((_request, reply) =>
    sendReply(
      reply,
      refusalReply(new CharterError('invalid_request', 'ERR_ENDPOINT', 'no such operations endpoint')),
    ),
  );
  return ops as unknown as FastifyInstance;
}
