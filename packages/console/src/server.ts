/**
 * The console on its own listener (`charter gateway start --admin-listen HOST:PORT`): a small Fastify
 * server carrying only {@link charterConsole}, e.g. bound to a management network while the gateway's
 * main port faces clients.
 */
import { allowedOrigins } from '@charter/accounts';
import type { Gateway } from '@charter/gateway';
import Fastify, { type FastifyReply } from 'fastify';
import { CONSOLE_PREFIX, type ConsoleOptions, charterConsole } from './plugin.ts';

/** A running stand-alone console. */
export interface RunningConsole {
  /** The console's URL (ending in /charter/admin/). */
  url: string;
  close(): Promise<void>;
}

/** Serve the console for `gateway` on `host:port` (port 0 picks one); `publicUrl` pins the accepted origin. */
export async function startConsoleServer(options: {
  gateway: Gateway;
  host: string;
  port: number;
  staticDir?: string;
  publicUrl?: string;
  traffic?: ConsoleOptions['traffic'];
}): Promise<RunningConsole> {
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // Fastify's own refusals before routing (a URL it cannot decode) in the catalogue's words, as the
    // gateway's listener answers them: its default body is `{"error":"Bad Request"}`.
    frameworkErrors: (_error, _req, reply: FastifyReply) =>
      void reply
        .status(400)
        .send({ error: 'invalid_request', error_description: 'invalid request: the URL cannot be read' }),
  });
  let origins: Set<string> | undefined;
  await app.register(charterConsole, {
    gateway: options.gateway,
    ...(options.staticDir ? { staticDir: options.staticDir } : {}),
    ...(options.traffic ? { traffic: options.traffic } : {}),
    // Known once the port is (before the first request can arrive).
    allowedOrigins: () => origins ?? [],
  });
  app.get('/', async (_req, reply) => reply.redirect(`${CONSOLE_PREFIX}/`, 302));
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const secure = (options.publicUrl ?? '').startsWith('https:');
  origins = allowedOrigins({ host: options.host, port, secure, publicUrl: options.publicUrl });
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  const local = ['0.0.0.0', '::'].includes(options.host) ? '127.0.0.1' : shown;
  const base = options.publicUrl ? new URL(options.publicUrl).origin : `http://${local}:${port}`;
  return { url: `${base}${CONSOLE_PREFIX}/`, close: () => app.close() };
}
