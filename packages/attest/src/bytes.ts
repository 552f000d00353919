/** Byte helpers shared by the verifiers: strict base64, hashing, constant-time comparison. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { malformed } from './errors.ts';

/** A view of any binary value as a Uint8Array, without copying. */
export function asBytes(value: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decode standard or URL-safe base64 (padding optional, ASCII whitespace ignored). Buffer.from() alone
 * silently skips invalid characters, which would let two different strings decode to the same bytes.
 */
export function decodeBase64(text: string, what: string): Uint8Array {
  const s = text.replace(/[\t\n\r ]+/g, '');
  if (s.length === 0 || s.length % 4 === 1 || !(B64.test(s) || B64URL.test(s))) {
    return malformed(`The ${what} is not valid base64.`);
  }
  const urlSafe = /[-_]/.test(s);
  return new Uint8Array(Buffer.from(s, urlSafe ? 'base64url' : 'base64'));
}

/** Standard base64 of bytes. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Lowercase hex of bytes. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Equality that does not leak where two values differ (lengths are not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** Convert a `Date | number` instant (ms) into milliseconds, refusing invalid dates. */
export function instantOf(at: Date | number | undefined): number {
  const ms = at === undefined ? Date.now() : typeof at === 'number' ? at : at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('the verification instant is not a valid date');
  return ms;
}
