/**
 * A minimal, strict DER reader. It is used where a schema library is the wrong tool: slicing the
 * KeyDescription's authorization lists (to drop tags we do not know and sort the rest, see
 * keyDescription.ts), reading Apple's nonce extension, and decoding certificate serial numbers.
 */
import { malformed } from './errors.ts';

/** One tag-length-value element. */
export interface Tlv {
  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  tagClass: number;
  constructed: boolean;
  tagNumber: number;
  /** Offset of the first header byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Read the element starting at `offset` of `buf`, refusing BER-only forms and overruns. */
export function readTlv(buf: Uint8Array, offset: number, limit: number = buf.length): Tlv {
  let p = offset;
  if (p >= limit) malformed('A DER element is truncated.');
  const first = buf[p++]!;
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    // High tag number form: base-128 digits, at most 4 of them (tags above 2^28 are never used).
    tagNumber = 0;
    for (let i = 0; ; i++) {
      if (p >= limit || i === 4) malformed('A DER tag is truncated or too large.');
      const b = buf[p++]!;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (p >= limit) malformed('A DER length is truncated.');
  let length = buf[p++]!;
  if (length === 0x80) malformed('Indefinite lengths are not DER.');
  if (length > 0x80) {
    const n = length & 0x7f;
    if (n > 4 || p + n > limit) malformed('A DER length is truncated or too large.');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
  }
  const end = p + length;
  if (end > limit) malformed('A DER element runs past its container.');
  return { tagClass, constructed, tagNumber, start: offset, contentStart: p, end };
}

/** The children of a constructed element. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.contentStart;
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** Read exactly one element covering all of `buf`. */
export function readSingle(buf: Uint8Array): Tlv {
  const t = readTlv(buf, 0);
  if (t.end !== buf.length) malformed('Trailing bytes follow a DER element.');
  return t;
}

/** Encode a DER length. */
export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Encode a tag byte sequence (any class, any number). */
export function encodeTag(tagClass: number, constructed: boolean, tagNumber: number): Uint8Array {
  const lead = (tagClass << 6) | (constructed ? 0x20 : 0);
  if (tagNumber < 0x1f) return Uint8Array.of(lead | tagNumber);
  const digits: number[] = [];
  for (let v = tagNumber; v > 0; v = Math.floor(v / 128)) digits.unshift(v & 0x7f);
  for (let i = 0; i < digits.length - 1; i++) digits[i]! |= 0x80;
  return Uint8Array.of(lead | 0x1f, ...digits);
}

/** Concatenate byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
