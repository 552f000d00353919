/** The gateway's pino logger: JSON lines, never a token or a key (the engine logs ids and codes only). */
import { type Logger, pino } from 'pino';

/** A JSON logger writing synchronously to stdout or stderr (stderr keeps stdout for command output). */
export function createGatewayLogger(options: { level?: string; to?: 'stdout' | 'stderr' } = {}): Logger {
  return pino(
    { level: options.level ?? 'info', base: { service: 'charter-gateway' } },
    pino.destination({ dest: options.to === 'stdout' ? 1 : 2, sync: true }),
  );
}
