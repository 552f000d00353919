/**
 * Proxy mode: a Fastify server that answers the Charter endpoints, the probes `/charter/healthz` and
 * `/charter/readyz` (under the reserved `/charter/` prefix so they never shadow an upstream path) and
 * forwards every other admitted request to the upstream through an undici Pool, streaming bodies both
 * ways. `/charter/metrics` is not on this public listener: it names the admitted apps, their traffic,
 * the license serial and expiry and the clock mark, so it is served only on an operations listener of
 * its own (`metricsListen`, the CLI's `--metrics-listen`), which the operator binds where only the
 * scraper reaches it.
 */

import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import { CharterError } from '@charter/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { pino } from 'pino';
import { Pool } from 'undici';
import { MAX_BODY_BYTES } from './bodies.ts';
import { isPreflight } from './cors.ts';
import {
  charterEndpoints,
  corsForReply,
  neutralRequest,
  sendPreflight,
  sendReply,
} from './fastify-plugin.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './forward-headers.ts';
import { type Admission, Gateway, type GatewayOptions } from './gateway.ts';
import { refuseExpectation, refuseUnparseable } from './http-refusals.ts';
import { operationsApp } from './operations-listener.ts';
import { proxyPath, takesFastPath } from './proxy-path.ts';
import { refusalReply } from './reply.ts';

/**
 * A Fastify plugin served by the proxy next to the Charter endpoints (e.g. the admin console at
 * /charter/admin). It is registered before listening, when the engine does not exist yet (the engine
 * needs the bound URL), so it receives a promise of the engine, resolved once it started.
 */
export type GatewayPlugin = (app: FastifyInstance, gateway: Promise<Gateway>) => Promise<void>;

/** Options of {@link startGateway}: the engine's, plus where to listen and what to protect. */
export interface StartGatewayOptions extends Omit<GatewayOptions, 'publicUrl'> {
  /** The API server requests are forwarded to, e.g. `http://127.0.0.1:9000` (a path prefix is kept). */
  upstream: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Defaults to `http://HOST:PORT` as bound. */
  publicUrl?: string;
  /** Upstream connections kept open; default 128. */
  connections?: number;
  /** Seconds to wait for upstream response headers; default 30. */
  upstreamTimeoutS?: number;
  /** Extra routes on the gateway's listener, under the reserved /charter/ prefix (the admin console). */
  plugins?: GatewayPlugin[];
  /**
   * Where to serve the operations endpoints (`/charter/metrics`, and the probes again); absent, metrics
   * are not served over HTTP at all. Port 0 picks a free port.
   */
  metricsListen?: { host: string; port: number };
}

/** A running gateway. */
export interface RunningGateway {
  /** The URL the server is bound to. */
  url: string;
  gateway: Gateway;
  server: FastifyInstance;
  /** The operations listener's URL (`…/charter/metrics`), when `metricsListen` was given. */
  metricsUrl?: string;
  /** Stop accepting, finish requests in flight, close upstream connections and the engine. */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    charterProxy?: Admission;
  }
}

/**
 * The probes, public on purpose: a load balancer in front of the gateway must reach them, and they
 * say only `ok` / `ready` or the catalogue code of why not (`license_invalid`, `unavailable`), which
 * every client already learns from its next refusal.
 */
function probes(app: FastifyInstance, engine: () => Gateway): void {
  app.get('/charter/healthz', async () => ({ status: 'ok' }));
  app.get('/charter/readyz', async (_request, reply) => {
    const r = await engine().ready();
    if (r.ok) return { status: 'ready' };
    return reply
      .code(503)
      .send({ error: r.reason, error_description: 'The gateway cannot decide requests now.' });
  });
}

function urlOf(server: FastifyInstance, host: string, fallbackPort: number): string {
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : fallbackPort;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The operations listener: `/charter/metrics` and the probes, nothing else (every other path is
 * `invalid_request`, as on the public listener). It is a separate server, so no path spelling on the
 * public listener can reach it.
 */
async function startOperations(
  listen: { host: string; port: number },
  engine: () => Gateway,
): Promise<{ url: string; close(): Promise<void> }> {
  const ops = operationsApp();
  probes(ops, engine);
  ops.get('/charter/metrics', async (_request, reply) => {
    const m = await engine().metrics.expose();
    return reply.header('content-type', m.contentType).send(m.body);
  });
  await ops.listen({ host: listen.host, port: listen.port });
  return { url: urlOf(ops, listen.host, listen.port), close: () => ops.close() };
}

/** Start the gateway in proxy mode. Refuses (throws the CharterError) on a license it cannot accept. */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:')
    throw new TypeError('the upstream must be an http(s) URL');
  const upstreamPrefix = upstream.pathname.replace(/\/+$/, '');
  const logger = options.logger ?? pino({ level: 'silent' });
  const pool = new Pool(upstream.origin, {
    connections: options.connections ?? 128,
    headersTimeout: (options.upstreamTimeoutS ?? 30) * 1000,
  });
  let gateway: Gateway | undefined;
  let closing = false;
  const fastPath = proxyPath({ pool, upstreamPrefix, logger });

  const app = Fastify({
    // Almost every request is an ordinary API call to forward: those take the lean path on node's
    // own objects (proxy-path.ts); the rest goes to this Fastify app, which keeps its rules for them.
    serverFactory: (fastify) => {
      const server = createServer((req, res) => {
        if (gateway && !closing && takesFastPath(req)) fastPath(gateway, req, res);
        else fastify(req, res);
      });
      server.on('checkExpectation', (_req, res) => refuseExpectation(res));
      // What Fastify sets on a server it creates itself.
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      return server;
    },
    loggerInstance: logger as FastifyBaseLogger,
    // The engine logs one decision line per request; Fastify's own lines would log URLs with queries.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler: refuseUnparseable,
    // Fastify's own early refusals (a malformed URL, an unsupported media type) in the catalogue's words.
    frameworkErrors: (_error, _request, reply) =>
      sendReply(
        reply,
        refusalReply(new CharterError('invalid_request', 'ERR_HTTP', 'the HTTP layer refused the request')),
      ),
  });
  // Fastify answers 503 while closing; the lean path steps aside from then on so it still does.
  app.addHook('preClose', async () => {
    closing = true;
  });
  const engine = (): Gateway => {
    if (!gateway) throw new CharterError('unavailable', 'ERR_STARTING', 'the gateway is starting');
    return gateway;
  };

  // Every response on a CORS path (Charter endpoints, refusals, proxied answers) carries the
  // gateway's CORS headers in place of the upstream's; preflights are answered in the proxy's hook.
  app.addHook('onRequest', async (request, reply) => {
    if (gateway && !isPreflight(neutralRequest(request))) corsForReply(request, reply, gateway);
  });

  app.setNotFoundHandler((_request, reply) =>
    sendReply(
      reply,
      engine().errorReply(new CharterError('invalid_request', 'ERR_ENDPOINT', 'no such endpoint')),
    ),
  );

  await app.register(async (charter) => {
    await charterEndpoints(charter, {
      handle: (req) => engine().handle(req),
      errorReply: (e) => engine().errorReply(e),
    });
    probes(charter, engine);
  });

  let engineStarted: (g: Gateway) => void = () => {};
  const started = new Promise<Gateway>((done) => {
    engineStarted = done;
  });
  for (const plugin of options.plugins ?? []) await app.register(async (scope) => plugin(scope, started));

  await app.register(async (proxy) => {
    proxy.removeAllContentTypeParsers();
    // Leave the body unread: it is streamed to the upstream, never buffered.
    proxy.addContentTypeParser('*', (_request, _payload, done) => done(null));
    proxy.addHook('onRequest', async (request, reply) => {
      const g = engine();
      // Preflights (for any path: OPTIONS has no Charter route, so they all land here) are answered
      // by the gateway from the license's web origins; they never reach admission or the upstream.
      if (isPreflight(neutralRequest(request))) return sendPreflight(request, reply, g);
      if (request.url.startsWith('/charter/')) {
        return sendReply(
          reply,
          g.errorReply(
            new CharterError('invalid_request', 'ERR_ENDPOINT', 'the /charter/ prefix is reserved'),
          ),
        );
      }
      const result = await g.handle(neutralRequest(request));
      if (result.kind === 'reply') return sendReply(reply, result);
      request.charterProxy = {
        app: result.app,
        monitored: result.monitored,
        ...(result.user ? { user: result.user } : {}),
      };
    });
    proxy.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
      const code = (error.statusCode ?? 500) < 500 ? 'invalid_request' : 'unavailable';
      return sendReply(
        reply,
        engine().errorReply(
          error instanceof CharterError
            ? error
            : new CharterError(code, 'ERR_HTTP', 'the HTTP layer refused the request'),
        ),
      );
    });
    proxy.all('*', async (request: FastifyRequest, reply) => {
      const g = engine();
      const admission = request.charterProxy as Admission;
      const raw = request.raw;
      const hasBody =
        (raw.headers['content-length'] !== undefined && raw.headers['content-length'] !== '0') ||
        raw.headers['transfer-encoding'] !== undefined;
      // undici takes an EventEmitter as its abort signal: far cheaper per request than an
      // AbortController (an EventTarget), which was a measurable share of the proxy's own cost.
      const abort = Object.assign(new EventEmitter(), { aborted: false });
      reply.raw.once('close', () => {
        if (reply.raw.writableFinished) return;
        abort.aborted = true;
        abort.emit('abort');
      });
      try {
        const res = await pool.request({
          method: raw.method as 'GET',
          path: upstreamPrefix + (raw.url ?? '/'),
          headers: upstreamRequestHeaders(raw.headers, g.upstreamHeaders(admission), request.ip),
          body: hasBody ? raw : null,
          signal: abort,
        });
        return reply.code(res.statusCode).headers(clientResponseHeaders(res.headers)).send(res.body);
      } catch (e) {
        if (abort.aborted) return reply;
        logger.error(
          {
            reason: e instanceof Error ? e.message : String(e),
            path: request.url.split('?')[0]?.slice(0, 256),
          },
          'upstream failed',
        );
        return sendReply(
          reply,
          g.errorReply(new CharterError('unavailable', 'ERR_UPSTREAM', 'the upstream server did not answer')),
        );
      }
    });
  });

  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const url = urlOf(app, host, options.port ?? 0);
  let ops: { url: string; close(): Promise<void> } | undefined;
  try {
    if (options.metricsListen) ops = await startOperations(options.metricsListen, engine);
    gateway = await Gateway.create({ ...options, logger, publicUrl: options.publicUrl ?? url });
  } catch (e) {
    await ops?.close();
    await app.close();
    await pool.close();
    throw e;
  }
  const running = gateway;
  engineStarted(running);
  logger.info(
    {
      url,
      upstream: upstream.origin,
      site_id: running.license.siteId,
      license_serial: running.license.serial,
      mode: running.mode,
      ...(ops ? { metrics_url: `${ops.url}/charter/metrics` } : {}),
    },
    'gateway listening',
  );
  return {
    url,
    gateway: running,
    server: app,
    ...(ops ? { metricsUrl: ops.url } : {}),
    async close() {
      await ops?.close();
      await app.close();
      await pool.close();
      await running.close();
    },
  };
}
