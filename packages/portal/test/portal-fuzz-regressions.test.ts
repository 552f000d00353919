/**
 * Regression test for what the fuzzing campaign (`npm run fuzz`, target `portal-bodies`) found: a
 * request target Fastify's router cannot decode (here `%zz`, the exact failing input of seed 1,
 * input 194) was answered with Fastify's own body, `{"error":"Bad Request",…}`, which is no code of
 * the catalogue. It must be `invalid_request` like every other refusal.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import type { Portal } from '@charter/portal';
import { portalFor, vendorWithAccounts } from './portal-helpers.ts';

let portal: Portal;

before(async () => {
  portal = await portalFor(await vendorWithAccounts());
});
after(() => portal.close());

/** A GET sent exactly as written (fetch would re-encode the target). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'GET', path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a request target the router cannot decode is refused as invalid_request', async () => {
  for (const path of [
    '/api/publisher/submissions/sub_7rkya8k83u8zxxgshavxhmrq39%zz',
    '/api/session%',
    '/%E0%A4%A',
  ]) {
    const r = await rawGet(portal.localUrl, path);
    assert.equal(r.status, 400, path);
    const body = JSON.parse(r.body) as { error?: string };
    assert.equal(body.error, 'invalid_request', `${path}: ${r.body}`);
    assert.ok(!r.body.includes('%zz'), 'the answer does not echo the request target');
  }
});
