/**
 * Regression cases for what the fuzzing campaign (`npm run fuzz`, target `gateway-protected`) met at
 * the gateway, on real sockets: seed 1, input 2858, an admitted `POST /orders` with the body `}`.
 * In the run it came out as a crash: `inject` rejected with undici's `SocketError: other side closed`.
 * That was the harness: light-my-request destroys its fake response as soon as anything destroys its
 * fake request with an error, and undici does destroy a request body it was still writing when the
 * upstream connection drops. On a socket the request is node's IncomingMessage, which undici detaches
 * from its socket before destroying it, so the client is not cut and the gateway answers the
 * catalogue's `unavailable`. These cases hold the product to that, on the lean proxy path (ordinary
 * paths) and on the Fastify app's proxy route (a percent-encoded path), with the exact input.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningGateway, startGateway } from '../src/entries/server.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { makeCharter, makeInstanceKey, makeLicense, makeVendor, SpecClient, tempDir } from './helpers.ts';

/**
 * The upstream: answers like the fuzzer's; or, in `hangUp` mode, hangs up on every new connection as
 * soon as it is made. The gateway's pool connects only once it has admitted a request, and writes
 * nothing to the upstream before the request's body arrives, so the hang-up falls while the gateway
 * is forwarding a request whose body is still on its way: the case of the run.
 */
function upstreamServer(): {
  server: Server;
  mode: { hangUp: boolean; hungUp: () => void };
  dropIdle: () => void;
} {
  const mode = { hangUp: false, hungUp: () => {} };
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (mode.hangUp) {
      socket.destroy();
      mode.hungUp();
    }
  });
  // The pool's idle connections closed, so the next request needs a new one.
  const dropIdle = () => {
    for (const s of sockets) s.destroy();
  };
  return { server, mode, dropIdle };
}

interface Answer {
  status: number;
  body: string;
}

/**
 * POST `body` to `path` as the fuzz input did; with `holdBody`, the headers go first and the body only
 * once `release` resolves, so the upstream hangs up while the body is still on its way, as in the run. Rejects if the connection is cut without an answer.
 */
function post(
  base: string,
  path: string,
  headers: Record<string, string>,
  body: string,
  release?: Promise<void>,
): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path,
        agent: false,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (!release) {
      req.end(body);
      return;
    }
    req.flushHeaders();
    void release.then(() => {
      if (!req.destroyed) req.end(body);
    });
  });
}

/** The upstream listening and a gateway (embedded SQLite) in front of it; `stop` ends all of it. */
async function gatewayBefore(
  upstream: Server,
  vendor: Awaited<ReturnType<typeof makeVendor>>,
): Promise<{ gw: RunningGateway; stop: () => Promise<void> }> {
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const home = tempDir();
  const store = new SqliteStore(join(home.dir, 'gateway.db'));
  const gw = await startGateway({
    trust: vendor.trust,
    store,
    license: await makeLicense(vendor, 1),
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
  });
  return {
    gw,
    async stop() {
      await gw.close();
      await store.close();
      await new Promise((r) => upstream.close(r));
      home.remove();
    },
  };
}

describe('gateway-protected, seed 1, input 2858: an admitted POST whose upstream hangs up', () => {
  const up = upstreamServer();
  let gw: RunningGateway;
  let client: SpecClient;
  let stop: () => Promise<void>;

  before(async () => {
    const vendor = await makeVendor();
    ({ gw, stop } = await gatewayBefore(up.server, vendor));
    client = new SpecClient(gw.url, await makeInstanceKey('ES256'));
    assert.equal((await client.register((await makeCharter(vendor, 'app_beta')).token)).status, 200);
    assert.equal((await client.token()).status, 200);
  });

  after(() => stop());

  const input = async (path: string): Promise<Record<string, string>> => ({
    authorization: `DPoP ${client.accessToken}`,
    dpop: await client.proofFor('POST', path),
    'content-type': 'application/json',
  });

  // `/orders` takes the lean path (proxy-path.ts); `/%6Frders` is the same route through the Fastify
  // app's proxy route (a percent sign in the path sends it there).
  for (const path of ['/orders', '/%6Frders']) {
    test(`${path}: the exact input is forwarded and answered`, async () => {
      up.mode.hangUp = false;
      const r = await post(gw.url, path, await input(path), '}');
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, '{"ok":true}');
    });

    test(`${path}: an upstream that hangs up while the body is on its way gets unavailable, not a reset`, async () => {
      up.dropIdle();
      await new Promise((r) => setTimeout(r, 50));
      up.mode.hangUp = true;
      const hungUp = new Promise<void>((r) => {
        up.mode.hungUp = r;
      });
      try {
        const r = await post(gw.url, path, await input(path), '}', hungUp);
        assert.equal(r.status, 503, r.body);
        assert.equal((JSON.parse(r.body) as { error?: string }).error, 'unavailable');
      } finally {
        up.mode.hangUp = false;
      }
    });
  }

  test('the gateway still forwards on the next request', async () => {
    const r = await post(gw.url, '/orders', await input('/orders'), '}');
    assert.equal(r.status, 200, r.body);
  });
});

/** One request as written, its answer as node's client reads it (rejects on what it cannot read). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('what the fuzzer found once it sent its inputs over sockets (gateway-protected, seed 3)', () => {
  let gw: RunningGateway;
  let stop: () => Promise<void>;
  const up = upstreamServer();

  before(async () => {
    ({ gw, stop } = await gatewayBefore(up.server, await makeVendor()));
  });

  after(() => stop());

  // Input 1752: `HEAD /orders` with a 93 547-byte Authorization. node's parser refuses the headers;
  // the 400 had a JSON body, which a HEAD client reads as garbage after the response.
  test('a HEAD request the HTTP parser refuses gets a 400 without a body', async () => {
    const r = await raw(gw.url, 'HEAD', '/orders', { authorization: `DPoP ${'A'.repeat(93_540)}` });
    assert.equal(r.status, 400);
    assert.equal(r.headers['charter-refusal'], 'invalid_request');
    assert.equal(r.body, '');
    const get = await raw(gw.url, 'GET', '/orders', { authorization: `DPoP ${'A'.repeat(93_540)}` });
    assert.equal(get.status, 400);
    assert.equal((JSON.parse(get.body) as { error?: string }).error, 'invalid_request');
  });

  // The same with the empty line a request may start with (RFC 9112 §2.2; node's parser skips it):
  // the method is still HEAD, so still no body after the headers.
  test('a HEAD after an empty line, refused by the parser, gets no body either', async () => {
    const u = new URL(gw.url);
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname, () =>
        s.write(`\r\nHEAD /orders HTTP/1.1\r\nHost: x\r\nAuthorization: DPoP ${'A'.repeat(93_540)}\r\n\r\n`),
      );
      let got = '';
      s.on('data', (c: Buffer) => {
        got += c.toString('latin1');
      });
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /charter-refusal: invalid_request/i);
    assert.ok(text.endsWith('\r\n\r\n'), `a body followed the headers: ${JSON.stringify(text.slice(-80))}`);
  });

  // Inputs 579, 1154, 1775: `Expect: x`, `Expect: chunked`, `Expect: app_beta`. node answered a bare
  // 417 itself, with no body and no catalogued code.
  for (const [method, path, expect] of [
    ['PUT', '/charter/healthz', 'x'],
    ['POST', '/a/b/c', 'chunked'],
    ['DELETE', '/charter/v1/orders', 'app_beta'],
  ] as const) {
    test(`${method} ${path} with Expect: ${expect} is refused as invalid_request`, async () => {
      const r = await raw(gw.url, method, path, { expect });
      assert.equal(r.status, 400, r.body);
      assert.equal((JSON.parse(r.body) as { error?: string }).error, 'invalid_request');
      assert.equal(r.headers['charter-refusal'], 'invalid_request');
    });
  }

  // The `head_400` outcomes of the socket runs: a path Fastify's router cannot decode is refused by its
  // framework-error hook, whose refusal had no `Charter-Refusal`; a HEAD answer (no body) then said
  // nothing of its code. Every refusal names it now.
  for (const method of ['HEAD', 'GET'] as const)
    test(`${method} of an undecodable path: 400 with Charter-Refusal: invalid_request`, async () => {
      const r = await raw(gw.url, method, '/%zz/orders', {});
      assert.equal(r.status, 400, r.body);
      assert.equal(r.headers['charter-refusal'], 'invalid_request');
      if (method === 'HEAD') assert.equal(r.body, '');
      else assert.equal((JSON.parse(r.body) as { error?: string }).error, 'invalid_request');
    });

  test('Expect: 100-continue is still honoured', async () => {
    const r = await raw(gw.url, 'GET', '/charter/healthz', { expect: '100-continue' });
    assert.equal(r.status, 200, r.body);
  });
});
