/**
 * Requests as fuzz inputs for in-process Fastify apps (`inject`): a method, a target, headers and a
 * body, checked first against what node's HTTP parser lets through (a header value with CR, LF or NUL
 * never reaches the app over a socket, so it is answered as node answers it), then injected and judged.
 * Framing headers (Content-Length, Transfer-Encoding) are left to `inject`: on a socket they decide
 * where a body ends, so a mismatch cannot be sent as one request at all.
 */
import type { FastifyInstance } from 'fastify';
import { mutateText, nastyString } from './bytes.ts';
import { mutateJson } from './json.ts';
import type { Rng } from './rng.ts';
import { judgeHttp } from './target.ts';

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
