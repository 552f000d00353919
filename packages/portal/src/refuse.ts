/** The portal's refusals: a catalogued code and a reason the signed-in person can act on. */
import { CharterError } from '@charter/core';

/** Refuse with a catalogued code and a reason for the signed-in person. */
export function refuse(
  code: 'unauthorized' | 'forbidden' | 'invalid_request' | 'not_found',
  reason: string,
): never {
  throw new CharterError(code, `ERR_${code.toUpperCase()}`, reason);
}
