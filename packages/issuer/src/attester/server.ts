/**
 * `charter vendor attester serve`: the vendor's online attester over HTTP (Fastify). Operations like
 * the gateway's: `/healthz`, `/readyz`, Prometheus `/metrics`, JSON logs (ids and codes, never a token
 * or key), rate limits per charter and per source address, JSON schemas on every route, refusals
 * from the catalogue (`{ error, error_description }`, never a 500), and a graceful close.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CharterError, descriptionOf, httpErrorOf } from '@charter/core';
import { publicBaseOf } from '@charter/gateway';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { type Logger, pino } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Vendor } from '../vendor.ts';
import { ATTESTER_ROUTES, type AttestNotes, attest, Challenges, DEFAULT_TOKEN_TTL_S } from './attest.ts';
import type { AttesterRecords } from './records.ts';

/** Options of {@link startAttester}. */
export interface AttesterOptions {
  vendor: Vendor;
  records: AttesterRecords;
  host?: string;
  port?: number;
  /** The URL devices use (proofs name it); default `http://HOST:PORT`. */
  publicUrl?: string;
  tokenTtlS?: number;
  /** Attestations per minute per charter id, and requests per minute per source address. */
  ratePerCharterPerMin?: number;
  ratePerSourcePerMin?: number;
  logger?: Logger;
  androidRoots?: string[];
  appleRoots?: string[];
  now?: () => number;
}

/** A running attester. */
export interface RunningAttester {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Fixed-window counters in memory (per replica: a shared limit would need the records' database). */
class Windows {
  readonly #counts = new Map<string, { until: number; n: number }>();
  hit(key: string, now: number): number {
    const w = this.#counts.get(key);
    if (!w || w.until <= now) {
      if (this.#counts.size > 100_000) this.#counts.clear();
      this.#counts.set(key, { until: now + 60, n: 1 });
      return 1;
    }
    w.n += 1;
    return w.n;
  }
}

/** The catalogue's `invalid_request` as the attester answers it, for refusals no route sees. */
function invalidRequestBody(): string {
  return JSON.stringify({ error: 'invalid_request', error_description: descriptionOf('invalid_request') });
}

/**
 * What node's HTTP parser refuses (a header section over its limit, a request target that is not
 * origin-form, garbled framing): the catalogue's `invalid_request`, and `Connection: close`, since
 * the socket is ended after it (Fastify's default answers `{"error":"Request Header Fields Too
 * Large"}` / `{"error":"Bad Request"}`, no catalogue code, and destroys the socket without saying
 * so: a keep-alive client sends its next request on it and meets a reset). A HEAD request gets the
 * head only, read from the refused bytes (`rawPacket`; empty lines before the request line are
 * allowed): a body after it would be read by the client as the start of a next response.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const body = invalidRequestBody();
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  const head = Buffer.isBuffer(raw) && /^[\r\n]*HEAD /.test(raw.subarray(0, 64).toString('latin1'));
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
  );
}

/**
 * A request whose `Expect` is not `100-continue`: node would answer a bare 417 with no body (no
 * catalogue code) before any route ran. Refused as `invalid_request` (RFC 9110 §10.1.1: the 417 is a MAY).
 */
function refuseExpectation(res: ServerResponse): void {
  const body = invalidRequestBody();
  res
    .writeHead(400, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': String(Buffer.byteLength(body)),
    })
    .end(body);
}

/** Routes a load balancer or a scraper calls, out of the per-source limit. */
const OPERATIONS_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

const ERROR_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
  required: ['error', 'error_description'],
} as const;

const ATTEST_BODY_SCHEMA = {
  type: 'object',
  required: ['charter', 'site_id', 'platform'],
  properties: {
    charter: { type: 'string', minLength: 1, maxLength: 65536 },
    site_id: { type: 'string', minLength: 1, maxLength: 128 },
    platform: { type: 'string', enum: ['android', 'ios', 'web', 'server'] },
    attestation: { type: 'object' },
  },
} as const;

/** Start the attester. */
export async function startAttester(options: AttesterOptions): Promise<RunningAttester> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const logger =
    options.logger ??
    pino({ level: 'info', base: { service: 'charter-attester' } }, pino.destination({ dest: 2, sync: true }));
  const tokenTtlS = Math.min(Math.max(options.tokenTtlS ?? DEFAULT_TOKEN_TTL_S, 1), 600);
  // Fail at start, not at the first device, when the home has no attester key.
  options.vendor.attesterKey();
  const challenges = new Challenges(await options.records.secret());
  const registry = new Registry();
  const decisions = new Counter({
    name: 'charter_attester_decisions_total',
    help: 'Attestations by verdict and code',
    labelNames: ['verdict', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'charter_attester_request_duration_seconds',
    help: 'Attester request latency by route',
    labelNames: ['route'],
    registers: [registry],
  });
  const perCharter = new Windows();
  const perSource = new Windows();
  const charterLimit = options.ratePerCharterPerMin ?? 600;
  const sourceLimit = options.ratePerSourcePerMin ?? 120;

  const app = Fastify({
    logger: false,
    bodyLimit: 256 * 1024,
    trustProxy: false,
    clientErrorHandler,
    // Fastify's own refusals before routing (a request target it cannot decode, e.g. `%zz`) in the
    // catalogue's words: its default body is `{"error":"Bad Request"}` and echoes the target.
    frameworkErrors: (_error, _req, reply: FastifyReply) =>
      void reply
        .code(400)
        .header('cache-control', 'no-store')
        .send({ error: 'invalid_request', error_description: descriptionOf('invalid_request') }),
  });
  app.server.on('checkExpectation', (_req, res) => refuseExpectation(res));
  let closing = false;

  // Core's one mapper: the catalogue's text only (devices talk to this server unauthenticated),
  // Fastify's own 400/413/415 as invalid_request, anything else a logged fault.
  app.setErrorHandler((err, req, reply) => {
    const mapped = httpErrorOf(err, { expose: 'catalogue', framework: true });
    if (mapped.fault)
      logger.error(
        { err: { message: (err as Error).message }, route: req.url.slice(0, 100) },
        'unexpected failure',
      );
    void reply.code(mapped.status).header('cache-control', 'no-store').send(mapped.body);
  });
  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send({ error: 'invalid_request', error_description: 'No such endpoint.' });
  });

  app.addHook('onRequest', async (req) => {
    (req as unknown as { started: bigint }).started = process.hrtime.bigint();
    // Every request but the operations endpoints counts, read from the route the router chose: the
    // request target can spell a route otherwise (`/%61ttester/v1/attest` is routed to the attest
    // route but does not start with `/attester/`), and a path no route has counts too.
    if (!OPERATIONS_ROUTES.has(req.routeOptions.url ?? '') && perSource.hit(req.ip, now()) > sourceLimit) {
      decisions.inc({ verdict: 'refused', code: 'rate_limited' });
      throw new CharterError('rate_limited', 'ERR_RATE_SOURCE', 'too many requests from this address');
    }
  });
  app.addHook('onResponse', async (req) => {
    const started = (req as unknown as { started?: bigint }).started;
    if (started !== undefined)
      duration.observe(
        { route: req.routeOptions.url ?? 'unknown' },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
  });

  app.get(
    '/healthz',
    { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }),
  );
  app.get('/readyz', async (_req, reply) => {
    try {
      if (closing) throw new Error('closing');
      await options.records.ping();
      options.vendor.attesterKey();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ error: 'unavailable', error_description: descriptionOf('unavailable') });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  app.post(
    ATTESTER_ROUTES.challenge,
    {
      schema: {
        response: {
          200: { type: 'object', properties: { nonce: { type: 'string' }, expires_in: { type: 'integer' } } },
          '4xx': ERROR_SCHEMA,
        },
      },
    },
    async (_req, reply) => {
      reply.header('cache-control', 'no-store');
      return challenges.issue(now());
    },
  );

  app.get(ATTESTER_ROUTES.jwks, async () => {
    // The attester key as a JWK Set, for an OAuth server that takes these tokens as client attestations.
    const { kid } = options.vendor.attesterKey();
    return { keys: [{ ...options.vendor.publicJwkOf(kid), kid, alg: 'EdDSA', use: 'sig' }] };
  });

  app.post(
    ATTESTER_ROUTES.attest,
    {
      schema: {
        body: ATTEST_BODY_SCHEMA,
        response: {
          200: {
            type: 'object',
            properties: { attester_token: { type: 'string' }, expires_in: { type: 'integer' } },
          },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      const notes: AttestNotes = {};
      const body = req.body as Record<string, unknown>;
      // Per-charter limit keyed by a hash of the presented charter (verified or not: a flood of one
      // copied charter is stopped before any signature work).
      const charterKey = createHash('sha256').update(String(body.charter)).digest('base64url');
      try {
        if (perCharter.hit(charterKey, now()) > charterLimit)
          throw new CharterError(
            'rate_limited',
            'ERR_RATE_CHARTER',
            'too many attestations for this charter',
          );
        const dpop = req.headers.dpop;
        const result = await attest(
          {
            vendor: options.vendor,
            records: options.records,
            base,
            tokenTtlS,
            now,
            ...(options.androidRoots ? { androidRoots: options.androidRoots } : {}),
            ...(options.appleRoots ? { appleRoots: options.appleRoots } : {}),
          },
          challenges,
          body,
          typeof dpop === 'string' ? dpop : undefined,
          notes,
        );
        decisions.inc({ verdict: 'issued', code: 'ok' });
        logger.info({ event: 'attester.issued', ...notes }, 'attester token issued');
        return result;
      } catch (e) {
        const { error: err, fault } = httpErrorOf(e, { expose: 'catalogue' });
        if (fault) logger.error({ err: { message: (e as Error).message } }, 'unexpected failure');
        decisions.inc({ verdict: 'refused', code: err.code });
        logger.info({ event: 'attester.refused', code: err.code, detail: err.detail, ...notes }, err.message);
        if (
          notes.site_id &&
          err.code !== 'rate_limited' &&
          err.code !== 'use_dpop_nonce' &&
          err.code !== 'invalid_request'
        ) {
          await options.records
            .add({
              at: now(),
              site_id: notes.site_id,
              app_id: notes.app_id ?? null,
              charter_id: notes.charter_id ?? null,
              platform: notes.platform ?? null,
              jkt: notes.jkt ?? null,
              verdict: 'refused',
              jti: null,
              code: err.code,
              evidence: null,
            })
            .catch(() => undefined);
        }
        throw err;
      }
    },
  );

  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (options.port ?? 0);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const base = publicBaseOf(options.publicUrl ?? url);
  logger.info({ event: 'attester.start', url, public_url: base.href }, 'attester listening');
  return {
    url,
    app,
    async close() {
      closing = true;
      await app.close();
      await options.records.close();
    },
  };
}
