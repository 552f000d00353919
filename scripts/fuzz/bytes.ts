/**
 * Raw byte and text mutation: bit flips, interesting values, inserts, deletes, duplications,
 * truncation and splices with other inputs of the corpus. Structure-blind on purpose: it finds what
 * the structure-aware mutators would never think of producing.
 */
import type { Rng } from './rng.ts';

const INTERESTING8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x2e, 0x3d, 0x22, 0x5c, 0x0a, 0x30];
const INTERESTING32 = [
  0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0xffffffff,
];

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One raw mutation of `input`; `other` is another corpus input for splices. */
export function mutateBytesOnce(rng: Rng, input: Uint8Array, other?: Uint8Array): Uint8Array {
  const n = input.length;
  const at = rng.int(n + 1);
  switch (rng.int(12)) {
    case 0: {
      if (n === 0) return rng.bytes(1);
      const out = input.slice();
      const i = rng.int(n);
      out[i] = (out[i] as number) ^ (1 << rng.int(8));
      return out;
    }
    case 1: {
      if (n === 0) return rng.bytes(1);
      const out = input.slice();
      out[rng.int(n)] = rng.pick(INTERESTING8);
      return out;
    }
    case 2: {
      if (n === 0) return rng.bytes(1);
      const out = input.slice();
      out[rng.int(n)] = rng.u32() & 0xff;
      return out;
    }
    case 3:
      return concat([input.subarray(0, at), rng.bytes(rng.size(32)), input.subarray(at)]);
    case 4: {
      const len = rng.size(Math.max(0, n - at));
      return concat([input.subarray(0, at), input.subarray(at + len)]);
    }
    case 5: {
      // Duplicate a range in place (repeated fields, doubled segments).
      const len = rng.size(Math.max(0, n - at));
      const piece = input.subarray(at, at + len);
      const times = rng.pick([1, 2, 16, 256]);
      return concat([
        input.subarray(0, at),
        ...Array.from({ length: times }, () => piece),
        input.subarray(at),
      ]);
    }
    case 6:
      return input.subarray(0, rng.int(n + 1));
    case 7: {
      if (!other || other.length === 0) return input.subarray(rng.int(n + 1));
      const from = rng.int(other.length);
      return concat([input.subarray(0, at), other.subarray(from, from + rng.size(other.length - from))]);
    }
    case 8: {
      if (n < 4) return concat([input, rng.bytes(4)]);
      const out = input.slice();
      const v = rng.pick(INTERESTING32);
      const i = rng.int(n - 3);
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      if (rng.chance(0.5)) view.setUint32(i, v, rng.chance(0.5));
      else view.setUint16(i, v & 0xffff, rng.chance(0.5));
      return out;
    }
    case 9: {
      // Swap two ranges.
      if (n < 2) return input;
      const a = rng.int(n);
      const b = rng.int(n);
      const len = Math.min(rng.size(16), n - Math.max(a, b));
      const out = input.slice();
      out.set(input.subarray(a, a + len), b);
      out.set(input.subarray(b, b + len), a);
      return out;
    }
    case 10:
      return concat([input, rng.bytes(rng.size(1024))]);
    default: {
      const len = rng.size(Math.max(0, n - at));
      const out = input.slice();
      out.fill(rng.pick(INTERESTING8), at, at + len);
      return out;
    }
  }
}

/** One to eight stacked raw mutations. */
export function mutateBytes(rng: Rng, input: Uint8Array, other?: Uint8Array): Uint8Array {
  let out = input;
  const times = rng.pick([1, 1, 1, 2, 2, 4, 8]);
  for (let i = 0; i < times; i++) {
    out = mutateBytesOnce(rng, out, other);
    // Stacked duplications grow exponentially; past a size every parser refuses first, more is waste.
    if (out.length > MAX_MUTATED) out = out.subarray(0, MAX_MUTATED);
  }
  return out;
}

/** The largest input a raw mutation makes: above every parser's own size limit. */
export const MAX_MUTATED = 1 << 20;

/** Strings a parser tends to trip on: unicode edge cases, separators, escapes, huge and empty. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  '\u202e',
  '\u200b',
  '\ufeff',
  '\uffff',
  'é',
  'e\u0301',
  'İ',
  'ﬀ',
  '%00',
  '%2e%2e',
  '../../etc/passwd',
  '\\',
  '"',
  "'",
  '\r\n',
  '.',
  '..',
  '...',
  '=',
  '==',
  '+/',
  '-_',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  'NaN',
  '-0',
  '1e400',
  '0x10',
  '<script>',
  '$' + '{x}',
  '{{x}}',
  '*',
  '?',
  '#',
  ';',
  ',',
  'DPoP',
  'Bearer',
];

/** A string from the nasty list, a random one, or a huge one. */
export function nastyString(rng: Rng): string {
  switch (rng.int(20)) {
    case 0:
      // Huge: rare, since every size limit refuses it at once and it costs to make.
      return rng.pick(['a', '\u00e9', '.', '\ud83d\ude00', '0']).repeat(rng.pick([256, 4096, 70_000]));
    case 1:
    case 2:
    case 3:
      return rng.pick(NASTY_STRINGS).repeat(rng.range(2, 40));
    case 4:
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
    case 10: {
      const len = rng.size(64);
      let s = '';
      for (let i = 0; i < len; i++)
        s += String.fromCharCode(rng.chance(0.8) ? rng.range(0x20, 0x7e) : rng.int(0x10000));
      return s;
    }
    default:
      return rng.pick(NASTY_STRINGS);
  }
}

/** Text mutated as UTF-8 bytes (may leave invalid sequences, decoded with replacement) or as text. */
export function mutateText(rng: Rng, text: string, other?: string): string {
  if (rng.chance(0.5)) {
    const out = mutateBytes(rng, Buffer.from(text), other === undefined ? undefined : Buffer.from(other));
    return rng.chance(0.5) ? Buffer.from(out).toString('utf8') : Buffer.from(out).toString('latin1');
  }
  const at = rng.int(text.length + 1);
  switch (rng.int(4)) {
    case 0:
      return text.slice(0, at) + nastyString(rng) + text.slice(at);
    case 1:
      return text.slice(0, at) + text.slice(at + rng.size(text.length - at));
    case 2:
      return rng.chance(0.5) ? text.toUpperCase() : text.toLowerCase();
    default:
      return rng.pick([' ', '\t', '\n', '\u00a0', '\ufeff']) + text + rng.pick(['', ' ', '\n', '\u0000']);
  }
}
