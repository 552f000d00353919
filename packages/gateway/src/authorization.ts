/** The `Authorization: DPoP <token>` header of RFC 9449 §7.1. */
import { CharterError } from '@charter/core';

/** The longest access token read; the gateway's tokens are well under 2 KiB. */
export const MAX_TOKEN_CHARS = 4096;

const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * The access token of a `DPoP` Authorization header, refusing with `invalid_token`: absent, another
 * scheme (a DPoP-bound token sent as Bearer is a downgrade), or a value that is not a token68.
 */
export function parseAuthorization(value: string | undefined): string {
  if (value === undefined || value === '')
    throw new CharterError('invalid_token', 'ERR_TOKEN_MISSING', 'the request carries no access token');
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== 'dpop') {
    throw new CharterError('invalid_token', 'ERR_TOKEN_SCHEME', 'the Authorization scheme is not DPoP');
  }
  const token = value.slice(space + 1).replace(/^ +/, '');
  if (space === -1 || token.length === 0 || token.length > MAX_TOKEN_CHARS || !TOKEN68.test(token)) {
    throw new CharterError('invalid_token', 'ERR_TOKEN_FORMAT', 'the DPoP access token is malformed');
  }
  return token;
}
