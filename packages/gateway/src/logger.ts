/** The gateway's pino logger: JSON lines, never a token or a key (the engine logs ids and codes only). */
import { type Logger, pino } from 'pino';

/** Options of {@link createGatewayLogger}. */
export interface GatewayLoggerOptions {
  level?: string;
  /** stderr by default (stdout is kept for command output). */
  to?: 'stdout' | 'stderr';
  /** A file to append to instead of stdout/stderr. */
  file?: string;
  /**
   * Write each line before the request goes on (default true): nothing is lost in a crash, at the
   * cost of one write(2) per decision. false buffers lines (pino's asynchronous destination, flushed
   * every 4 KiB and at exit): cheaper per request, but a crash can lose the last lines.
   */
  sync?: boolean;
}

/** A JSON logger writing to stdout, stderr or a file (docs/benchmarks.md: what each choice costs). */
export function createGatewayLogger(options: GatewayLoggerOptions = {}): Logger {
  const sync = options.sync ?? true;
  const destination = pino.destination({
    dest: options.file ?? (options.to === 'stdout' ? 1 : 2),
    sync,
    ...(sync ? {} : { minLength: 4096 }),
  });
  // An asynchronous destination is flushed at exit so a clean shutdown keeps every line.
  if (!sync) process.once('exit', () => destination.flushSync());
  return pino({ level: options.level ?? 'info', base: { service: 'charter-gateway' } }, destination);
}
