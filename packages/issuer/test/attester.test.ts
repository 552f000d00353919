/**
 * The vendor attester's HTTP surface on loopback (real SQLite, real Fastify): hostile bodies and
 * headers get catalogued errors and never a 500; a source flooding it is rate limited; health,
 * readiness and metrics answer; the records contract holds on SQLite and (CHARTER_TEST_PG) PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isErrorCode } from '@charter/core';
import {
  type AttesterRecords,
  openVendorDb,
  PgAttesterRecords,
  type RunningAttester,
  SqliteAttesterRecords,
  startAttester,
  Vendor,
} from '@charter/issuer';
import fc from 'fast-check';
import pg from 'pg';
import { pino } from 'pino';

const silent = pino({ level: 'silent' });

let dir: string;
let attester: RunningAttester;
let charter: string;
let siteId: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charter-attester-'));
  const vendor = new Vendor(openVendorDb(join(dir, 'vendor.db')), { name: 'tester' });
  await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a test passphrase' });
  const { publisher_id } = vendor.addPublisher({ name: 'Beta' });
  const sub = vendor.submitApp({
    publisherId: publisher_id,
    name: 'Web',
    scopes: ['a:b'],
    webOrigins: ['https://app.example'],
  });
  charter = (await vendor.approve({ submissionId: sub.submission_id, ttlS: 86400 })).charter;
  siteId = vendor.addSite({ name: 'Hospital' }).site_id;
  await vendor.issueLicense({ siteId, appIds: [sub.app_id], ttlS: 86400 });
  attester = await startAttester({
    vendor,
    records: new SqliteAttesterRecords(join(dir, 'attester.db')),
    ratePerSourcePerMin: 100_000,
    logger: silent,
  });
});

after(async () => {
  await attester.close();
});

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${attester.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: r.status, text: await r.text() };
}

test('hostile bodies and proofs get catalogued errors, never a 500 or a stack trace', async () => {
  const values = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.constant(null),
    fc.boolean(),
    fc.array(fc.string()),
    fc.object(),
  );
  const bodies = fc.oneof(
    fc.string().map((s) => s),
    fc
      .record(
        {
          charter: fc.oneof(values, fc.constant(charter)),
          site_id: fc.oneof(values, fc.constant(siteId)),
          platform: fc.oneof(values, fc.constantFrom('web', 'android', 'ios', 'server')),
          attestation: values,
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
  );
  const dpop = fc.oneof(
    fc.constant(undefined),
    fc.string(),
    fc.constant('a.b.c'),
    fc.string().map((s) => `eyJhbGciOiJFUzI1NiJ9.${s}.x`),
  );
  await fc.assert(
    fc.asyncProperty(bodies, dpop, async (body, proof) => {
      const r = await post('/attester/v1/attest', body, proof ? { dpop: proof.replace(/[\r\n]/g, '') } : {});
      assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
      const o = JSON.parse(r.text);
      assert.ok(isErrorCode(o.error), r.text);
      assert.equal(typeof o.error_description, 'string');
      assert.doesNotMatch(r.text, /at .*\.ts:|stack/i);
    }),
    { numRuns: 150 },
  );
  // Wrong content type and an oversized body are catalogued too.
  const text = await fetch(`${attester.url}/attester/v1/attest`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'x',
  });
  assert.equal(text.status, 400);
  assert.ok(isErrorCode((await text.json()).error));
  const big = await post('/attester/v1/attest', JSON.stringify({ charter: 'x'.repeat(300_000) }));
  assert.equal(big.status, 400);
  const missing = await fetch(`${attester.url}/nowhere`);
  assert.equal(missing.status, 404);
});

test('a spent or foreign challenge nonce is refused; a web key-only attestation is issued once', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const { exportJWK, SignJWT } = await import('jose');
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = await exportJWK(key.publicKey);
  const url = `${attester.url}/attester/v1/attest`;
  const proofFor = (nonce: string) =>
    new SignJWT({ htm: 'POST', htu: url, nonce, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } as never })
      .setIssuedAt()
      .sign(key.privateKey);
  const nonce = JSON.parse((await post('/attester/v1/challenge', '{}')).text).nonce as string;
  const body = JSON.stringify({ charter, site_id: siteId, platform: 'web' });
  const ok = await post('/attester/v1/attest', body, { dpop: await proofFor(nonce) });
  assert.equal(ok.status, 200, ok.text);
  const claims = JSON.parse(
    Buffer.from(JSON.parse(ok.text).attester_token.split('.')[1], 'base64url').toString(),
  );
  assert.equal(claims.charter.attested, false);
  assert.equal(claims.charter.evidence, 'key');
  const again = await post('/attester/v1/attest', body, { dpop: await proofFor(nonce) });
  assert.equal(again.status, 401);
  assert.equal(JSON.parse(again.text).error, 'use_dpop_nonce');
  const forged = `${nonce.slice(0, -2)}AA`;
  assert.equal((await post('/attester/v1/attest', body, { dpop: await proofFor(forged) })).status, 401);
  const otherSite = JSON.stringify({ charter, site_id: 'site_unknown', platform: 'web' });
  const n2 = JSON.parse((await post('/attester/v1/challenge', '{}')).text).nonce as string;
  const r = await post('/attester/v1/attest', otherSite, { dpop: await proofFor(n2) });
  assert.equal(r.status, 403);
  assert.equal(JSON.parse(r.text).error, 'app_not_admitted');
});

test('health, readiness, metrics, and a per-source rate limit', async () => {
  assert.equal((await fetch(`${attester.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${attester.url}/readyz`)).status, 200);
  const metrics = await (await fetch(`${attester.url}/metrics`)).text();
  assert.match(metrics, /charter_attester_decisions_total/);
  const jwks = await (await fetch(`${attester.url}/attester/v1/jwks`)).json();
  assert.equal(jwks.keys[0].alg, 'EdDSA');
  const vendor = new Vendor(openVendorDb(join(dir, 'vendor.db')), { name: 'tester' });
  const limited = await startAttester({
    vendor,
    records: new SqliteAttesterRecords(join(dir, 'attester-2.db')),
    ratePerSourcePerMin: 3,
    logger: silent,
  });
  try {
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await fetch(`${limited.url}/attester/v1/challenge`, { method: 'POST' })).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
  } finally {
    await limited.close();
  }
  // Closed: the port no longer answers.
  await assert.rejects(fetch(`${limited.url}/healthz`));
});

async function recordsContract(records: AttesterRecords): Promise<void> {
  const nonce = randomUUID();
  const exp = Math.floor(Date.now() / 1000) + 300;
  assert.equal(await records.spendNonce(nonce, exp), true);
  assert.equal(await records.spendNonce(nonce, exp), false);
  const base = {
    at: 1,
    app_id: 'app_a',
    charter_id: 'chr_a',
    platform: 'android',
    code: null,
    evidence: 'android-key',
  };
  await records.add({ ...base, site_id: 'site_a', jkt: 'jkt-1', verdict: 'issued', jti: 'att_1' });
  await records.add({
    ...base,
    site_id: 'site_a',
    jkt: 'jkt-2',
    verdict: 'refused',
    jti: null,
    code: 'invalid_attestation',
  });
  await records.add({ ...base, site_id: 'site_b', jkt: 'jkt-3', verdict: 'issued', jti: 'att_3' });
  assert.deepEqual([...(await records.vouched('site_a', ['jkt-1', 'jkt-2', 'jkt-3']))], ['jkt-1']);
  const s = (await records.summary()).find((r) => r.site_id === 'site_a');
  assert.equal(Number(s?.issued), 1);
  assert.equal(Number(s?.refused), 1);
  assert.deepEqual(await records.secret(), await records.secret());
  await records.ping();
}

test('records contract on SQLite', async () => {
  const r = new SqliteAttesterRecords(join(dir, 'contract.db'));
  try {
    await recordsContract(r);
  } finally {
    await r.close();
  }
});

test('records contract on PostgreSQL', { skip: !process.env.CHARTER_TEST_PG }, async () => {
  const url = process.env.CHARTER_TEST_PG as string;
  const schema = `attester_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const r = new PgAttesterRecords(url, { schema });
  try {
    await recordsContract(r);
  } finally {
    await r.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
});
