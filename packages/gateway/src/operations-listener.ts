/**
 * The Fastify instance of an operations listener (`--metrics-listen`), alike for one gateway process
 * and for the supervisor of workers: every path it does not serve, every request Fastify itself
 * refuses before routing (a URL it cannot decode) or while reading it (a body of a media type it has
 * no parser for), what node's HTTP parser refuses and an `Expect` it does not meet are answered
 * `invalid_request` in the catalogue's words, as on the public listener: never Fastify's own
 * `{"error":"Bad Request"}` that echoes the path, nor node's bare 417.
 */
import { CharterError } from '@charter/core/errors';
import Fastify, { type FastifyInstance } from 'fastify';
import { sendReply } from './fastify-plugin.ts';
import { refuseExpectation, refuseUnparseable } from './http-refusals.ts';
import { refusalReply } from './reply.ts';

/** A new operations listener's app, before its routes. */
export function operationsApp(): FastifyInstance {
  const ops = Fastify({
    logger: false,
    forceCloseConnections: true,
    clientErrorHandler: refuseUnparseable,
    frameworkErrors: (_error, _request, reply) =>
      sendReply(
        reply,
        refusalReply(new CharterError('invalid_request', 'ERR_HTTP', 'the HTTP layer refused the request')),
      ),
  });
  ops.server.on('checkExpectation', (_request, res) => refuseExpectation(res));
  // Fastify's own 4xx while reading a request (415 for a body it has no parser for, 413, 400) in the
  // catalogue's words; anything else is a fault of the listener, answered `unavailable`.
  ops.setErrorHandler((error: { statusCode?: number }, _request, reply) =>
    sendReply(
      reply,
      refusalReply(
        error instanceof CharterError
          ? (error as CharterError<'invalid_request'>)
          : (error.statusCode ?? 500) < 500
            ? new CharterError('invalid_request', 'ERR_HTTP', 'the HTTP layer refused the request')
            : new CharterError('unavailable', 'ERR_INTERNAL', 'the operations listener failed'),
      ),
    ),
  );
  ops.setNotFoundHandler((_request, reply) =>
    sendReply(
      reply,
      refusalReply(new CharterError('invalid_request', 'ERR_ENDPOINT', 'no such operations endpoint')),
    ),
  );
  return ops as unknown as FastifyInstance;
}
