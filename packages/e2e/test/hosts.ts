/**
 * Real hosts for the path and header tests (issue 10, items 4–6): a vendor with a trust file, a
 * license and a charter on disk for `charter gateway start`; a real Express app whose handlers
 * record every request they run (the upstream in proxy mode, the host in library mode); an engine for
 * library mode; and a registered client that signs proofs for any raw path.
 */
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createGateway, type Gateway, type RouteRule } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
import express, { type Express } from 'express';
import {
  ath,
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeProof,
  makeVendor,
  rawRequest,
  SpecClient,
  type TestVendor,
  tempDir,
} from '../../gateway/test/helpers.ts';
import { type Started, startGatewayProcess } from './processes.ts';

/** The routes of issue 10 item 4. */
export const ROUTES: RouteRule[] = [
  { method: 'POST', path: '/orders/*', scope: 'orders:write' },
  { method: 'GET', path: '/admin', scope: 'orders:admin' },
];

/** A vendor, its files for the CLI, and a charter that has only `orders:read`. */
export interface Site {
  vendor: TestVendor;
  dir: string;
  trustFile: string;
  licenseFile: string;
  routesFile: string;
  license: string;
  /** A charter with scopes `orders:read` only. */
  readOnly: string;
  remove(): void;
}

/** A fresh site on disk. */
export async function makeSite(routes: RouteRule[] = ROUTES): Promise<Site> {
  const vendor = await makeVendor();
  const t = tempDir();
  const license = await makeLicense(vendor, 1);
  const site: Site = {
    vendor,
    dir: t.dir,
    trustFile: join(t.dir, 'trust.json'),
    licenseFile: join(t.dir, 'site.license'),
    routesFile: join(t.dir, 'routes.json'),
    license,
    readOnly: (await makeCharter(vendor, 'app_beta', { scopes: ['orders:read'] })).token,
    remove: t.remove,
  };
  writeFileSync(site.trustFile, JSON.stringify(vendor.trustDoc));
  writeFileSync(site.licenseFile, license);
  writeFileSync(site.routesFile, JSON.stringify(routes));
  return site;
}

/** One request a host handler ran. */
export interface Hit {
  handler: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  charter: unknown;
}

/** A listening Express app with the guarded handlers of item 4 and a recorder of what ran. */
export interface ExpressHost {
  url: string;
  hits: Hit[];
  app: Express;
  close(): Promise<void>;
}

/**
 * An Express app (default routing: case-insensitive, trailing slash optional) with handlers for
 * `POST /orders/:id`, `GET /admin`, `GET /orders/:id` and `/:tenant/v1/:resource`. `before` runs
 * first (the Charter middleware in library mode).
 */
export async function expressHost(before?: (app: Express) => void): Promise<ExpressHost> {
  const hits: Hit[] = [];
  const app = express();
  before?.(app);
  const record = (handler: string) => (req: express.Request, res: express.Response) => {
    hits.push({
      handler,
      method: req.method,
      url: req.originalUrl,
      headers: req.headers,
      charter: (req as { charter?: unknown }).charter,
    });
    res.json({ handler, headers: req.headers });
  };
  app.post('/orders/:id', record('orders-write'));
  app.get('/orders/:id', record('orders-read'));
  app.get('/admin', record('admin'));
  app.all('/:tenant/v1/:resource', record('tenant-resource'));
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    app,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A free loopback port (listen, read, close). */
export async function freePort(): Promise<number> {
  const s = express().listen(0, '127.0.0.1');
  await new Promise<void>((r) => s.once('listening', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** `charter gateway start` (a real process) in front of `upstream`, with the site's routes. */
export function gatewayProcess(site: Site, upstream: string, extra: string[] = []): Promise<Started> {
  return startGatewayProcess([
    '--home',
    join(site.dir, `G-${Math.random().toString(36).slice(2)}`),
    '--license',
    site.licenseFile,
    '--trust',
    site.trustFile,
    '--routes',
    site.routesFile,
    '--upstream',
    upstream,
    '--listen',
    '127.0.0.1:0',
    ...extra,
  ]);
}

/** A library-mode engine for a host at `publicUrl`. */
export async function libraryEngine(
  site: Site,
  publicUrl: string,
  routes: RouteRule[] = ROUTES,
): Promise<{ gateway: Gateway; close(): Promise<void> }> {
  const store = new SqliteStore(join(site.dir, `lib-${Math.random().toString(36).slice(2)}.db`));
  const gateway = await createGateway({
    trust: site.vendor.trust,
    store,
    license: site.license,
    publicUrl,
    routes,
  });
  return {
    gateway,
    async close() {
      await gateway.close();
      await store.close();
    },
  };
}

/** A client registered (platform server) with `charter` at `base`, holding an access token. */
export async function registeredClient(base: string, charter: string): Promise<SpecClient> {
  const c = new SpecClient(base, await makeInstanceKey());
  const reg = await c.register(charter);
  if (reg.status !== 200) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const tok = await c.token();
  if (tok.status !== 200) throw new Error(`token: ${tok.status} ${JSON.stringify(tok.body)}`);
  return c;
}

/**
 * A protected request sent byte for byte (no client-side path normalisation), with a fresh proof for
 * exactly that path and any extra headers (names as written, e.g. with underscores).
 */
export async function rawCall(
  c: SpecClient,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Awaited<ReturnType<typeof rawRequest>>> {
  const proof = await makeProof(c.key, {
    htm: method,
    htu: `${c.base}${path.split('?')[0]}`,
    ath: ath(c.accessToken),
  });
  return rawRequest(
    c.base,
    method,
    path,
    { authorization: `DPoP ${c.accessToken}`, dpop: proof, ...headers },
    body,
  );
}

export { rawRequest };
