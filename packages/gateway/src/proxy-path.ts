/**
 * The proxy's per-request path, on node's own request and response objects: admit, then stream to
 * the upstream and back. It is what almost every request the gateway serves runs, so it does without
 * a framework's routing, hooks, reply object and serialisers (measured: a bare Fastify proxy costs
 * about 1.2–1.4× the CPU of node:http with undici, see docs/benchmarks.md). Everything else
 * (the Charter endpoints, the probes, the console, preflights, the reserved prefix, percent-encoded
 * paths, a server that is closing) goes to the Fastify app beside it, which keeps every rule it had:
 * {@link takesFastPath} decides which, before anything is read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CharterError } from '@charter/core';
import type { Logger } from 'pino';
import type { Pool } from 'undici';
import { isCorsPath, mergeCorsHeaders, mergeCorsHeadersInto } from './cors.ts';
import { upstreamRequestHeaders } from './forward-headers.ts';
import type { Admission, Gateway } from './gateway.ts';
import type { GatewayReply } from './reply.ts';
import type { CharterRequest } from './request.ts';
import { type ForwardEvents, UpstreamForward } from './upstream-forward.ts';

/** What the path needs: the upstream pool and its path prefix, and where to log an upstream fault. */
export interface ProxyPathOptions {
  pool: Pool;
  /** The upstream URL's path, without a trailing slash, put before every forwarded path. */
  upstreamPrefix: string;
  logger: Logger;
}

/**
 * True for a request this path may answer: an origin-form target outside the reserved `/charter/`
 * prefix, with no percent sign in its path (Fastify's router decodes those, and its refusal of an
 * undecodable one is kept), that is not a CORS preflight (the gateway answers those from the license
 * in the Fastify app). Anything else goes to the Fastify app, which answers it exactly as before.
 */
export function takesFastPath(req: IncomingMessage): boolean {
  const url = req.url;
  if (url === undefined || url.charCodeAt(0) !== 0x2f /* / */ || url.startsWith('/charter/')) return false;
  const q = url.indexOf('?');
  const percent = url.indexOf('%');
  if (percent !== -1 && (q === -1 || percent < q)) return false;
  return !(
    req.method === 'OPTIONS' &&
    req.headers.origin !== undefined &&
    req.headers['access-control-request-method'] !== undefined
  );
}

/**
 * The CORS headers of this response, or undefined on a path whose CORS the gateway does not decide
 * (cors.ts): there the upstream's headers pass as they are, as they did through the Fastify hook.
 */
type Cors = Record<string, string> | undefined;

function withCors(headers: Record<string, string | string[]>, cors: Cors): Record<string, string | string[]> {
  return cors === undefined ? headers : mergeCorsHeaders(headers, cors);
}

/** Write an engine reply (a refusal) with the response's CORS headers, as Fastify would have sent it. */
function writeReply(res: ServerResponse, reply: GatewayReply, cors: Cors): void {
  const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
  const headers = withCors({ ...reply.headers }, cors);
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(reply.status, headers).end(body);
}

/** The handler for requests {@link takesFastPath} accepts, bound to the running engine. */
export function proxyPath(
  options: ProxyPathOptions,
): (gateway: Gateway, req: IncomingMessage, res: ServerResponse) => void {
  const { pool, upstreamPrefix, logger } = options;

  const events: ForwardEvents<{ g: Gateway; request: CharterRequest; cors: Cors }> = {
    head(res, { cors }, statusCode, headers) {
      // The headers are this request's own object (read from the upstream's raw list).
      res.writeHead(statusCode, cors === undefined ? headers : mergeCorsHeadersInto(headers, cors));
    },
    done(res, { g, request, cors }, e, clientGone) {
      if (e === undefined || clientGone) return;
      logger.error({ reason: e.message, path: request.url.split('?')[0]?.slice(0, 256) }, 'upstream failed');
      // Before the upstream's status line the client gets the catalogue's refusal; after it, the
      // answer is already partly sent and can only be cut.
      if (!res.headersSent)
        writeReply(
          res,
          g.errorReply(new CharterError('unavailable', 'ERR_UPSTREAM', 'the upstream server did not answer')),
          cors,
        );
      else if (!res.destroyed) res.destroy();
    },
  };

  /**
   * Admit, then forward. Never rejects: should anything throw (nothing does by design: the engine
   * answers its own faults), the client gets `unavailable` and the log the detail, as Fastify's
   * error handler did.
   */
  async function forward(
    g: Gateway,
    req: IncomingMessage,
    res: ServerResponse,
    request: CharterRequest,
    cors: Cors,
  ): Promise<void> {
    try {
      const result = await g.handle(request);
      if (result.kind === 'reply') return writeReply(res, result, cors);
      const admission: Admission = {
        app: result.app,
        monitored: result.monitored,
        ...(result.user ? { user: result.user } : {}),
      };
      const h = req.headers;
      const hasBody =
        (h['content-length'] !== undefined && h['content-length'] !== '0') ||
        h['transfer-encoding'] !== undefined;
      pool.dispatch(
        {
          method: req.method as 'GET',
          path: upstreamPrefix + request.url,
          headers: upstreamRequestHeaders(h, g.upstreamHeaders(admission), request.ip),
          body: hasBody ? req : null,
        },
        new UpstreamForward(res, events, { g, request, cors }),
      );
    } catch (e) {
      logger.error({ reason: e instanceof Error ? e.message : String(e) }, 'proxy path failed');
      if (!res.headersSent) writeReply(res, g.errorReply(e), cors);
      else if (!res.destroyed) res.destroy();
    }
  }

  return (g, req, res) => {
    const request: CharterRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      ip: req.socket.remoteAddress,
    };
    let cors: Cors;
    try {
      cors = isCorsPath(request.url) ? g.corsHeaders(request) : undefined;
    } catch {
      cors = {};
    }
    void forward(g, req, res, request, cors);
  };
}
