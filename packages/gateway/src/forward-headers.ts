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

/** Names a `Connection` header lists, which are hop-by-hop for this hop too. */
function connectionListed(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    text
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Headers for the upstream request: the client's, minus hop-by-hop, `Host`, `Expect`,
 * `Authorization`, `DPoP` and every `Charter-*`, plus `added` (the gateway's Charter headers).
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  added: Record<string, string>,
  clientIp?: string,
): Record<string, string | string[]> {
  const listed = connectionListed(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (
      HOP_BY_HOP.has(n) ||
      listed.has(n) ||
      n === 'host' ||
      n === 'expect' ||
      n === 'authorization' ||
      n === 'dpop' ||
      n.startsWith('charter-')
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
  return { ...out, ...added };
}

/** Headers for the client from an upstream response: minus hop-by-hop ones. */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const listed = connectionListed(upstream.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || listed.has(n)) continue;
    out[n] = value;
  }
  return out;
}
