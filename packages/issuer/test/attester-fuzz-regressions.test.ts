/**
 * Regression test for the defect the fuzzing campaign found in the portal (`npm run fuzz`, target
 * `portal-bodies`, a request target with `%zz`), present in the vendor attester's listener too: it
 * was answered with Fastify's `{"error":"Bad Request",…}`, which is no code of the catalogue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openVendorDb, SqliteAttesterRecords, startAttester, Vendor } from '@charter/issuer';
import { pino } from 'pino';

function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path }, (res) => {
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

test('the vendor attester refuses an undecodable request target as invalid_request', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'charter-attester-'));
  const vendor = new Vendor(openVendorDb(join(dir, 'vendor.db')), { name: 'tester' });
  await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a test passphrase' });
  const attester = await startAttester({
    vendor,
    records: new SqliteAttesterRecords(join(dir, 'attester.db')),
    logger: pino({ level: 'silent' }),
  });
  try {
    for (const path of ['/attester/v1/attest%zz', '/%E0%A4%A']) {
      const r = await rawGet(attester.url, path);
      assert.equal(r.status, 400, path);
      assert.equal((JSON.parse(r.body) as { error?: string }).error, 'invalid_request', `${path}: ${r.body}`);
      assert.ok(!r.body.includes('%zz'), 'the answer does not echo the request target');
    }
  } finally {
    await attester.close();
  }
});
