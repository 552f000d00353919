/** The framework-neutral shape of an HTTP request that every adapter hands to the engine. */
import { CharterError } from '@charter/core';

/** Request headers with lowercase names, as node's `IncomingHttpHeaders` has them. */
export type CharterHeaders = Record<string, string | string[] | undefined>;

/** A request as the engine sees it: method, raw path and query, headers, and an optional body. */
export interface CharterRequest {
  method: string;
  /** The request target as received: path and query, e.g. `/orders/1?x=2`. */
  url: string;
  headers: CharterHeaders;
  /** A raw body (Buffer or string), or a value a host framework has already parsed. */
  body?: unknown;
  /** The peer address, for logs only. */
  ip?: string;
}

/** The longest header value the engine reads; longer values are refused rather than parsed. */
export const MAX_HEADER_CHARS = 8192;

/**
 * The single value of a header, or undefined when absent. A repeated header is refused: RFC 9449
 * §4.3 wants exactly one `DPoP`, and two `Authorization` values would let a proxy and the gateway
 * disagree about which one counts.
 */
export function headerOf(
  req: CharterRequest,
  name: string,
  code: 'invalid_request' | 'invalid_dpop_proof' | 'invalid_token' = 'invalid_request',
): string | undefined {
  const value = req.headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    if (value.length > 1)
      throw new CharterError(code, 'ERR_HEADER_REPEATED', `the ${name} header is repeated`);
    return checkLength(value[0] as string, name, code);
  }
  return checkLength(value, name, code);
}

function checkLength(
  value: string,
  name: string,
  code: 'invalid_request' | 'invalid_dpop_proof' | 'invalid_token',
): string {
  if (value.length > MAX_HEADER_CHARS)
    throw new CharterError(code, 'ERR_HEADER_SIZE', `the ${name} header is too long`);
  return value;
}

/** The path of a request target without its query, or undefined when the target is not origin-form. */
export function pathOf(url: string): string | undefined {
  if (!url.startsWith('/')) return undefined;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
