/**
 * Regression tests for what the fuzzing campaign found in the vendor attester's listener (`npm run
 * fuzz`, targets `portal-bodies` and `attester`; docs/fuzzing.md, "Findings"), each over loopback
 * HTTP to a real attester, each failing on the code before its fix:
 * - a request target the router cannot decode (`%zz`) was answered with Fastify's own
 *   `{"error":"Bad Request",…}`, which is no code of the catalogue;
 * - a request node's HTTP parser refuses (a header section over 16 KiB, a request target that is not
 *   origin-form such as `%2fattester%2fv1%2fattest`) got Fastify's default 431/400 `{"error":"Request
 *   Header Fields Too Large"}` / `{"error":"Bad Request"}` without `Connection: close`, and the socket
 *   was then destroyed: a keep-alive client sent its next request on it and met a reset (`attester`
 *   seed 1, inputs 22/23, 129/130, 308/309);
 * - an `Expect` other than `100-continue` got node's bare 417 (inputs 570, 1973);
 * - a site whose latest license has lapsed was refused with 503 `license_invalid`: a 5xx, which the
 *   SDK retries as a busy attester, with the nonce already spent, so the device ended with
 *   `use_dpop_nonce` instead of the reason (inputs 213, 217, 586);
 * - read in the code while writing the `attester` target: the per-source rate limit only counted a
 *   request target starting with `/attester/`, and the router also routes `/%61ttester/v1/attest`
 *   (percent-encoded) to the attest route: a source over its limit went on with that spelling.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  openVendorDb,
  type RunningAttester,
  SqliteAttesterRecords,
  startAttester,
  Vendor,
} from '@charter/issuer';
import { exportJWK, SignJWT } from 'jose';
import { pino } from 'pino';

let vendor: Vendor;
let dir: string;
let attester: RunningAttester;
let charter: string;
let lapsedSite: string;
let lapsedAt: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charter-attester-'));
  vendor = new Vendor(openVendorDb(join(dir, 'vendor.db')), { name: 'tester' });
  await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a test passphrase' });
  const { publisher_id } = vendor.addPublisher({ name: 'Beta' });
  const sub = vendor.submitApp({ publisherId: publisher_id, name: 'Server', scopes: ['a:b'], server: true });
  charter = (await vendor.approve({ submissionId: sub.submission_id, ttlS: 86400 })).charter;
  lapsedSite = vendor.addSite({ name: 'Lapsed' }).site_id;
  // One second, no grace: lapsed by the time the test runs.
  await vendor.issueLicense({ siteId: lapsedSite, appIds: [sub.app_id], ttlS: 1, graceS: 0 });
  lapsedAt = Date.now();
  attester = await startAttester({
    vendor,
    records: new SqliteAttesterRecords(join(dir, 'attester.db')),
    ratePerSourcePerMin: 100_000,
    logger: pino({ level: 'silent' }),
  });
});

after(async () => {
  await attester.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  path: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: Agent;
    base?: string;
  } = {},
): Promise<Answer> {
  const u = new URL(init.base ?? attester.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: init.method ?? 'POST',
        path,
        headers: {
          ...init.headers,
          ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}),
        },
        ...(init.agent ? { agent: init.agent } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Raw bytes in, every byte the server answers until it closes. */
function raw(bytes: string): Promise<string> {
  const u = new URL(attester.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname, () => socket.end(bytes));
    let out = '';
    socket.on('data', (c: Buffer) => {
      out += c.toString('latin1');
    });
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

function assertRefusal(r: Answer, what: string): void {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.body}`);
  assert.equal((JSON.parse(r.body) as { error?: string }).error, 'invalid_request', `${what}: ${r.body}`);
}

test('the vendor attester refuses an undecodable request target as invalid_request', async () => {
  for (const path of ['/attester/v1/attest%zz', '/%E0%A4%A']) {
    const r = await call(path);
    assertRefusal(r, path);
    assert.ok(!r.body.includes('%zz'), 'the answer does not echo the request target');
  }
});

test('a request the HTTP parser refuses is invalid_request, and the connection is closed', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const [what, path, headers] of [
      ['a header section over 16 KiB', '/attester/v1/attest', { dpop: 'A'.repeat(90_000) }],
      ['a request target that is not origin-form', '%2fattester%2fv1%2fattest', {}],
    ] as const) {
      const big = await call(path, {
        agent,
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });
      assertRefusal(big, what);
      assert.equal(big.headers.connection, 'close', `${what}: the answer says the connection ends`);
      // The keep-alive client's next request on the same agent is answered, not reset.
      const next = await call('/attester/v1/challenge', { agent, body: '' });
      assert.equal(next.status, 200, `${what}: the next request: ${next.body}`);
    }
  } finally {
    agent.destroy();
  }
});

test('a HEAD request the HTTP parser refuses gets no body after its head', async () => {
  const out = await raw(`HEAD /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'A'.repeat(90_000)}\r\n\r\n`);
  assert.match(out, /^HTTP\/1\.1 400 /);
  assert.ok(out.endsWith('\r\n\r\n'), `nothing after the head: ${JSON.stringify(out.slice(-80))}`);
  const get = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'A'.repeat(90_000)}\r\n\r\n`);
  assert.equal(JSON.parse(get.slice(get.indexOf('\r\n\r\n') + 4)).error, 'invalid_request');
});

test('an Expect other than 100-continue is invalid_request, not a bare 417', async () => {
  for (const expect of ['127.0.0.1', 'chunked']) {
    const r = await call('/attester/v1/attest', {
      headers: { 'content-type': 'application/json', expect },
      body: '{}',
    });
    assertRefusal(r, `Expect: ${expect}`);
  }
});

test('a site whose license has lapsed is refused with a 4xx (app_not_admitted), not 503', async () => {
  const wait = lapsedAt + 2100 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = await exportJWK(key.publicKey);
  const url = `${attester.url}/attester/v1/attest`;
  const c = await call('/attester/v1/challenge', { body: '' });
  const nonce = (JSON.parse(c.body) as { nonce: string }).nonce;
  const proof = await new SignJWT({ htm: 'POST', htu: url, nonce, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } as never })
    .setIssuedAt()
    .sign(key.privateKey);
  const r = await call('/attester/v1/attest', {
    headers: { 'content-type': 'application/json', dpop: proof },
    body: JSON.stringify({ charter, site_id: lapsedSite, platform: 'server' }),
  });
  assert.equal(r.status, 403, r.body);
  assert.equal((JSON.parse(r.body) as { error?: string }).error, 'app_not_admitted');
});

test('the per-source rate limit holds whatever the spelling of the route', async () => {
  const limited = await startAttester({
    vendor,
    records: new SqliteAttesterRecords(join(dir, 'attester-limited.db')),
    ratePerSourcePerMin: 2,
    logger: pino({ level: 'silent' }),
  });
  try {
    const codes: number[] = [];
    for (const path of [
      '/attester/v1/challenge',
      '/attester/v1/challenge',
      '/attester/v1/challenge',
      '/%61ttester/v1/challenge',
      '/%61ttester/v1/attest',
      '/%61ttester/v1/%61ttest',
      '/nowhere',
    ])
      codes.push(
        (
          await call(path, {
            base: limited.url,
            headers: { 'content-type': 'application/json' },
            body: '{}',
          })
        ).status,
      );
    assert.deepEqual(codes, [200, 200, 429, 429, 429, 429, 429]);
    // The operations endpoints stay out of it (a load balancer polls them).
    assert.equal((await call('/healthz', { base: limited.url, method: 'GET' })).status, 200);
  } finally {
    await limited.close();
  }
});
