/**
 * The vendor portal on its own listener (`charter vendor serve`): a Fastify server carrying only
 * {@link charterPortal}, over the same issuer records as the CLI.
 */
import { allowedOrigins as allowedOriginsOf, CONTENT_SECURITY_POLICY } from '@charter/accounts';
import { CharterError } from '@charter/core';
import { openVendorDb, Vendor, type VendorDb, type VouchedLookup } from '@charter/issuer';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { charterPortal } from './plugin.ts';

/** How to start the portal. */
export interface PortalOptions {
  /** The vendor database: a path to vendor.db, an open handle, or a Vendor (its db is used). */
  db: string | VendorDb | Vendor;
  /** `HOST:PORT` (port 0 picks a free one) or an object. */
  listen: string | { host: string; port: number };
  /** The built SPA (packages/web/dist/portal). */
  staticDir: string;
  /** The URL people use when the portal sits behind a TLS proxy: its origin is the only one accepted. */
  publicUrl?: string;
  /** Serve HTTPS directly. */
  https?: { key: string | Buffer; cert: string | Buffer };
  /** Fastify logger (off by default: the decision record is the audit log). */
  logger?: boolean;
  /**
   * Behind a reverse proxy: trust its X-Forwarded-For (Fastify's `trustProxy`), so the per-address
   * sign-in limit counts clients, not the proxy. Off by default: a direct client could forge the header.
   */
  trustProxy?: boolean | string;
  /** The vendor attester's records (e.g. `openAttesterRecords`): uploaded reports then list instances it never vouched for. */
  attester?: VouchedLookup;
}

/** A running portal. */
export interface Portal {
  /** The URL people use (the public URL when one was given). */
  url: string;
  /** Where this process actually listens. */
  localUrl: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** The portal's Content-Security-Policy (shared with the gateway console, in @charter/accounts). */
export { CONTENT_SECURITY_POLICY };

function parseListen(listen: PortalOptions['listen']): { host: string; port: number } {
  if (typeof listen !== 'string') return listen;
  const m = /^(\[[0-9a-f:]+\]|[^:]+):(\d{1,5})$/i.exec(listen.trim());
  if (!m || Number(m[2]) > 65535)
    throw new CharterError(
      'invalid_request',
      'ERR_LISTEN',
      `--listen ${JSON.stringify(listen)} is not HOST:PORT`,
    );
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** Start the portal; resolves once it listens. */
export async function startPortal(options: PortalOptions): Promise<Portal> {
  const db =
    options.db instanceof Vendor
      ? options.db.db
      : typeof options.db === 'string'
        ? openVendorDb(options.db)
        : options.db;
  const ownsDb = typeof options.db === 'string';
  const { host, port } = parseListen(options.listen);
  const secure = options.https !== undefined || (options.publicUrl ?? '').startsWith('https:');
  // Known once the port is, before the first request can arrive.
  let allowedOrigins = new Set<string>();

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024,
    ...(options.https ? { https: options.https } : {}),
    trustProxy: options.trustProxy ?? false,
    // Fastify's own refusals before routing (a URL it cannot decode, e.g. `/api/x%zz`) in the
    // catalogue's words like every other answer: its default body is `{"error":"Bad Request"}`.
    frameworkErrors: (_error: unknown, _req: FastifyRequest, reply: FastifyReply) =>
      void reply
        .status(400)
        .send({ error: 'invalid_request', error_description: 'invalid request: the URL cannot be read' }),
  } as never) as unknown as FastifyInstance;
  await app.register(charterPortal, {
    db,
    staticDir: options.staticDir,
    secure,
    allowedOrigins: () => allowedOrigins,
    attester: options.attester,
  });

  await app.listen({ host, port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const proto = options.https ? 'https' : 'http';
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = options.publicUrl ? new URL(options.publicUrl).origin : `${proto}://${shown}:${actualPort}`;
  allowedOrigins = allowedOriginsOf({
    host,
    port: actualPort,
    secure: proto === 'https',
    publicUrl: options.publicUrl,
  });
  // With a wildcard address and no --public-url the set stays empty: the request's own Host is the origin.
  const local = ['0.0.0.0', '::'].includes(host)
    ? `${proto}://127.0.0.1:${actualPort}`
    : `${proto}://${shown}:${actualPort}`;
  return {
    url: options.publicUrl ? url : local,
    localUrl: local,
    app,
    async close() {
      await app.close();
      if (ownsDb) db.close();
    },
  };
}
