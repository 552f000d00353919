/** The web apps' refusals (portal and console): a catalogued code and a reason the signed-in person can act on. */
import { CharterError } from '@charter/core';

/** The codes a web app refuses with; each travels with the detail code `ERR_<CODE>`. */
export type WebRefusal = 'unauthorized' | 'forbidden' | 'invalid_request' | 'not_found' | 'unavailable';

/** Refuse with a catalogued code and a reason for the person at the screen (shown by {@link exposeError}). */
export function refuse(code: WebRefusal, reason: string): never {
  throw new CharterError(code, `ERR_${code.toUpperCase()}`, reason);
}
