/**
 * One server of the benchmark, in its own process so its CPU can be measured alone: `upstream` (a bare
 * node:http API), `proxy` (a bare Fastify proxy with an undici Pool: the baseline), `peer` (the
 * hand-written DPoP gateway a user would write: that proxy plus jose, see peer.ts), `gateway` (the
 * Charter gateway in proxy mode, logging as the setup file says), `proxy-verify` and `node-proxy-verify`
 * (the Fastify and the node:http proxy doing one ES256 verify of each proof: the measured ceilings),
 * or `gateway-scaled` (one replica of
 * several sharing the PostgreSQL and Redis named in the setup file, behind one public URL). Prints
 * `{ url }` on stdout; answers `cpu` messages over IPC.
 */
import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrustFile } from '@charter/core';
import { createGatewayLogger } from '@charter/gateway';
import { openBackends } from '@charter/gateway/backends';
import { startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import Fastify from 'fastify';
import { type Logger, pino } from 'pino';
import { Pool } from 'undici';
import { startPeer } from './peer.ts';

const [kind, upstream, setupFile] = process.argv.slice(2);
let url = '';
/**
 * The `-verify` kinds (the measured ceilings): one ES256 verify of the request's DPoP proof
 * signature, with the key already a KeyObject (looked up by the proof's header segment, as the
 * instances' keys are known ahead), and nothing else checked. False for a missing or bad proof.
 */
const proofVerifier = (): ((dpop: string | string[] | undefined) => boolean) => {
  const { keys } = JSON.parse(readFileSync(setupFile as string, 'utf8')) as {
    keys: Record<string, JsonWebKey>;
  };
  const byHeader = new Map(
    Object.entries(keys).map(([header, jwk]) => [header, createPublicKey({ key: jwk, format: 'jwk' })]),
  );
  return (dpop) => {
    if (typeof dpop !== 'string') return false;
    const dot = dpop.indexOf('.');
    const last = dpop.lastIndexOf('.');
    const key = byHeader.get(dpop.slice(0, dot));
    if (!key || last <= dot) return false;
    return verify(
      'sha256',
      Buffer.from(dpop.slice(0, last)),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(dpop.slice(last + 1), 'base64url'),
    );
  };
};
if (kind === 'upstream') {
  const body = JSON.stringify({ orders: [{ id: 1, item: 'saline', qty: 40 }] });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
} else if (kind === 'proxy' || kind === 'proxy-verify') {
  const pool = new Pool(upstream as string, { connections: 128 });
  const checks = kind === 'proxy-verify' ? proofVerifier() : undefined;
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.all('/*', async (req, reply) => {
    if (checks && !checks(req.headers.dpop)) return reply.code(401).send();
    const { authorization: _a, dpop: _d, host: _h, connection: _c, ...headers } = req.headers;
    const res = await pool.request({
      method: req.method as 'GET',
      path: req.url,
      headers,
      body: req.method === 'GET' ? null : (req.body as never),
    });
    reply.code(res.statusCode).headers(res.headers as never);
    return reply.send(res.body);
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
} else if (kind === 'node-proxy' || kind === 'node-proxy-verify') {
  // The leanest proxy node and undici allow: node:http in, undici's stream() out, no framework.
  const pool = new Pool(upstream as string, { connections: 128 });
  const checks = kind === 'node-proxy-verify' ? proofVerifier() : undefined;
  const server = createServer((req, res) => {
    if (checks && !checks(req.headers.dpop)) {
      res.writeHead(401).end();
      return;
    }
    const { authorization: _a, dpop: _d, host: _h, connection: _c, ...headers } = req.headers;
    pool
      .stream(
        {
          method: req.method as 'GET',
          path: req.url ?? '/',
          headers,
          body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
        },
        ({ statusCode, headers: h }) => {
          res.writeHead(statusCode, h as never);
          return res;
        },
      )
      .catch(() => res.destroy());
  });
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
} else if (kind === 'peer') {
  url = await startPeer(upstream as string, JSON.parse(readFileSync(setupFile as string, 'utf8')));
} else if (kind === 'gateway') {
  const setup = JSON.parse(readFileSync(setupFile as string, 'utf8')) as {
    trust: string;
    license: string;
    publicUrl: string;
    /** `silent`; `info` as `charter gateway start` logs (sync to stderr); `info-async` (pino's async destination). */
    log?: 'silent' | 'info' | 'info-async';
    logFile?: string;
  };
  const dir = mkdtempSync(join(tmpdir(), 'charter-bench-'));
  const store = new SqliteStore(join(dir, 'gateway.db'));
  const log = setup.log ?? 'silent';
  // The log goes to a file (not the benchmark's terminal): what an operator's log shipper reads.
  const logFile = setup.logFile ?? join(dir, 'gateway.log');
  const logger: Logger =
    log === 'silent'
      ? pino({ level: 'silent' })
      : log === 'info'
        ? createGatewayLogger({ level: 'info', file: logFile })
        : createGatewayLogger({ level: 'info', file: logFile, sync: false });
  const gw = await startGateway({
    trust: await parseTrustFile(setup.trust),
    store,
    logger,
    license: setup.license,
    upstream: upstream as string,
    host: '127.0.0.1',
    port: 0,
    publicUrl: setup.publicUrl,
    routes: [{ method: 'GET', path: '/orders*', scope: 'orders:read' }],
  });
  url = gw.url;
} else if (kind === 'gateway-scaled') {
  const setup = JSON.parse(readFileSync(setupFile as string, 'utf8')) as {
    trust: string;
    license: string;
    db: string;
    redis: string;
    publicUrl: string;
  };
  const backends = await openBackends({ db: setup.db, redis: setup.redis });
  const gw = await startGateway({
    trust: await parseTrustFile(setup.trust),
    store: backends.store,
    ...(backends.cache ? { cache: backends.cache } : {}),
    license: setup.license,
    upstream: upstream as string,
    host: '127.0.0.1',
    port: 0,
    publicUrl: setup.publicUrl,
    routes: [{ method: 'GET', path: '/orders*', scope: 'orders:read' }],
  });
  url = gw.url;
}
// `--profile`: a CPU profile of the measured runs only (not of start-up and module loading).
const profiler = new Session();
process.on('message', (m: unknown) => {
  if (m === 'profile-start') {
    profiler.connect();
    profiler.post('Profiler.setSamplingInterval', { interval: 200 }, () =>
      profiler.post('Profiler.enable', () => profiler.post('Profiler.start', () => process.send?.('ok'))),
    );
  }
  if (typeof m === 'object' && m !== null && 'profileStop' in m) {
    profiler.post('Profiler.stop', (err, r) => {
      if (!err) writeFileSync((m as { profileStop: string }).profileStop, JSON.stringify(r.profile));
      process.send?.('ok');
    });
  }
  if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  if (m === 'exit') process.exit(0);
});
process.stdout.write(`${JSON.stringify({ url })}\n`);
