/**
 * Gateway processes of the soak: the real `charter gateway start`, each with the soak's preload
 * (probe.mjs: a wall clock that can be stepped, the V8 heap in a file). A replica can be killed with
 * SIGKILL and started again on the same port; memory is read from /proc/<pid>/status.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'packages', 'cli', 'bin', 'charter.js');
const PROBE = join(import.meta.dirname, 'probe.mjs');

/** Whether this tree's `gateway start` has `--workers` (helper E's flag): then it is pinned to 1. */
function hasWorkersFlag(): boolean {
  const r = spawnSync(process.execPath, [BIN, 'gateway', 'start', '--help'], { cwd: ROOT, encoding: 'utf8' });
  return /--workers/.test(`${r.stdout}${r.stderr}`);
}

/** One memory sample of one gateway process. */
export interface MemorySample {
  t: number;
  gateway: string;
  pid: number;
  rss_mb: number;
  heap_mb: number | undefined;
}

/** A gateway process the soak may kill, restart and whose clock it may step. */
export class GatewayProcess {
  readonly name: string;
  readonly port: number;
  readonly #args: string[];
  readonly #clockFile: string;
  readonly #heapFile: string;
  #child: ChildProcess | undefined;
  #stderrTail = '';
  /** Every start and exit (epoch ms), for the report. */
  readonly events: { at: number; what: string }[] = [];
  /** Exits the soak did not cause, with the end of stderr. */
  readonly crashes: { at: number; code: string; stderr: string }[] = [];
  #expectExit = false;

  constructor(name: string, port: number, args: string[], dir: string) {
    this.name = name;
    this.port = port;
    this.#args = args;
    this.#clockFile = join(dir, `${name}.clock`);
    this.#heapFile = join(dir, `${name}.heap.json`);
    writeFileSync(this.#clockFile, '0');
  }

  static #workers: boolean | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : undefined;
  }

  /** The last lines it wrote to stderr (its JSON log), for a crash report. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /** Start and wait for its announcement line. */
  async start(): Promise<void> {
    GatewayProcess.#workers ??= hasWorkersFlag();
    const argv = [
      '--import',
      PROBE,
      BIN,
      'gateway',
      'start',
      ...this.#args,
      '--listen',
      `127.0.0.1:${this.port}`,
      ...(GatewayProcess.#workers ? ['--workers', '1'] : []),
      '--json',
    ];
    const child = spawn(process.execPath, argv, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CHARTER_LOG_LEVEL: 'warn',
        SOAK_CLOCK_FILE: this.#clockFile,
        SOAK_HEAP_FILE: this.#heapFile,
      },
    });
    this.#child = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.#stderrTail = (this.#stderrTail + d.toString()).slice(-4000);
    });
    this.#expectExit = false;
    child.once('exit', (code, signal) => {
      this.events.push({ at: Date.now(), what: `exit ${code ?? signal}` });
      if (!this.#expectExit)
        this.crashes.push({
          at: Date.now(),
          code: String(code ?? signal),
          stderr: this.#stderrTail.slice(-2000),
        });
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          child.stdout?.off('data', onData);
          // Drained from here on, so a full pipe never blocks the gateway.
          child.stdout?.resume();
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) =>
        reject(new Error(`${this.name} exited ${code} at start: ${this.#stderrTail.slice(-1500)}`)),
      );
    });
    this.events.push({ at: Date.now(), what: `started pid ${child.pid}` });
  }

  /** SIGKILL: a crash, no shutdown. */
  async kill9(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    this.#expectExit = true;
    child.kill('SIGKILL');
    await gone;
  }

  /** SIGTERM and wait: a graceful stop (non-zero exit is reported by the caller). */
  async stop(): Promise<number | null> {
    const child = this.#child;
    if (!child) return null;
    if (child.exitCode !== null) return child.exitCode;
    const code = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    this.#expectExit = true;
    child.kill('SIGTERM');
    return code;
  }

  /** Step this process's wall clock to `offsetS` seconds from the true time. */
  stepClock(offsetS: number): void {
    writeFileSync(this.#clockFile, String(offsetS));
    this.#child?.kill('SIGUSR2');
  }

  /** RSS from /proc/<pid>/status and the heap its preload last wrote. */
  sample(t: number): MemorySample | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
      let heap: number | undefined;
      try {
        heap =
          (JSON.parse(readFileSync(this.#heapFile, 'utf8')) as { heap_used: number }).heap_used / 2 ** 20;
      } catch {
        heap = undefined;
      }
      return { t, gateway: this.name, pid, rss_mb: kb / 1024, heap_mb: heap };
    } catch {
      return undefined;
    }
  }
}
