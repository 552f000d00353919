/**
 * A small world for end-to-end tests: a vendor made with the real `charter vendor` commands, a sample
 * API, and the real gateway in front of it. Nothing of ours is mocked.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '@charter/cli';
import { parseTrustFile } from '@charter/core';
import { type RunningGateway, type StartGatewayOptions, startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';

/** Run `charter …args --json` in-process; throws on a non-zero exit. */
// biome-ignore lint/suspicious/noExplicitAny: each command answers with its own JSON object.
export async function charter(...args: string[]): Promise<any> {
  const r = await runCaptured([...args, '--json'], {
    ...process.env,
    CHARTER_PASSPHRASE: 'e2e passphrase',
    CHARTER_ACTOR: 'e2e',
  });
  if (r.code !== 0) throw new Error(`charter ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return r.json;
}

/** The world: files in `dir`, a vendor home, one site, apps by name. */
export interface World {
  dir: string;
  V: string;
  site: string;
  apps: Record<string, { app_id: string; charter: string; charter_id: string }>;
  /** Issue the next license for the site and return its text. */
  license(appNames: string[], extra?: string[]): Promise<string>;
  /** The sample API and what it last saw. */
  api: {
    url: string;
    seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[];
    server: Server;
  };
  gateway(options?: Partial<StartGatewayOptions>): Promise<RunningGateway & { store: SqliteStore }>;
  close(): Promise<void>;
}

/** Build a world with the named server apps approved (scopes orders:read,orders:write). */
export async function makeWorld(appNames: string[]): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'charter-e2e-'));
  const V = join(dir, 'V');
  await charter('vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme');
  await charter('vendor', 'export-trust', '--home', V, '--out', join(dir, 'trust.json'));
  const { publisher_id } = await charter('vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps');
  const apps: World['apps'] = {};
  for (const name of appNames) {
    const sub = await charter(
      'vendor',
      'app',
      'submit',
      '--home',
      V,
      '--publisher',
      publisher_id,
      '--name',
      name,
      '--scopes',
      'orders:read,orders:write',
      '--server',
      '--web-origin',
      'https://app.example',
    );
    const file = join(dir, `${name}.charter`);
    const a = await charter(
      'vendor',
      'app',
      'approve',
      '--home',
      V,
      sub.submission_id,
      '--ttl',
      '30d',
      '--out',
      file,
    );
    apps[name] = { app_id: sub.app_id, charter: readFileSync(file, 'utf8'), charter_id: a.charter_id };
  }
  const { site_id } = await charter('vendor', 'site', 'add', '--home', V, '--name', 'Hospital A');
  const seen: World['api']['seen'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, app: req.headers['charter-app-id'] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const running: (RunningGateway & { store: SqliteStore })[] = [];
  const world: World = {
    dir,
    V,
    site: site_id,
    apps,
    async license(names, extra = []) {
      const file = join(dir, `license-${Date.now()}-${Math.random()}.license`);
      await charter(
        'vendor',
        'license',
        'issue',
        '--home',
        V,
        '--site',
        site_id,
        '--apps',
        names.map((n) => apps[n]?.app_id).join(','),
        '--ttl',
        '30d',
        '--out',
        file,
        ...extra,
      );
      return readFileSync(file, 'utf8');
    },
    api: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server },
    async gateway(options = {}) {
      const store = new SqliteStore(join(dir, `gateway-${running.length}.db`));
      const gw = await startGateway({
        trust: await parseTrustFile(readFileSync(join(dir, 'trust.json'), 'utf8')),
        store,
        upstream: world.api.url,
        routes: [
          { method: 'GET', path: '/orders*', scope: 'orders:read' },
          { method: 'POST', path: '/orders*', scope: 'orders:write' },
        ],
        licensePollMs: 100,
        ...options,
      });
      const r = Object.assign(gw, { store });
      running.push(r);
      return r;
    },
    async close() {
      for (const g of running) {
        await g.close();
        await g.store.close();
      }
      server.close();
    },
  };
  return world;
}
