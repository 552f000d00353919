/**
 * CORS (Fetch standard) decided by vendor-signed data. The origins a browser may call from are the
 * `web_origins` the installed license lists for the apps it admits (filled by `vendor license issue`
 * from the apps' approved charters), minus revoked apps, intersected with an optional local list
 * (which can only narrow). The gateway owns CORS on the paths it answers or protects: preflights are
 * answered here and never reach admission or upstream, and the upstream's own `Access-Control-*`
 * headers are replaced, so an upstream that says `*` cannot widen what the license allows.
 */
import type { ServerResponse } from 'node:http';
import { CharterError, isCanonicalOrigin } from '@charter/core';
import { PATHS } from './context.ts';
import { CHARTER_REQUEST_HEADERS } from './credentials.ts';
import type { SiteLicense } from './license.ts';
import { type GatewayReply, refusalReply, type WireRefusal } from './reply.ts';
import { type CharterRequest, headerOf, pathOf } from './request.ts';

/** Methods a cross-origin app may use: the Charter endpoints' and an ordinary REST API's. */
export const CORS_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
/**
 * Request headers a cross-origin app may send: Charter's credentials (both forms, credentials.ts)
 * and a JSON body's type. (Headers the CORS-safelist already covers need no listing.)
 */
export const CORS_REQUEST_HEADERS: readonly string[] = [...CHARTER_REQUEST_HEADERS, 'content-type'];
/** Response headers the SDK must read: the next nonce, the error of a 401, and whose refusal it was (credentials.ts). */
export const CORS_EXPOSED_HEADERS: readonly string[] = ['DPoP-Nonce', 'WWW-Authenticate', 'Charter-Refusal'];
/**
 * How long a browser may cache a preflight answer. Short, so a license that drops an origin is felt
 * soon in the browser too; the actual responses lose `Access-Control-Allow-Origin` at once.
 */
export const PREFLIGHT_MAX_AGE_S = 300;

/** The web origins a license allows: those of the apps it admits and does not revoke. */
export function licenseWebOrigins(license: Pick<SiteLicense, 'claims' | 'revoked'>): Set<string> {
  const out = new Set<string>();
  for (const app of license.claims.apps) {
    if (license.revoked.apps.has(app.app_id)) continue;
    for (const o of app.web_origins ?? []) out.add(o);
  }
  return out;
}

/**
 * True for the paths whose CORS the gateway decides: its own API (`/.well-known/charter`,
 * `/charter/v1/*`) and everything it protects. The rest of the reserved `/charter/` prefix (admin
 * console, metrics, health) is same-origin only.
 */
export function isCorsPath(url: string): boolean {
  const raw = pathOf(url);
  if (raw === undefined) return false;
  // Decided on the decoded path too, since a router may decode before matching: `/%63harter/admin`
  // must not get CORS if it reaches the console. Undecodable paths, dot segments and backslashes
  // (refused as requests anyway) get none.
  let path = raw;
  if (raw.includes('%')) {
    try {
      path = decodeURIComponent(raw);
    } catch {
      return false;
    }
  }
  if (path.includes('\\') || (path.includes('/.') && path.split('/').some((s) => s === '.' || s === '..')))
    return false;
  if (path === PATHS.wellKnown || (path.startsWith('/charter/v1/') && raw.startsWith('/charter/v1/')))
    return true;
  return !path.startsWith('/charter/') && !raw.startsWith('/charter/');
}

/** True for a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`. */
export function isPreflight(req: CharterRequest): boolean {
  return (
    req.method.toUpperCase() === 'OPTIONS' &&
    req.headers.origin !== undefined &&
    req.headers['access-control-request-method'] !== undefined
  );
}

/** What a preflight was answered, for the metric and the log line. */
export interface PreflightOutcome {
  allowed: boolean;
  /** The refusal, when refused. */
  error?: CharterError;
}

/**
 * The request's `Origin` when it is one the set allows, else undefined. Exact string comparison:
 * browsers send the canonical serialisation, and the license holds canonical origins only, so any
 * other spelling (case, trailing slash, default port, `null`) is simply not in the set.
 */
export function allowedOrigin(req: CharterRequest, origins: ReadonlySet<string>): string | undefined {
  let origin: string | undefined;
  try {
    origin = headerOf(req, 'origin');
  } catch {
    return undefined;
  }
  return origin !== undefined && origins.has(origin) ? origin : undefined;
}

const VARY_PREFLIGHT = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

/**
 * Answer a preflight: 204 with the allowed methods and headers for an allowed origin on a CORS
 * path asking for a method and headers Charter allows; otherwise the catalogued refusal (403
 * `platform_mismatch` for an origin no admitted charter lists, 400 `invalid_request` for a method,
 * headers or path outside what is allowed), without any `Access-Control-Allow-*` header, so the
 * browser blocks the request it was asking about.
 */
export function answerPreflight(
  req: CharterRequest,
  origins: ReadonlySet<string>,
): { reply: GatewayReply; outcome: PreflightOutcome } {
  const refuse = (error: WireRefusal) => {
    const reply = refusalReply(error);
    reply.headers.vary = VARY_PREFLIGHT;
    return { reply, outcome: { allowed: false, error } };
  };
  const origin = allowedOrigin(req, origins);
  if (origin === undefined)
    return refuse(
      new CharterError(
        'platform_mismatch',
        'ERR_CORS_ORIGIN',
        'the Origin is not one that an app admitted by the license runs at',
      ),
    );
  if (!isCorsPath(req.url))
    return refuse(new CharterError('invalid_request', 'ERR_CORS_PATH', 'this path is same-origin only'));
  let method: string | undefined;
  let asked: string | undefined;
  try {
    method = headerOf(req, 'access-control-request-method');
    asked = headerOf(req, 'access-control-request-headers');
  } catch (e) {
    return refuse(e as WireRefusal);
  }
  // Fetch compares methods byte for byte (only the six standard names are upper-cased by browsers).
  if (method === undefined || !CORS_METHODS.includes(method))
    return refuse(
      new CharterError('invalid_request', 'ERR_CORS_METHOD', 'the method is not one allowed cross-origin'),
    );
  const names = (asked ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (names.some((h) => !CORS_REQUEST_HEADERS.includes(h)))
    return refuse(
      new CharterError(
        'invalid_request',
        'ERR_CORS_HEADERS',
        'a requested header is not one allowed cross-origin',
      ),
    );
  const headers: Record<string, string> = {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': CORS_METHODS.join(', '),
    'access-control-allow-headers': CORS_REQUEST_HEADERS.join(', '),
    'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
    vary: VARY_PREFLIGHT,
    'cache-control': 'no-store',
  };
  // Chromium's Private Network Access: a licensed web app on the internet calling an on-premise
  // gateway on a private address asks this too. Granted to licensed origins only, like the rest.
  if (req.headers['access-control-request-private-network'] === 'true')
    headers['access-control-allow-private-network'] = 'true';
  return { reply: { kind: 'reply', status: 204, headers, body: undefined }, outcome: { allowed: true } };
}

/**
 * The CORS headers of an actual response on a CORS path: always `Vary: Origin` (the answer depends
 * on it), and for an allowed origin `Access-Control-Allow-Origin` with the exposed headers. Never
 * `Access-Control-Allow-Credentials`: Charter's credentials are headers, not cookies.
 */
export function corsResponseHeaders(
  req: CharterRequest,
  origins: ReadonlySet<string>,
): Record<string, string> {
  if (!isCorsPath(req.url)) return {};
  const origin = allowedOrigin(req, origins);
  if (origin === undefined) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(', '),
    vary: 'Origin',
  };
}

function listOf(value: string | string[] | number | undefined): string[] {
  if (value === undefined) return [];
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Put the gateway's CORS headers on a response from upstream (or from the host app in library
 * mode): every `Access-Control-*` header of the upstream is removed, so it is never duplicated and
 * never widens the origins; the upstream's own `Access-Control-Expose-Headers` names are kept (added
 * to Charter's) for an allowed origin, since which of its headers a page may read is the upstream's
 * business, but `*` is dropped; `Origin` is added to `Vary` once (unless `Vary: *`).
 */
export function mergeCorsHeaders(
  upstream: Record<string, string | string[] | number | undefined>,
  cors: Record<string, string>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  let exposed: string[] = [];
  let vary: string[] = [];
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (n === 'access-control-expose-headers') exposed = listOf(value).filter((h) => h !== '*');
    else if (n === 'vary') vary = listOf(value);
    else if (!n.startsWith('access-control-')) out[n] = Array.isArray(value) ? value : String(value);
  }
  if (cors['access-control-allow-origin'] !== undefined) {
    out['access-control-allow-origin'] = cors['access-control-allow-origin'];
    const names = [...CORS_EXPOSED_HEADERS];
    for (const h of exposed) if (!names.some((x) => x.toLowerCase() === h.toLowerCase())) names.push(h);
    out['access-control-expose-headers'] = names.join(', ');
  }
  if (cors.vary !== undefined && !vary.some((v) => v === '*' || v.toLowerCase() === 'origin'))
    vary.push('Origin');
  if (vary.length > 0) out.vary = vary.join(', ');
  return out;
}

/**
 * {@link mergeCorsHeaders} for a header object the caller owns, with lower-case names (the proxy
 * path's, read from the upstream's raw list): the usual answer to a request without an allowed
 * origin (no `Access-Control-*` or `Vary` from the upstream, nothing to add but `Vary: Origin`) is
 * made in place; anything else goes through the merge.
 */
export function mergeCorsHeadersInto(
  headers: Record<string, string | string[]>,
  cors: Record<string, string>,
): Record<string, string | string[]> {
  if (cors['access-control-allow-origin'] !== undefined) return mergeCorsHeaders(headers, cors);
  for (const n in headers)
    if (n === 'vary' || n.startsWith('access-control-')) return mergeCorsHeaders(headers, cors);
  if (cors.vary !== undefined) headers.vary = 'Origin';
  return headers;
}

/** Check an operator's narrowing list: canonical origins only (the ones browsers send). */
export function checkCorsNarrowing(origins: readonly string[]): void {
  for (const o of origins)
    if (!isCanonicalOrigin(o))
      throw new CharterError(
        'invalid_request',
        'ERR_CORS_NARROWING',
        `${JSON.stringify(o).slice(0, 80)} is not an origin in the form browsers send (scheme://host[:port], lowercase, no path)`,
      );
}

/**
 * Give the response written to `res` the gateway's CORS headers, whoever writes it and whatever
 * ran before (the host app, its CORS middleware or hooks, in any order): `writeHead`, which node
 * also calls implicitly and Fastify calls with its headers, folds its headers in and then replaces
 * every `Access-Control-*` (merged as {@link mergeCorsHeaders} says; `exact` for a preflight answer,
 * which keeps exactly the gateway's).
 */
export function corsOnWrite(res: ServerResponse, cors: Record<string, string>, exact = false): void {
  const writeHead = res.writeHead;
  const patched = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    const reason = typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
    const given = rest[0];
    if (Array.isArray(given)) {
      // Raw pairs, flat ([k, v, k, v]) or nested ([[k, v]]).
      const flat = given.length > 0 && Array.isArray(given[0]) ? given.flat() : given;
      for (let i = 0; i + 1 < flat.length; i += 2) this.setHeader(String(flat[i]), flat[i + 1] as string);
    } else if (given && typeof given === 'object') {
      for (const [k, v] of Object.entries(given)) if (v !== undefined) this.setHeader(k, v as string);
    }
    const current = this.getHeaders();
    for (const name of Object.keys(current))
      if (name.startsWith('access-control-') || name === 'vary') this.removeHeader(name);
    const wanted = exact ? cors : mergeCorsHeaders(current, cors);
    for (const [name, value] of Object.entries(wanted))
      if (name.startsWith('access-control-') || name === 'vary') this.setHeader(name, value);
    return reason === undefined
      ? writeHead.call(this, status)
      : (writeHead as (s: number, r: string) => ServerResponse).call(this, status, reason);
  };
  res.writeHead = patched as ServerResponse['writeHead'];
}
