/**
 * Requests as fuzz inputs for in-process Fastify apps (`inject`): a method, a target, headers and a
 * body, checked first against what node's HTTP parser lets through (a header value with CR, LF or NUL
 * never reaches the app over a socket, so it is answered as node answers it), then injected and judged.
 * Framing headers (Content-Length, Transfer-Encoding) are left to `inject`: on a socket they decide
 * where a body ends, so a mismatch cannot be sent as one request at all.
 */
import { Agent, request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { MAX_MUTATED, mutateText, nastyString } from './bytes.ts';
import { mutateJson } from './json.ts';
import type { Rng } from './rng.ts';
import { Finding, judgeHttp } from './target.ts';

export interface HttpInput {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  body?: string | Uint8Array;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;

/** Whether node's HTTP parser would let the request through to the app at all. */
export function reachesApp(r: HttpInput): boolean {
  if (!TOKEN.test(r.method) || !TARGET.test(r.url)) return false;
  for (const [k, v] of Object.entries(r.headers)) {
    if (!TOKEN.test(k)) return false;
    for (const x of Array.isArray(v) ? v : [v])
      if (typeof x !== 'string' || !HEADER_VALUE.test(x)) return false;
  }
  return true;
}

/** Inject `r` into `app` and judge the answer; `before` runs first (fresh proofs, nonces). */
export async function inject(
  app: FastifyInstance,
  r: HttpInput,
  allowed5xx?: ReadonlySet<string>,
): Promise<string> {
  if (!reachesApp(r)) return 'refused_by_http_parser';
  const res = await app.inject({
    method: r.method as 'GET',
    url: r.url,
    headers: r.headers,
    ...(r.body !== undefined ? { payload: typeof r.body === 'string' ? r.body : Buffer.from(r.body) } : {}),
  });
  return judgeHttp(
    { statusCode: res.statusCode, body: res.body, headers: res.headers },
    allowed5xx,
    r.method === 'HEAD',
  );
}

/**
 * Send `r` to a listening server over a real loopback socket and judge the answer, as a client would
 * meet it: through node's HTTP parser, the server's request listener (the gateway's lean proxy path,
 * which `inject` never reaches: it calls the Fastify app directly) and its connection handling. Headers
 * go as written (a flat list, so a name repeated in other case stays two lines); Host is added when the
 * input has none, Content-Length when it has a body (framing is not fuzzed, as with `inject`). A
 * connection cut without an answer is a crash: a client would see a reset, not a refusal.
 */
export async function send(
  agent: Agent,
  base: string,
  r: HttpInput,
  allowed5xx?: ReadonlySet<string>,
): Promise<string> {
  if (!reachesApp(r)) return 'refused_by_http_parser';
  // node's server hands CONNECT to a 'connect' listener, never to the request handler: with none it
  // closes the socket. Nothing of the app runs, as for a request its parser refuses.
  if (r.method === 'CONNECT') return 'refused_by_http_parser';
  const u = new URL(base);
  const headers: string[] = [];
  let host = false;
  for (const [k, v] of Object.entries(r.headers)) {
    if (k.toLowerCase() === 'host') host = true;
    for (const x of Array.isArray(v) ? v : [v]) headers.push(k, x);
  }
  if (!host) headers.push('host', u.host);
  const body =
    r.body === undefined ? undefined : typeof r.body === 'string' ? Buffer.from(r.body) : Buffer.from(r.body);
  if (body !== undefined) headers.push('content-length', String(body.length));
  const res = await new Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request(
        { agent, host: u.hostname, port: u.port, method: r.method, path: r.url, headers, setHost: false },
        (m) => {
          const chunks: Buffer[] = [];
          m.on('data', (c: Buffer) => chunks.push(c));
          m.on('end', () =>
            resolve({
              statusCode: m.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: m.headers,
            }),
          );
          m.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    },
  ).catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    throw new Finding(
      'crash',
      `the server cut the connection without a complete answer: ${err?.code ?? ''} ${err?.message ?? e}`,
    );
  });
  return judgeHttp(res, allowed5xx, r.method === 'HEAD');
}

/** A keep-alive agent for {@link send}: one connection, dropped when idle long before the server would. */
export function wireAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1, timeout: 10_000 });
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=latin1',
  'application/jsonx',
  '',
  'application/merge-patch+json',
];

/** A JSON body mutated structurally, as text, or replaced; with the content type sometimes changed. */
export function mutateBody(
  rng: Rng,
  doc: unknown,
  others: readonly unknown[] = [],
): { body: string; type?: string } {
  const r = rng.int(100);
  let body: string;
  if (r < 70) body = mutateJson(rng, doc, others);
  else if (r < 85) body = mutateText(rng, JSON.stringify(doc));
  else if (r < 90) body = '';
  else if (r < 95)
    body = rng.pick(['null', '[]', '1', '"x"', 'true', '{}', '{"a":', '\u0000', nastyString(rng)]);
  else body = JSON.stringify(doc);
  // Capped as every mutated output is (a string repeated inside a repeated node can reach hundreds of
  // MB): above each endpoint's own body limit, and still an input that can be sent and written out.
  if (body.length > MAX_MUTATED) body = body.slice(0, MAX_MUTATED);
  const type = rng.chance(0.1) ? rng.pick(CONTENT_TYPES) : undefined;
  return { body, ...(type !== undefined ? { type } : {}) };
}

/** Header-level damage: a header repeated, removed, emptied, made huge, or a stray one added. */
export function mutateHeaders(
  rng: Rng,
  headers: Record<string, string | string[]>,
): Record<string, string | string[]> {
  const out = { ...headers };
  const names = Object.keys(out);
  switch (rng.int(8)) {
    case 0: {
      const k = rng.pick(names);
      if (k) out[k] = [String(out[k]), String(out[k])];
      break;
    }
    case 1: {
      const k = rng.pick(names);
      if (k) delete out[k];
      break;
    }
    case 2: {
      const k = rng.pick(names);
      if (k) out[k] = '';
      break;
    }
    case 3: {
      const k = rng.pick(names);
      if (k) out[k] = `${String(out[k])}${'A'.repeat(rng.pick([100, 9000]))}`;
      break;
    }
    case 4:
      out[
        rng.pick([
          'charter-app-id',
          'charter-instance-id',
          'charter-scope',
          'x-forwarded-for',
          'x-forwarded-host',
          'forwarded',
          'x-http-method-override',
          'origin',
          'host',
          'cookie',
          'expect',
          'charter-dpop',
          'charter-token',
          'accept-encoding',
        ])
      ] = rng.pick([
        'x',
        '1',
        '127.0.0.1',
        'https://beta.example',
        'null',
        'chunked',
        '100-continue',
        '0',
        'DELETE',
        'app_beta',
        nastyString(rng),
      ]);
      break;
    case 5: {
      const k = rng.pick(names);
      if (k) out[k] = mutateText(rng, String(out[k]));
      break;
    }
    case 6: {
      // The same name in other case: node folds it, a naive reader would not.
      const k = rng.pick(names);
      if (k) out[k.toUpperCase()] = String(out[k]);
      break;
    }
    default:
      break;
  }
  return out;
}

/** Request targets a router or a path canonicaliser can trip on. */
export function mutatePath(rng: Rng, path: string): string {
  return rng.pick([
    path,
    `${path}/`,
    `${path}?x=1`,
    `${path}?${'a=1&'.repeat(500)}`,
    `${path}#frag`,
    path.toUpperCase(),
    path.replace(/\//g, '//'),
    path.replace(/\//g, '/%2F'),
    `${path}/..`,
    `/x/..${path}`,
    `${path}%00`,
    `${path}%`,
    `${path}%zz`,
    path.replace(/a/g, '%61'),
    `${path};x=1`,
    `/${'a/'.repeat(300)}`,
    '*',
    'http://evil.example/orders',
    `${path}?%ff`,
    mutateText(rng, path),
  ]);
}
