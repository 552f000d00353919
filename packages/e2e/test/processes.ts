/** Real processes for end-to-end tests: the `charter` executable, a running gateway, a sealed build. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The repository root. */
export const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'packages', 'cli', 'bin', 'charter.js');
const FAKE_CLOCK = join(import.meta.dirname, 'fake-clock.mjs');

/** What a finished process printed and returned. */
export interface Done {
  code: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: each command answers with its own JSON object.
  json: any;
}

function lastJson(text: string): unknown {
  const lines = text.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1] ?? '');
  } catch {
    return {};
  }
}

/** The command line for `charter …` (optionally with the wall clock shifted) or a sealed build. */
function argvOf(args: string[], opts: { clockOffsetS?: number; sealed?: string }): [string, string[]] {
  if (opts.sealed) return [process.execPath, [join(opts.sealed, 'bin', 'charter-gateway'), ...args]];
  const pre = opts.clockOffsetS ? ['--import', FAKE_CLOCK] : [];
  return [process.execPath, [...pre, BIN, ...args]];
}

/** How a test runs a process: a shifted wall clock, a sealed build, extra environment. */
interface ProcessOptions {
  clockOffsetS?: number;
  sealed?: string;
  /** Set on top (e.g. CHARTER_LOG_LEVEL=info to see every decision line). */
  env?: Record<string, string>;
}

function envOf(opts: ProcessOptions): NodeJS.ProcessEnv {
  const base = {
    CHARTER_PASSPHRASE: 'e2e passphrase',
    CHARTER_ACTOR: 'e2e',
    CHARTER_LOG_LEVEL: 'warn',
    ...opts.env,
  };
  // A sealed build runs with nothing but node: no PATH, no NODE_OPTIONS, no tsx.
  if (opts.sealed) return { ...base, PATH: '' };
  return { ...process.env, ...base, FAKE_CLOCK_OFFSET_S: String(opts.clockOffsetS ?? 0) };
}

/** Run a command to completion (`--json` added). */
export function run(args: string[], opts: { clockOffsetS?: number; sealed?: string } = {}): Done {
  const [cmd, argv] = argvOf([...args, '--json'], opts);
  const r = spawnSync(cmd, argv, { cwd: ROOT, env: envOf(opts), encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: lastJson(r.stdout) };
}

/** A gateway process that announced itself, or one that exited at start. */
export interface Started {
  process: ChildProcess;
  // biome-ignore lint/suspicious/noExplicitAny: the announcement line.
  info: any;
  stderr(): string;
  stop(): Promise<number>;
}

/** Start `gateway start …`; resolves once it prints its URL, rejects with its stderr if it exits first. */
export function startGatewayProcess(args: string[], opts: ProcessOptions = {}): Promise<Started> {
  const words = opts.sealed ? ['start', ...args, '--json'] : ['gateway', 'start', ...args, '--json'];
  return announced(words, opts, (info, child, stderr, exited) =>
    // Under --json a refusal at start is also one JSON line, `{ error, error_description }`.
    info.error
      ? undefined
      : {
          process: child,
          info,
          stderr,
          async stop() {
            child.kill('SIGTERM');
            const code = await exited;
            if (code !== 0) throw new Error(`the gateway stopped with ${code}: ${stderr()}`);
            return code;
          },
        },
  ).catch((e: { code: number; stderr: string }) => {
    throw Object.assign(new Error(e.stderr), e);
  });
}

/**
 * Spawn `charter …` and wait for the first line it prints on stdout: `accept` turns that line (JSON)
 * into the started process, or undefined to keep waiting; rejects with its exit code and stderr if
 * it exits first.
 */
function announced<T>(
  words: string[],
  opts: ProcessOptions,
  // biome-ignore lint/suspicious/noExplicitAny: the announcement line.
  accept: (info: any, child: ChildProcess, stderr: () => string, exited: Promise<number>) => T | undefined,
): Promise<T> {
  const [cmd, argv] = argvOf(words, opts);
  const child = spawn(cmd, argv, { cwd: ROOT, env: envOf(opts), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c) => {
    err += c;
  });
  const exited = new Promise<number>((r) =>
    child.once('exit', (code, signal) => {
      if (code === null) err += `\n(killed by ${signal})`;
      r(code ?? -1);
    }),
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (c) => {
      out += c;
      const line = out.split('\n')[0];
      if (!out.includes('\n') || !line) return;
      const started = accept(JSON.parse(line), child, () => err, exited);
      if (started !== undefined) resolve(started);
    });
    void exited.then((code) => reject({ code, stderr: err }));
  });
}

/** A running `charter vendor serve`. */
export interface StartedPortal {
  url: string;
  process: ChildProcess;
  stderr(): string;
  /** SIGTERM, then its exit code (0 when it stopped cleanly). */
  stop(): Promise<number>;
}

/**
 * Start `charter vendor serve --home V` on a free loopback port (it builds the web app first when
 * packages/web/dist has none), with `extra` flags (e.g. `--attester-db URL`); resolves once it prints
 * its URL, rejects with its stderr if it exits first.
 */
export function startPortalProcess(V: string, extra: string[] = []): Promise<StartedPortal> {
  return announced(
    ['vendor', 'serve', '--home', V, '--listen', '127.0.0.1:0', ...extra, '--json'],
    {},
    (info: { url?: string }, child, stderr, exited) =>
      info.url
        ? {
            url: info.url,
            process: child,
            stderr,
            async stop() {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              return exited;
            },
          }
        : undefined,
  ).catch((e: { code: number; stderr: string }) => {
    throw new Error(`vendor serve exited ${e.code}: ${e.stderr}`);
  });
}
