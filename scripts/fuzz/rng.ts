/**
 * A small seeded generator. Every input of a campaign gets its own generator, seeded from the
 * campaign seed and the input's index, so input N can be made again on its own (`--index N`) without
 * replaying the N-1 before it.
 */

/** 32-bit mix (the finaliser of MurmurHash3): nearby seeds give unrelated streams. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Seeded generator (sfc32: fast, 128 bits of state, good enough for fuzzing). */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, stream = 0) {
    this.#a = mix32(seed ^ 0x9e3779b9);
    this.#b = mix32(stream ^ 0x243f6a88);
    this.#c = mix32((seed + stream * 0x632be5ab) ^ 0xb7e15162);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T;
  }

  /** A small size, skewed towards small values (most interesting lengths are small or a boundary). */
  size(max: number): number {
    const r = this.int(4);
    if (r === 0) return this.int(Math.min(max, 4) + 1);
    if (r === 1) return this.int(Math.min(max, 64) + 1);
    if (r === 2) return this.int(max + 1);
    return this.pick([0, 1, 2, 127, 128, 255, 256, 1023, 1024, 65535, 65536].filter((n) => n <= max));
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/** The generator of input `index` of the campaign with `seed`. */
export function inputRng(seed: number, index: number): Rng {
  return new Rng(mix32(seed) ^ mix32(index + 0x5bd1e995), index);
}
