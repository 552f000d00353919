// Soak preload for each gateway process (node --import): a wall clock the soak can step while the
// process runs, as an operator or a bad NTP server setting the system clock would, and the V8 heap
// written to a file every second, which /proc cannot tell apart from the rest of the process memory.
// SIGUSR2 re-reads the offset (seconds) from SOAK_CLOCK_FILE.
import { readFileSync, writeFileSync } from 'node:fs';

const clockFile = process.env.SOAK_CLOCK_FILE;
const heapFile = process.env.SOAK_HEAP_FILE;
let offsetMs = 0;
const realNow = Date.now;
const readOffset = () => {
  try {
    offsetMs = Number(readFileSync(clockFile, 'utf8').trim() || 0) * 1000;
  } catch {
    offsetMs = 0;
  }
};
if (clockFile) {
  readOffset();
  process.on('SIGUSR2', readOffset);
}
Date.now = () => realNow() + offsetMs;
if (heapFile) {
  setInterval(() => {
    const m = process.memoryUsage();
    try {
      writeFileSync(heapFile, JSON.stringify({ heap_used: m.heapUsed, heap_total: m.heapTotal, rss: m.rss }));
    } catch {}
  }, 1000).unref();
}
