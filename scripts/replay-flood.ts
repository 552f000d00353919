/**
 * `node --import tsx scripts/replay-flood.ts [--rate N] [--minutes M] [--memory]`: a flood of
 * distinct proof ids at a gateway's peak rate, against the embedded replay cache (SQLite, group
 * commit), in engine time: the clock the records expire by advances one second every `rate` proofs,
 * so ten minutes of flood run as fast as the store takes them. Every virtual minute it prints the live
 * records, the store's bytes (file + WAL, and the replay table's and its index's pages), bytes per live proof id, and
 * this process's RSS and heap. Records live 2 × proof skew + 1 = 601 s, so the live count climbs for
 * ten minutes and is flat after: the state is bounded by rate × lifetime, not by the flood's length.
 * `--memory` runs the in-process MemoryCache the same way (the non-embedded fallback), by heap.
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryCache } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
import Database from 'better-sqlite3';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '3000' },
    minutes: { type: 'string', default: '20' },
    memory: { type: 'boolean', default: false },
  },
});
const RATE = Number(values.rate);
const MINUTES = Number(values.minutes);
const TTL_S = 601;
const BATCH = 32;
const jkt = 'bC1ZQkJ3X0VyZ2N2b1F2c3ZmYUlWb0lXZ2VfX0tBa2Q';
const mb = (b: number) => (b / 1048576).toFixed(1).padStart(7);
const started = Date.now();
let t = 1_000_000;

if (values.memory) {
  // Milliseconds for MemoryCache: the same virtual clock.
  const cache = new MemoryCache({ now: () => t * 1000, maxEntries: 10_000_000 });
  console.log('minute  live entries   heap MB    RSS MB  heap B/entry');
  const heap0 = process.memoryUsage().heapUsed;
  for (let minute = 1; minute <= MINUTES; minute++) {
    for (let s = 0; s < 60; s++, t++)
      for (let i = 0; i < RATE; i++) await cache.setIfAbsent(`jti:${jkt}:${randomUUID()}`, TTL_S);
    global.gc?.();
    const m = process.memoryUsage();
    console.log(
      `${String(minute).padStart(6)}${String(cache.size).padStart(14)}${mb(m.heapUsed)}   ${mb(m.rss)}  ${((m.heapUsed - heap0) / cache.size).toFixed(0).padStart(12)}`,
    );
  }
  process.exit(0);
}

const file = join(tmpdir(), `charter-replay-flood-${process.pid}.db`);
const store = new SqliteStore(file);
const peek = new Database(file, { readonly: true });
const tablePages = (): number | undefined => {
  try {
    return (
      peek.prepare("SELECT sum(pgsize) AS b FROM dbstat WHERE name = 'replay_log'").get() as { b: number }
    ).b;
  } catch {
    return undefined;
  }
};
console.log(
  `flood: ${RATE} distinct proof ids a second for ${MINUTES} minutes of engine time (records live ${TTL_S} s)`,
);
console.log(
  'minute  live records  file+WAL MB  table MB  B/live (file)  B/live (table)  index MB  B/live (index)   RSS MB  heap MB  buffers MB  wall s',
);
let worst = 0;
for (let minute = 1; minute <= MINUTES; minute++) {
  for (let s = 0; s < 60; s++, t++) {
    for (let i = 0; i < RATE; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, RATE - i) }, () => ({
        key: `jti:${jkt}:${randomUUID()}`,
        expiresAt: t + TTL_S,
      }));
      const fresh = await store.useOnceMany(batch, t);
      if (fresh.some((f) => !f)) throw new Error('a distinct proof id was refused');
    }
  }
  const live = await store.replayRecords();
  const bytes = statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  const table = tablePages();
  global.gc?.();
  const m = process.memoryUsage();
  const index = store.replayIndexBytes;
  worst = Math.max(worst, m.rss);
  console.log(
    `${String(minute).padStart(6)}${String(live).padStart(14)}${mb(bytes).padStart(13)}${table === undefined ? '      n/a' : mb(table).padStart(10)}${(bytes / live).toFixed(0).padStart(15)}${table === undefined ? '             n/a' : (table / live).toFixed(0).padStart(16)}${mb(index).padStart(10)}${(index / live).toFixed(0).padStart(16)}${mb(m.rss).padStart(9)}${mb(m.heapUsed).padStart(9)}${mb(m.arrayBuffers).padStart(12)}${((Date.now() - started) / 1000).toFixed(0).padStart(8)}`,
  );
}
console.log(`peak RSS ${mb(worst).trim()} MB`);
peek.close();
await store.close();
