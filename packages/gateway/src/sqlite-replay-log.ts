/**
 * The embedded store's used proof ids and spent nonces: an append-only table (`replay_log`, in
 * arrival order) that every process sharing the SQLite file writes to, and a {@link ReplayIndex} in
 * each process's memory that answers "used before?".
 *
 * Why not a table keyed by the id: each record would go to a random leaf of a large B-tree, so every
 * record of a group commit dirties its own page and costs a 4 KiB WAL frame (about 20 µs a record
 * under load, the largest cost of an admission after the signature check); appended in order, a
 * batch of records dirties one page (about 3 µs a record).
 *
 * One batch is one IMMEDIATE transaction, so across processes it is atomic exactly as the keyed
 * upsert was: holding the write lock, the process first reads every record other processes appended
 * since it last looked (the log's tail), then checks the batch against its index and appends the
 * fresh ones. Nothing is admitted before the commit, and a record is in the file before anyone is
 * told it was fresh: a used proof stays used across a restart or a crash (the index is rebuilt from
 * the log on first use).
 */
import type Database from 'better-sqlite3';
import { fingerprintHi, fingerprintLo, ReplayIndex } from './replay-index.ts';

/** Expired records are swept every this many writes, at most {@link SWEEP_ROWS} rows a sweep. */
const SWEEP_EVERY = 4096;
const SWEEP_ROWS = 8192;

/**
 * One record to use: its id (16 bytes of SHA-256; the log keeps its first 8 as two integers, all the
 * index compares) and the second it stops counting.
 */
export interface ReplayRecord {
  id: Buffer;
  expiresAt: number;
}

/** The replay log of one SQLite connection. */
export class SqliteReplayLog {
  readonly #db: Database.Database;
  readonly #index = new ReplayIndex();
  /** The highest `seq` this process has read or written: the tail starts after it. */
  #seen = -1;
  #writes = 0;
  readonly #insert: Database.Statement;
  readonly #tail: Database.Statement;
  readonly #firstLive: Database.Statement;
  readonly #windowEnd: Database.Statement;
  readonly #deleteBefore: Database.Statement;
  readonly #batch: Database.Transaction<(batch: readonly ReplayRecord[], now: number) => Outcome>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare('INSERT INTO replay_log (hi, lo, expires) VALUES (?, ?, ?)');
    this.#tail = db.prepare('SELECT seq, hi, lo, expires FROM replay_log WHERE seq > ? ORDER BY seq').raw();
    this.#firstLive = db.prepare(
      'SELECT seq FROM (SELECT seq, expires FROM replay_log ORDER BY seq LIMIT ?) WHERE expires > ? ORDER BY seq LIMIT 1',
    );
    this.#windowEnd = db.prepare(
      'SELECT max(seq) AS seq FROM (SELECT seq FROM replay_log ORDER BY seq LIMIT ?)',
    );
    // Rows before the cut (and the cut itself when every row read had expired), never the newest row.
    this.#deleteBefore = db.prepare(
      'DELETE FROM replay_log WHERE (seq < @cut OR (@inclusive = 1 AND seq = @cut)) AND seq < (SELECT max(seq) FROM replay_log)',
    );
    this.#batch = db.transaction((batch: readonly ReplayRecord[], now: number) => this.#use(batch, now));
  }

  /** Read the log into the index, once (the first use does it otherwise). */
  load(now: number): void {
    if (this.#seen < 0) this.#load(now);
  }

  /** For each record, true when it was not used (and now is), in one transaction. */
  use(batch: readonly ReplayRecord[], now: number): boolean[] {
    if (this.#seen < 0) this.#load(now);
    const { fresh, staged, last } = this.#batch.immediate(batch, now);
    // Committed: only now do this process's own records count in its index.
    for (const r of staged) this.#index.add(fingerprintHi(r.id), fingerprintLo(r.id), r.expiresAt, now);
    if (last > this.#seen) this.#seen = last;
    return fresh;
  }

  /** Bytes the index holds in this process's memory. */
  get indexBytes(): number {
    return this.#index.bytes;
  }

  /** Every live record, read in one snapshot (the first use after the store was opened). */
  #load(now: number): void {
    this.#db.transaction(() => {
      let seen = 0;
      for (const [seq, hi, lo, expires] of this.#tail.iterate(0) as Iterable<Row>) {
        seen = seq;
        this.#index.add(hi, lo, expires, now);
      }
      this.#seen = seen;
    })();
  }

  #use(batch: readonly ReplayRecord[], now: number): Outcome {
    // What other processes appended since this one last looked, under the write lock: none can
    // append between this read and the inserts below.
    for (const [seq, hi, lo, expires] of this.#tail.iterate(this.#seen) as Iterable<Row>) {
      this.#seen = seq;
      this.#index.add(hi, lo, expires, now);
    }
    const fresh: boolean[] = [];
    const staged: ReplayRecord[] = [];
    // A record twice in one batch is used by its first entry: the fingerprints' low words say which
    // could be, a whole comparison says which is.
    const inBatch = batch.length > 1 ? new Set<number>() : undefined;
    let last = 0;
    for (const r of batch) {
      const hi = fingerprintHi(r.id);
      const lo = fingerprintLo(r.id);
      if (this.#index.used(hi, lo, now) || (inBatch?.has(lo) && staged.some((s) => s.id.equals(r.id)))) {
        fresh.push(false);
        continue;
      }
      inBatch?.add(lo);
      last = Number(this.#insert.run(hi, lo, r.expiresAt).lastInsertRowid);
      staged.push(r);
      fresh.push(true);
    }
    this.#writes += staged.length;
    if (this.#writes >= SWEEP_EVERY) {
      this.#writes = 0;
      this.#sweep(now);
    }
    return { fresh, staged, last };
  }

  /**
   * Delete the oldest records while they have expired, a bounded number at a time. The newest row
   * always stays, so `seq` never goes back to a number another process has already read past.
   */
  #sweep(now: number): void {
    // Both statements read at most SWEEP_ROWS rows from the log's old end, inside SQLite.
    const firstLive = this.#firstLive.get(SWEEP_ROWS, now) as { seq: number } | undefined;
    const cut = firstLive ? firstLive.seq : (this.#windowEnd.get(SWEEP_ROWS) as { seq: number | null }).seq;
    if (cut !== null) this.#deleteBefore.run({ cut, inclusive: firstLive ? 0 : 1 });
  }
}

/** A log row as read: seq, the fingerprint's two words, expiry. */
type Row = [number, number, number, number];

interface Outcome {
  fresh: boolean[];
  staged: ReplayRecord[];
  last: number;
}
