/**
 * Header hygiene at the proxy boundary. Upstream must only ever see Charter identity headers the
 * gateway set, never the client's credentials (token and proof are for the gateway), and neither
 * side may receive the other's hop-by-hop headers (RFC 9110 §7.6.1).
 */
import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * A header name as servers that fold names read it: lower case, and every character but letters and
 * digits as `-`. CGI and WSGI turn `Charter-Scope` and `Charter_Scope` into the same
 * `HTTP_CHARTER_SCOPE` (RFC 3875 §4.1.18), and some frameworks fold `.` the same way, so a decision
 * about a name is made on this form, never on the name as sent.
 */
export function foldHeaderName(name: string): string {
  let folded = folds.get(name);
  if (folded === undefined) {
    folded = name.toLowerCase().replace(/[^a-z0-9]/g, '-');
    // Requests repeat the same few names; the bound keeps a flood of invented names from growing it.
    if (folds.size >= MAX_FOLDS) folds.clear();
    folds.set(name, folded);
  }
  return folded;
}

const folds = new Map<string, string>();
const MAX_FOLDS = 1000;

/** True for a name that folds to a Charter header (`Charter-Scope`, `charter_scope`, `CHARTER.APP.ID`…). */
export function isCharterHeaderName(name: string): boolean {
  return foldHeaderName(name).startsWith('charter-');
}

/**
 * Remove every header whose name folds to a Charter header from a node request, from both
 * `headers` and `rawHeaders`: in library mode the host (or a server it forwards to) must never read
 * a client's `Charter_Scope` as the gateway's word.
 */
export function stripCharterHeaders(req: { headers: IncomingHttpHeaders; rawHeaders?: string[] }): void {
  for (const name of Object.keys(req.headers)) if (isCharterHeaderName(name)) delete req.headers[name];
  const raw = req.rawHeaders;
  if (!raw) return;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (isCharterHeaderName(raw[i] as string)) raw.splice(i, 2);
  }
}

/** True for a hop-by-hop header name (lower case), which neither side may pass on. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/** Names a `Connection` header lists (folded), which are hop-by-hop for this hop too. */
export function connectionListed(value: string | string[] | undefined): ReadonlySet<string> {
  // The common values name nothing beyond the hop-by-hop set itself.
  if (value === undefined || value === 'keep-alive') return NONE;
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    text
      .split(',')
      .map((s) => foldHeaderName(s.trim()))
      .filter(Boolean),
  );
}

const NONE: ReadonlySet<string> = new Set();

/** Names the gateway sets upstream itself (besides `Charter-*`): a client's spelling of them is dropped. */
const GATEWAY_SET = new Set(['x-forwarded-for']);

/**
 * Headers for the upstream request: the client's, minus hop-by-hop, `Host`, `Expect`,
 * `Authorization`, `DPoP` and every `Charter-*`, each matched on the folded name (so
 * `Charter_Scope` and `Transfer_Encoding` go too), minus any spelling of a header the gateway sets
 * other than the exact one (`X_Forwarded_For`), plus `added` (the gateway's Charter headers).
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  added: Record<string, string>,
  clientIp?: string,
): Record<string, string | string[]> {
  const listed = connectionListed(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    const n = name.toLowerCase();
    const f = foldHeaderName(n);
    if (
      HOP_BY_HOP.has(f) ||
      listed.has(f) ||
      f === 'host' ||
      f === 'expect' ||
      f === 'authorization' ||
      f === 'dpop' ||
      f.startsWith('charter-') ||
      (GATEWAY_SET.has(f) && n !== f)
    )
      continue;
    out[n] = value;
  }
  if (clientIp) {
    const prior = incoming['x-forwarded-for'];
    out['x-forwarded-for'] = prior
      ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${clientIp}`
      : clientIp;
  }
  return Object.assign(out, added);
}

/** Headers for the client from an upstream response: minus hop-by-hop ones. */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const listed = connectionListed(upstream.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || listed.has(n)) continue;
    out[n] = value;
  }
  return out;
}
