/**
 * Serves the Charter web client (index.html, app.js, style.css and the SDK's browser bundle built by
 * esbuild from packages/client/src) on an origin of its own, configured to call one gateway with one
 * charter. Used by `npm start` and by the browser test; a clone page is the same client, on another
 * origin, with a copied charter.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';

const HERE = import.meta.dirname;

/** What one page is. */
export interface WebClientConfig {
  /** The gateway's public URL (another origin than the page's). */
  gateway: string;
  /** The compact JWS of the charter the page presents. */
  charter: string;
  /** The web origins that charter approves (shown on the page). */
  charterOrigins: string[];
  title: string;
  intro: string;
  role: 'app' | 'clone';
  apiPath?: string;
}

/** A page being served. */
export interface RunningWebClient {
  /** `http://HOST:PORT`: the origin the page runs at. */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

let bundle: Promise<string> | undefined;

/** The SDK's browser bundle (ES module), built once per process. */
export function clientBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [join(HERE, '..', 'src', 'index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0]?.text ?? '');
  return bundle;
}

/** Bind a server on 127.0.0.1 (port 0: a free one) before the page is configured, so a charter can name its origin. */
export async function reservePort(port = 0): Promise<Server> {
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done());
  });
  return server;
}

/**
 * Serve the web client on `server` (from {@link reservePort}) as `http://HOST:PORT`; `host` is the
 * name the page's origin uses (default `localhost`; the server itself is bound to 127.0.0.1).
 */
export async function serveWebClient(
  server: Server,
  config: WebClientConfig,
  host: 'localhost' | '127.0.0.1' = 'localhost',
): Promise<RunningWebClient> {
  const js = await clientBundle();
  const files: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', readFileSync(join(HERE, 'index.html'), 'utf8')],
    '/app.js': ['text/javascript; charset=utf-8', readFileSync(join(HERE, 'app.js'), 'utf8')],
    '/style.css': ['text/css; charset=utf-8', readFileSync(join(HERE, 'style.css'), 'utf8')],
    '/charter-client.js': ['text/javascript; charset=utf-8', js],
    '/config.json': ['application/json', JSON.stringify(config)],
  };
  const gatewayOrigin = new URL(config.gateway).origin;
  server.on('request', (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = files[path === '/index.html' ? '/' : path];
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': file[0],
      'cache-control': 'no-store',
      // The page may talk to itself and to the gateway, nothing else.
      'content-security-policy': `default-src 'self'; connect-src 'self' ${gatewayOrigin}; base-uri 'none'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : file[1]);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
