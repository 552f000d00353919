/**
 * Reading gateway responses. Every way a response can be wrong ends in a {@link CharterError}, never
 * a TypeError or SyntaxError, so callers need one `catch` and one `switch (e.code)`.
 *
 * Mapping (the detail codes are in docs/errors.md):
 * - `{ error, error_description }` with a catalogued code → that code, detail `ERR_SERVER`,
 *   message = the server's description (control characters removed, truncated).
 * - an error status without a catalogued code (a proxy page, an unknown code) → by status:
 *   401 `invalid_token`, 429 `rate_limited`, 5xx `unavailable`, else `invalid_request`;
 *   detail `ERR_SERVER_UNRECOGNISED`. A `WWW-Authenticate: DPoP error="…"` code is used when present.
 * - a success status whose body is not the documented JSON → `unavailable`, detail
 *   `ERR_CLIENT_BAD_RESPONSE`: nothing about the caller's request was judged, whatever answered is not a
 *   working gateway (a captive portal, a misrouted proxy), so the remedy is the same as an outage.
 */
import { CharterError, type ErrorCode, isErrorCode } from './core.ts';
import { utf8 } from './encoding.ts';

/** Protocol responses are small; more than this is not a gateway talking. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** The response of `POST /charter/v1/challenge`. */
export interface ChallengeResponse {
  nonce: string;
  expires_in: number;
}

/** The response of `POST /charter/v1/register`. */
export interface RegisterResponse {
  instance_id: string;
  app_id: string;
  scopes: string[];
}

/** The response of `POST /charter/v1/token`. */
export interface TokenResponse {
  access_token: string;
  token_type: 'DPoP';
  expires_in: number;
  scope: string;
}

/** The protocol endpoints whose success bodies {@link interpretResponse} knows. */
export type Endpoint = 'challenge' | 'register' | 'token';

/** RFC 9449 §8.1 / RFC 6749 NQCHAR: the characters a nonce may use (it goes into JSON and a hash). */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;
/** RFC 6750 b64token: what may follow `DPoP ` in an Authorization header. */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Identifiers the gateway hands out: printable ASCII without spaces. */
const IDENT = /^[\x21-\x7e]{1,512}$/;

function badResponse(what: string): CharterError {
  return new CharterError('unavailable', 'ERR_CLIENT_BAD_RESPONSE', `unexpected gateway response: ${what}`);
}

/** A usable nonce, or undefined: header values that are not valid nonces are ignored, not trusted. */
export function validNonce(value: unknown): string | undefined {
  return typeof value === 'string' && NONCE.test(value) ? value : undefined;
}

/** The `error` parameter of a `WWW-Authenticate` header, if it names a catalogued code. */
export function wwwAuthenticateError(header: string | null): ErrorCode | undefined {
  if (!header) return undefined;
  const m = /(?:^|[\s,])error\s*=\s*(?:"([^"]*)"|([A-Za-z0-9_]+))/.exec(header);
  const code = m?.[1] ?? m?.[2];
  return isErrorCode(code) ? code : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function cleanDescription(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // Server text ends up in logs and UIs: no control characters, bounded length.
  const clean = value.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return clean ? clean.slice(0, 300) : undefined;
}

/** The CharterError an error response stands for (status >= 400, or an `error` member at any status). */
export function errorFromResponse(status: number, headers: Headers, bodyText: string): CharterError {
  const body = asObject(parseJson(bodyText));
  const fromBody = body?.error;
  const code = isErrorCode(fromBody) ? fromBody : wwwAuthenticateError(headers.get('www-authenticate'));
  if (code) {
    return new CharterError(
      code,
      'ERR_SERVER',
      cleanDescription(body?.error_description) ?? `gateway refused: ${code}`,
    );
  }
  const fallback: ErrorCode =
    status === 401
      ? 'invalid_token'
      : status === 429
        ? 'rate_limited'
        : status >= 500
          ? 'unavailable'
          : 'invalid_request';
  return new CharterError(
    fallback,
    'ERR_SERVER_UNRECOGNISED',
    `gateway answered HTTP ${status} without a Charter error code`,
  );
}

/** True when a response asks for a (new) DPoP nonce: RFC 9449 §8 `use_dpop_nonce`, on 400 or 401. */
export function isUseDpopNonce(status: number, headers: Headers, bodyText: string | undefined): boolean {
  if (status !== 400 && status !== 401) return false;
  if (wwwAuthenticateError(headers.get('www-authenticate')) === 'use_dpop_nonce') return true;
  return bodyText !== undefined && asObject(parseJson(bodyText))?.error === 'use_dpop_nonce';
}

function str(o: Record<string, unknown>, key: string, pattern: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || !pattern.test(v)) throw badResponse(`${key} is missing or malformed`);
  return v;
}

function positive(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw badResponse(`${key} must be a positive number`);
  return v;
}

/** Interpret a complete protocol response: the typed success body, or a thrown CharterError. */
export function interpretResponse(
  endpoint: 'challenge',
  status: number,
  headers: Headers,
  bodyText: string,
): ChallengeResponse;
export function interpretResponse(
  endpoint: 'register',
  status: number,
  headers: Headers,
  bodyText: string,
): RegisterResponse;
export function interpretResponse(
  endpoint: 'token',
  status: number,
  headers: Headers,
  bodyText: string,
): TokenResponse;
export function interpretResponse(
  endpoint: Endpoint,
  status: number,
  headers: Headers,
  bodyText: string,
): ChallengeResponse | RegisterResponse | TokenResponse;
export function interpretResponse(
  endpoint: Endpoint,
  status: number,
  headers: Headers,
  bodyText: string,
): ChallengeResponse | RegisterResponse | TokenResponse {
  if (status < 200 || status > 299) throw errorFromResponse(status, headers, bodyText);
  const o = asObject(parseJson(bodyText));
  if (!o) throw badResponse('the body is not a JSON object');
  switch (endpoint) {
    case 'challenge':
      return { nonce: str(o, 'nonce', NONCE), expires_in: positive(o, 'expires_in') };
    case 'register': {
      const scopes = o.scopes ?? [];
      if (
        !Array.isArray(scopes) ||
        scopes.length > 1000 ||
        !scopes.every((s) => typeof s === 'string' && IDENT.test(s))
      ) {
        throw badResponse('scopes must be an array of strings');
      }
      return {
        instance_id: str(o, 'instance_id', IDENT),
        app_id: str(o, 'app_id', IDENT),
        scopes: scopes as string[],
      };
    }
    case 'token': {
      const access_token = str(o, 'access_token', TOKEN68);
      if (access_token.length > 16 * 1024) throw badResponse('access_token is too long');
      // Only DPoP: accepting `Bearer` would let a downgraded server issue tokens usable without the key.
      if (typeof o.token_type !== 'string' || o.token_type.toLowerCase() !== 'dpop')
        throw badResponse('token_type is not DPoP');
      const scope = o.scope ?? '';
      if (typeof scope !== 'string') throw badResponse('scope must be a string');
      return { access_token, token_type: 'DPoP', expires_in: positive(o, 'expires_in'), scope };
    }
  }
}

/**
 * The body text of a response, at most `limit` bytes, decoded as UTF-8. A bigger body or a stream
 * that breaks becomes `unavailable` rather than an unbounded read.
 */
export async function readBodyText(response: Response, limit = MAX_RESPONSE_BYTES): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw badResponse('the body is too large');
  }
  if (!response.body) {
    // React Native's fetch has no body streams: read the text whole, then apply the same limit.
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      throw new CharterError(
        'unavailable',
        'ERR_CLIENT_NETWORK',
        'the gateway connection broke while reading a response',
        { cause },
      );
    }
    if (utf8(text).length > limit) throw badResponse('the body is too large');
    return text;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw badResponse('the body is too large');
      }
      chunks.push(value);
    }
  } catch (cause) {
    if (cause instanceof CharterError) throw cause;
    throw new CharterError(
      'unavailable',
      'ERR_CLIENT_NETWORK',
      'the gateway connection broke while reading a response',
      {
        cause,
      },
    );
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  return new TextDecoder().decode(all);
}
