/**
 * The in-memory index of the embedded replay log (sqlite-replay-log.ts): which replay ids are used
 * and until when, by a 64-bit fingerprint of the id. The log on disk is append-only, so writing a
 * record dirties one page for a whole batch; the lookup it cannot do without an index on the id (a
 * random B-tree insert, a 4 KiB WAL frame per record, measured at about 20 µs a record) is done here.
 *
 * Records are kept in generations by arrival time ({@link GENERATION_S} seconds each), each an
 * open-addressing table of 12-byte slots (fingerprint high and low words, expiry second): a
 * generation is dropped whole once its last record has expired, so nothing is ever deleted slot by
 * slot and no request waits for a rebuild of the whole index. A new generation is sized from the
 * last one, so in steady traffic no table grows while requests wait.
 *
 * Two ids sharing a fingerprint (about 10⁻¹³ a lookup with ten million live records) would only
 * refuse the second as used: the safe failure, never a replay accepted.
 */

/** Seconds of arrivals one generation holds. */
const GENERATION_S = 32;
/** Smallest table, in slots. */
const MIN_SLOTS = 1024;
/** A new table is sized for this share of its slots in use by as many records as the last one took. */
const TARGET_LOAD = 0.6;
/** A table grows by half past this share (linear probing stays short below it). */
const MAX_LOAD = 0.75;

class Generation {
  /** Slot i is [3i] high word, [3i + 1] low word, [3i + 2] expiry (epoch seconds; 0: empty). */
  slots: Uint32Array;
  /** Slots in the table (any number: the low word is scaled to it, not masked). */
  size: number;
  count = 0;
  /** The latest expiry in the table: the generation is dropped when it has passed. */
  maxExpires = 0;

  constructor(
    readonly start: number,
    slots: number,
  ) {
    this.slots = new Uint32Array(slots * 3);
    this.size = slots;
  }

  /** The slot holding this fingerprint, or the empty slot where it would go. */
  find(hi: number, lo: number): number {
    const s = this.slots;
    const size = this.size;
    for (let i = Math.floor((lo / 4294967296) * size); ; i = i + 1 === size ? 0 : i + 1) {
      const at = i * 3;
      if (s[at + 2] === 0 || (s[at] === hi && s[at + 1] === lo)) return at;
    }
  }

  /** The expiry recorded for the fingerprint, 0 when absent. */
  expires(hi: number, lo: number): number {
    return this.slots[this.find(hi, lo) + 2] as number;
  }

  set(hi: number, lo: number, expires: number): void {
    if (this.count + 1 > this.size * MAX_LOAD) this.#grow();
    const at = this.find(hi, lo);
    if (this.slots[at + 2] === 0) this.count++;
    this.slots[at] = hi;
    this.slots[at + 1] = lo;
    this.slots[at + 2] = expires;
    if (expires > this.maxExpires) this.maxExpires = expires;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  #grow(): void {
    const old = this.slots;
    this.size = Math.ceil(this.size * 1.5);
    this.slots = new Uint32Array(this.size * 3);
    for (let at = 0; at < old.length; at += 3) {
      if (old[at + 2] === 0) continue;
      const to = this.find(old[at] as number, old[at + 1] as number);
      this.slots[to] = old[at] as number;
      this.slots[to + 1] = old[at + 1] as number;
      this.slots[to + 2] = old[at + 2] as number;
    }
  }
}

/** Used replay ids by fingerprint (the first two little-endian words of the id), each until its expiry second. */
export class ReplayIndex {
  #generations: Generation[] = [];

  /** True when the fingerprint is recorded with an expiry after `now`. */
  used(hi: number, lo: number, now: number): boolean {
    for (const g of this.#generations) if (g.expires(hi, lo) > now) return true;
    return false;
  }

  /** Record the fingerprint as used until `expires`, at arrival time `now`. */
  add(hi: number, lo: number, expires: number, now: number): void {
    if (expires <= now) return;
    this.#open(now).set(hi, lo, expires);
  }

  /** Bytes of the tables (what the index costs in memory). */
  get bytes(): number {
    let n = 0;
    for (const g of this.#generations) n += g.bytes;
    return n;
  }

  /** Records kept, expired ones of a live generation included. */
  get size(): number {
    let n = 0;
    for (const g of this.#generations) n += g.count;
    return n;
  }

  /** The generation taking arrivals at `now`: a new one each {@link GENERATION_S} s, old ones dropped once expired. */
  #open(now: number): Generation {
    const last = this.#generations[this.#generations.length - 1];
    if (last && now < last.start + GENERATION_S && now >= last.start) return last;
    this.#generations = this.#generations.filter((g) => g.maxExpires > now);
    // Room for as many arrivals as the last generation took, at the target load.
    const g = new Generation(now, Math.max(MIN_SLOTS, Math.ceil((last?.count ?? 0) / TARGET_LOAD)));
    this.#generations.push(g);
    return g;
  }
}

// The id is the start of a SHA-256 digest: any 8 of its bytes are uniform; the low word, scaled to
// the table's size, places the slot.
/** The fingerprint's high word: the id's first 4 bytes, little-endian. */
export function fingerprintHi(id: Uint8Array): number {
  return (
    ((id[0] as number) | ((id[1] as number) << 8) | ((id[2] as number) << 16) | ((id[3] as number) << 24)) >>>
    0
  );
}
/** The fingerprint's low word: the id's bytes 4 to 7, little-endian. */
export function fingerprintLo(id: Uint8Array): number {
  return (
    ((id[4] as number) | ((id[5] as number) << 8) | ((id[6] as number) << 16) | ((id[7] as number) << 24)) >>>
    0
  );
}
