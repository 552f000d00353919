/**
 * One load run of `npm run bench`: wrk (pinned to the load generator's core) against a target,
 * every request with its own pre-made token + proof line, and the target's CPU read from
 * /proc/<pid>/stat (utime + stime, all its threads) before and after.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

/** CPU time (user + system) a process has used so far, in µs. */
export function cpuUsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5): utime and stime in clock ticks (here counted from field 3).
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** Pin a running process and all its threads to one core. */
export function pin(pid: number, core: number): void {
  execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

/** What one run measured. */
export interface Run {
  rps: number;
  p50Us: number;
  p99Us: number;
  /** CPU of the target per request, µs. */
  cpuUs: number;
  requests: number;
}

/** Write the request lines (`Authorization` TAB `DPoP`) a run sends. */
export function writeLines(file: string, lines: readonly string[]): string {
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * Load `url` for `seconds` with `connections` from the lines in `file`; `pauseMs` paces each
 * connection (a run at part of the peak). Every answer must be a 2xx: a refused request would make a
 * checking target look faster than it is (and a proof used twice is refused).
 */
export async function wrk(options: {
  url: string;
  pid: number;
  file: string;
  seconds: number;
  connections: number;
  core: number;
  pauseMs?: number;
}): Promise<Run> {
  const script = join(import.meta.dirname, 'load.lua');
  const args = [
    '-c',
    String(options.core),
    'wrk',
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    `${options.url}/orders`,
    '--',
    options.file,
    ...(options.pauseMs !== undefined ? [String(options.pauseMs)] : []),
  ];
  const cpu0 = cpuUsOf(options.pid);
  const out = await new Promise<string>((resolve, reject) =>
    execFile('taskset', args, { maxBuffer: 1 << 20 }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
  );
  const cpu1 = cpuUsOf(options.pid);
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`wrk printed no result: ${out}`);
  const r = JSON.parse(line) as {
    requests: number;
    duration_us: number;
    non2xx: number;
    errors: number;
    p50_us: number;
    p99_us: number;
  };
  if (r.non2xx > 0 || r.errors > 0)
    throw new Error(
      `${options.url}: ${r.non2xx} refused and ${r.errors} failed of ${r.requests} (more proofs than lines? raise --proofs)`,
    );
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50Us: r.p50_us,
    p99Us: r.p99_us,
    cpuUs: (cpu1 - cpu0) / r.requests,
    requests: r.requests,
  };
}
