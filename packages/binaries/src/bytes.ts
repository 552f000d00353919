/** Bounds-checked reading of untrusted bytes: every read past the end is a clear refusal, never a RangeError. */
import { CharterError } from '@charter/core';

/** Refuse an uploaded file with a reason a reviewer can read. */
export function bad(reason: string): never {
  throw new CharterError('invalid_request', 'ERR_BINARY', reason);
}

/** A little-endian cursor over a byte range of a buffer. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    readonly start = 0,
    readonly end = buf.length,
    readonly what = 'file',
  ) {
    if (start < 0 || end > buf.length || start > end) bad(`the ${what} is truncated`);
    this.pos = start;
  }

  #need(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.end) bad(`the ${this.what} is truncated`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** Bytes left before the end of the range. */
  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    return this.buf.readUInt8(this.#need(1));
  }
  u16(): number {
    return this.buf.readUInt16LE(this.#need(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.#need(4));
  }
  /** A 64-bit length; refused above 2^53 (no such file fits in memory anyway). */
  u64(): number {
    const at = this.#need(8);
    const v = this.buf.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`the ${this.what} has an impossible length`);
    return Number(v);
  }
  bytes(n: number): Buffer {
    const at = this.#need(n);
    return this.buf.subarray(at, at + n);
  }
  skip(n: number): void {
    this.#need(n);
  }
  /** A sub-reader over the next `n` bytes, advancing past them. */
  sub(n: number, what = this.what): Reader {
    const at = this.#need(n);
    return new Reader(this.buf, at, at + n, what);
  }
  /** A sub-reader over a uint32-length-prefixed block (APK signing block framing). */
  prefixed(what = this.what): Reader {
    return this.sub(this.u32(), what);
  }
}
