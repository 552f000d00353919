/** The console's refusals: a catalogued code and a reason the operator can act on. */
import { CharterError } from '@charter/core';

/** Refuse with a catalogued code and a reason for the operator. */
export function refuse(
  code: 'unauthorized' | 'forbidden' | 'invalid_request' | 'not_found' | 'unavailable',
  reason: string,
): never {
  throw new CharterError(code, `ERR_${code.toUpperCase()}`, reason);
}
