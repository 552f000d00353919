/**
 * Every JSON answer Charter writes itself says `application/json; charset=utf-8`, whichever layer
 * writes it: the proxy's lean path and its Fastify routes, the parser's refusal, the Fastify plugin,
 * the Express middleware. Before, library-mode Express refusals said `application/json` alone and a
 * client that compares media types exactly saw two shapes of one refusal.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { charterMiddleware } from '@charter/gateway/express';
import { charterFastify } from '@charter/gateway/fastify';
import type { Express } from 'express';
import Fastify from 'fastify';
import {
  expressHost,
  freePort,
  gatewayProcess,
  libraryEngine,
  makeSite,
  rawRequest,
  type Site,
} from './hosts.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

let site: Site;
before(async () => {
  site = await makeSite();
});
after(() => site.remove());

/** A refusal (no credentials), a refused Charter endpoint body and a Charter endpoint's answer. */
async function checkAnswers(base: string, label: string): Promise<void> {
  const cases: [string, string, Record<string, string>, string | undefined, number][] = [
    ['GET', '/orders/1', {}, undefined, 401],
    ['POST', '/orders/1', { 'content-type': 'application/json' }, '{}', 401],
    ['POST', '/charter/v1/register', { 'content-type': 'application/json' }, '{"charter":1}', 400],
    ['POST', '/charter/v1/challenge', {}, undefined, 200],
    ['GET', '/.well-known/charter', {}, undefined, 200],
  ];
  for (const [method, path, headers, body, status] of cases) {
    const r = await rawRequest(base, method, path, headers, body);
    assert.equal(r.status, status, `${label} ${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.headers['content-type'], JSON_TYPE, `${label} ${method} ${path}`);
    if (status >= 400) assert.equal(typeof r.body.error, 'string', `${label} ${method} ${path}`);
  }
}

/** The raw head of the gateway's answer to a request node's parser refuses (a header over its limit). */
function parserRefusal(base: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () =>
      s.end(`GET /orders/1 HTTP/1.1\r\nHost: ${u.host}\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`),
    );
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

test('proxy mode: lean path, Fastify routes and the parser refusal all say charset=utf-8', async () => {
  const upstream = await expressHost();
  const gw = await gatewayProcess(site, upstream.url);
  try {
    await checkAnswers(gw.info.url, 'proxy');
    // The same refusal through Fastify's route (a `%` path leaves the lean path).
    const viaFastify = await rawRequest(gw.info.url, 'GET', '/%6Frders/1');
    assert.equal(viaFastify.status, 401);
    assert.equal(viaFastify.headers['content-type'], JSON_TYPE);
    const raw = await parserRefusal(gw.info.url);
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
    assert.match(raw, /"error":"invalid_request"/);
    assert.equal(upstream.hits.length, 0);
  } finally {
    await gw.stop();
    await upstream.close();
  }
});

test('Express middleware: refusals and Charter endpoints say charset=utf-8', async () => {
  let middleware: ReturnType<typeof charterMiddleware> | undefined;
  const host = await expressHost((app: Express) => {
    app.use((req, res, next) => (middleware as ReturnType<typeof charterMiddleware>)(req, res, next));
  });
  const engine = await libraryEngine(site, host.url);
  middleware = charterMiddleware(engine.gateway);
  try {
    await checkAnswers(host.url, 'express');
    assert.equal(host.hits.length, 0);
  } finally {
    await host.close();
    await engine.close();
  }
});

test('Fastify plugin: refusals and Charter endpoints say charset=utf-8', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const engine = await libraryEngine(site, base);
  let ran = 0;
  const host = Fastify();
  await host.register(charterFastify, { gateway: engine.gateway });
  host.all('/orders/:id', async () => {
    ran++;
    return { ok: true };
  });
  await host.listen({ host: '127.0.0.1', port });
  try {
    await checkAnswers(base, 'fastify');
    assert.equal(ran, 0);
  } finally {
    await host.close();
    await engine.close();
  }
});
