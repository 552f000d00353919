/**
 * Regression test for the defect the fuzzing campaign found in the portal (`npm run fuzz`, target
 * `portal-bodies`), present in the console's own listener too: a request target Fastify's router
 * cannot decode was answered with Fastify's `{"error":"Bad Request",…}`, no code of the catalogue.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { startConsoleServer } from '@charter/console';
import { startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import { makeLicense, makeVendor, startUpstream, tempDir } from '../../gateway/test/helpers.ts';

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

test('the stand-alone console refuses an undecodable request target as invalid_request', async () => {
  const vendor = await makeVendor();
  const upstream = await startUpstream();
  const home = tempDir();
  const store = new SqliteStore(join(home.dir, 'gateway.db'));
  const gw = await startGateway({
    trust: vendor.trust,
    store,
    license: await makeLicense(vendor, 1),
    upstream: upstream.url,
    attestationVerifier: null,
    licensePollMs: 0,
  });
  const own = await startConsoleServer({ gateway: gw.gateway, host: '127.0.0.1', port: 0 });
  try {
    for (const path of ['/charter/admin/api/instances/ins_1%zz/revoke', '/charter/admin/api/session%']) {
      const r = await rawGet(own.url, path);
      assert.equal(r.status, 400, path);
      assert.equal((JSON.parse(r.body) as { error?: string }).error, 'invalid_request', `${path}: ${r.body}`);
    }
  } finally {
    await own.close();
    await gw.close();
    await store.close();
    await upstream.close();
    home.remove();
  }
});
