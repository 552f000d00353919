/** Record identifiers: a type prefix and 128 random bits, so an id says what it names. */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** A new id such as `app_k3m9…` (26 chars of a lowercase base32 without look-alikes). */
export function newId(prefix: string): string {
  const bytes = randomBytes(26);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return `${prefix}_${out}`;
}
