/**
 * Two gateway replicas as separate processes — the real `charter gateway start --db postgres://…
 * --redis redis://…` — sharing one PostgreSQL schema and one Redis, behind one public URL as a load
 * balancer would present them. Nothing of ours is mocked: PostgreSQL is reached through a TCP relay
 * the test can cut, and the Redis is the test's own redis-server, killed and restarted mid-test.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createTestAppAttestAuthority } from '@charter/attest/testing';
import { thumbprint } from '@charter/core';
import {
  ath,
  type InstanceKeys,
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeProof,
  makeVendor,
  startUpstream,
  type TestVendor,
  tempDir,
} from './helpers.ts';
import {
  dropSchema,
  freshSchemaName,
  OwnRedis,
  PG_SKIP,
  PG_URL,
  REDIS_SKIP,
  REDIS_URL,
  TcpRelay,
} from './services.ts';

const CHARTER = join(import.meta.dirname, '../../cli/bin/charter.js');
/** The one URL clients use; each replica checks proofs against it, as behind a load balancer. */
const PUBLIC = 'https://api.hospital.example';
const TEAM = 'ABCDE12345';
const BUNDLE = 'com.beta.orders';
const apple = createTestAppAttestAuthority();

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

/** A replica: `charter gateway start` in a child process. */
interface Replica {
  url: string;
  /** The operations listener (`--metrics-listen`): where `/charter/metrics` is served. */
  metricsUrl: string;
  child: ChildProcess;
  logs: string[];
}

async function startReplica(args: string[]): Promise<Replica> {
  const argv = [CHARTER, 'gateway', 'start', ...args, '--metrics-listen', '127.0.0.1:0', '--json'];
  const child = spawn(process.execPath, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CHARTER_LOG_LEVEL: 'info' },
  });
  const logs: string[] = [];
  child.stderr?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  const info = await new Promise<{ url: string; metrics_url: string }>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] as string));
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${logs.join('\n')}`)));
  });
  return { url: info.url, metricsUrl: info.metrics_url.replace(/\/charter\/metrics$/, ''), child, logs };
}

async function stopReplica(r: Replica): Promise<void> {
  if (r.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    r.child.once('exit', () => resolve());
    r.child.kill('SIGTERM');
  });
}

/** Poll `check` every 25 ms until it holds; returns the milliseconds it took. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

const binding = (nonce: string, jkt: string) =>
  createHash('sha256').update(`${nonce}.${jkt}`, 'ascii').digest();

if (!PG_URL || !REDIS_URL) {
  test('two replicas on PostgreSQL and Redis', (t) => t.skip(PG_URL ? REDIS_SKIP : PG_SKIP));
} else {
  const pgUrl = new URL(PG_URL);
  describe('two replicas on PostgreSQL and Redis', () => {
    let vendor: TestVendor;
    let home: ReturnType<typeof tempDir>;
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
    let redis: OwnRedis;
    let relay: TcpRelay;
    let schema: string;
    let dbUrl: string;
    let trustFile: string;
    let charter: string;
    let a: Replica;
    let b: Replica;
    let key: InstanceKeys;
    let instanceId = '';
    let accessToken = '';

    const challenge = async (r: Replica) =>
      (await send(`${r.url}/charter/v1/challenge`, { method: 'POST' })).body.nonce as string;

    const post = async (r: Replica, path: string, dpop: string, body: unknown) =>
      send(`${r.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', dpop },
        body: JSON.stringify(body),
      });

    /** A protected call with a fresh proof (or the one given). */
    const call = async (r: Replica, proof?: string) =>
      send(`${r.url}/orders`, {
        headers: {
          authorization: `DPoP ${accessToken}`,
          dpop:
            proof ?? (await makeProof(key, { htm: 'GET', htu: `${PUBLIC}/orders`, ath: ath(accessToken) })),
        },
      });

    const licenseFile = async (serial: number, revoked: Record<string, string[]> = {}) => {
      const file = join(home.dir, `site-${serial}.license`);
      writeFileSync(
        file,
        await makeLicense(vendor, serial, {
          apps: [{ app_id: 'app_beta' }],
          revoked,
          attestation: { roots: [apple.rootPem] },
        }),
      );
      return file;
    };

    before(async () => {
      vendor = await makeVendor();
      home = tempDir();
      upstream = await startUpstream();
      redis = await OwnRedis.start({ dir: home.dir });
      relay = await TcpRelay.start(pgUrl.hostname, Number(pgUrl.port || 5432));
      schema = freshSchemaName();
      const viaRelay = new URL(pgUrl.href);
      viaRelay.host = `127.0.0.1:${relay.port}`;
      viaRelay.searchParams.set('schema', schema);
      dbUrl = viaRelay.href;
      trustFile = join(home.dir, 'trust.json');
      writeFileSync(trustFile, JSON.stringify(vendor.trustDoc));
      charter = (
        await makeCharter(vendor, 'app_beta', {
          platforms: { server: {}, ios: { team_id: TEAM, bundle_id: BUNDLE } },
        })
      ).token;
      const args = [
        '--trust',
        trustFile,
        '--license',
        await licenseFile(1),
        '--upstream',
        upstream.url,
        '--listen',
        '127.0.0.1:0',
        '--public-url',
        PUBLIC,
        '--db',
        dbUrl,
        '--redis',
        redis.url,
      ];
      // Started together: migrations and the site's secrets are raced, and both must agree.
      [a, b] = await Promise.all([startReplica(args), startReplica(args)]);
      key = await makeInstanceKey('ES256');
    });

    after(async () => {
      await Promise.all([a, b].filter(Boolean).map(stopReplica));
      await relay?.cut();
      await redis?.stop();
      await upstream?.close();
      if (PG_URL && schema) await dropSchema(PG_URL, schema);
      home?.remove();
    });

    test('both replicas are ready on the same license', async () => {
      for (const r of [a, b]) {
        assert.equal((await send(`${r.url}/charter/readyz`)).status, 200);
        const wk = await send(`${r.url}/.well-known/charter`);
        assert.equal(wk.body.license_serial, 1);
        assert.ok(String(wk.body.issuer).startsWith(PUBLIC), 'one public URL for both');
      }
    });

    test('registered at A, token from A, admitted at B; a proof used at A is refused at B', async () => {
      const nonce = await challenge(a);
      const reg = await post(
        a,
        '/charter/v1/register',
        await makeProof(key, { htm: 'POST', htu: `${PUBLIC}/charter/v1/register`, nonce }),
        { charter, platform: 'server' },
      );
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      instanceId = reg.body.instance_id as string;
      const tok = await post(
        a,
        '/charter/v1/token',
        await makeProof(key, { htm: 'POST', htu: `${PUBLIC}/charter/v1/token` }),
        { instance_id: instanceId },
      );
      assert.equal(tok.status, 200, JSON.stringify(tok.body));
      accessToken = tok.body.access_token as string;

      const atB = await call(b);
      assert.equal(atB.status, 200, `a token issued by A works at B: ${JSON.stringify(atB.body)}`);
      const proof = await makeProof(key, { htm: 'GET', htu: `${PUBLIC}/orders`, ath: ath(accessToken) });
      assert.equal((await call(a, proof)).status, 200);
      const replay = await call(b, proof);
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error, 'invalid_dpop_proof');
    });

    test('a registration nonce from A is spent once across A and B, even when raced', async () => {
      const nonce = await challenge(a);
      const register = async (r: Replica) => {
        const k = await makeInstanceKey('ES256');
        return post(
          r,
          '/charter/v1/register',
          await makeProof(k, { htm: 'POST', htu: `${PUBLIC}/charter/v1/register`, nonce }),
          { charter, platform: 'server' },
        );
      };
      const raced = await Promise.all([register(a), register(b), register(a), register(b)]);
      assert.deepEqual(
        raced.map((r) => r.status).sort(),
        [200, 401, 401, 401],
        JSON.stringify(raced.map((r) => r.body)),
      );
      assert.ok(raced.filter((r) => r.status === 401).every((r) => r.body.error === 'use_dpop_nonce'));
      assert.equal((await register(b)).body.error, 'use_dpop_nonce', 'and later, at B');
    });

    test('App Attest: two assertions with one counter, one at each replica, admit one', async () => {
      const iosKey = await makeInstanceKey('ES256');
      const appKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const appId = `${TEAM}.${BUNDLE}`;
      const jkt = await thumbprint(iosKey.jwk);
      const nonce = await challenge(b);
      const att = apple.attest({ appId, clientDataHash: binding(nonce, jkt), keyPair: appKey });
      const reg = await post(
        b,
        '/charter/v1/register',
        await makeProof(iosKey, { htm: 'POST', htu: `${PUBLIC}/charter/v1/register`, nonce }),
        {
          charter,
          platform: 'ios',
          attestation: { fmt: 'apple-appattest', key_id: att.keyIdB64, attestation: att.attestationB64 },
        },
      );
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      const tokenAt = async (r: Replica, counter: number) => {
        const n = await challenge(r);
        const assertion = apple.assert({
          privateKey: appKey.privateKey,
          appId,
          clientDataHash: binding(n, jkt),
          counter,
        }).assertionB64;
        return post(
          r,
          '/charter/v1/token',
          await makeProof(iosKey, { htm: 'POST', htu: `${PUBLIC}/charter/v1/token`, nonce: n }),
          { instance_id: reg.body.instance_id, assertion },
        );
      };
      for (const counter of [1, 2, 3]) {
        const both = await Promise.all([tokenAt(a, counter), tokenAt(b, counter)]);
        assert.deepEqual(
          both.map((r) => r.status).sort(),
          [200, 403],
          `counter ${counter}: ${JSON.stringify(both.map((r) => r.body))}`,
        );
      }
      assert.equal((await tokenAt(a, 2)).body.error, 'invalid_attestation', 'a counter that fell behind');
    });

    test('a license installed through the shared store revokes at both replicas within a second', async (t) => {
      assert.equal((await call(b)).status, 200);
      const file = await licenseFile(2, { instances: [instanceId] });
      const installed = await promisify(execFile)(process.execPath, [
        CHARTER,
        'gateway',
        'license',
        'install',
        file,
        '--trust',
        trustFile,
        '--db',
        dbUrl,
        '--json',
      ]);
      const done = Date.now();
      assert.equal(JSON.parse(installed.stdout).serial, 2);
      for (const r of [b, a]) {
        await until(async () => (await call(r)).body.error === 'instance_revoked', 1500, 'revocation');
      }
      const took = Date.now() - done;
      assert.ok(took < 1500, `revoked at both in ${took} ms`);
      t.diagnostic(`revoked at both replicas ${took} ms after the install returned`);
      assert.equal((await send(`${b.url}/.well-known/charter`)).body.license_serial, 2);
    });

    test('Redis down: 503 unavailable and not ready; back: ready, and used proofs stay used', async () => {
      // A new instance: the first one is revoked now.
      key = await makeInstanceKey('ES256');
      const nonce = await challenge(a);
      const reg = await post(
        a,
        '/charter/v1/register',
        await makeProof(key, { htm: 'POST', htu: `${PUBLIC}/charter/v1/register`, nonce }),
        { charter, platform: 'server' },
      );
      instanceId = reg.body.instance_id as string;
      const tok = await post(
        b,
        '/charter/v1/token',
        await makeProof(key, { htm: 'POST', htu: `${PUBLIC}/charter/v1/token` }),
        { instance_id: instanceId },
      );
      accessToken = tok.body.access_token as string;
      const used = await makeProof(key, { htm: 'GET', htu: `${PUBLIC}/orders`, ath: ath(accessToken) });
      assert.equal((await call(a, used)).status, 200);

      await redis.stop();
      for (const r of [a, b]) {
        const refused = await call(r);
        assert.equal(refused.status, 503);
        assert.equal(refused.body.error, 'unavailable');
        assert.equal((await send(`${r.url}/charter/readyz`)).status, 503);
        const metrics = await (await fetch(`${r.metricsUrl}/charter/metrics`)).text();
        assert.match(metrics, /charter_backend_up\{backend="redis"\} 0/);
        assert.match(metrics, /charter_backend_up\{backend="postgres"\} 1/);
      }
      assert.ok(
        a.logs.some((l) => l.includes('redis is unreachable')),
        'the outage is logged',
      );

      await redis.start();
      for (const r of [a, b]) {
        const ms = await until(
          async () => (await send(`${r.url}/charter/readyz`)).status === 200,
          3000,
          'ready again',
        );
        assert.ok(ms < 3000);
        assert.equal((await call(r)).status, 200);
      }
      assert.equal((await call(b, used)).body.error, 'invalid_dpop_proof', 'the AOF kept the used proof');
      assert.ok(
        b.logs.some((l) => l.includes('redis is reachable again')),
        'the recovery is logged',
      );
    });

    test('PostgreSQL down: registration and tokens are 503 unavailable, not ready; back: recovered', async () => {
      await relay.cut();
      const k = await makeInstanceKey('ES256');
      for (const r of [a, b]) {
        const nonce = await challenge(r);
        const reg = await post(
          r,
          '/charter/v1/register',
          await makeProof(k, { htm: 'POST', htu: `${PUBLIC}/charter/v1/register`, nonce }),
          { charter, platform: 'server' },
        );
        assert.equal(reg.status, 503, JSON.stringify(reg.body));
        assert.equal(reg.body.error, 'unavailable');
        const tok = await post(
          r,
          '/charter/v1/token',
          await makeProof(key, { htm: 'POST', htu: `${PUBLIC}/charter/v1/token` }),
          { instance_id: instanceId },
        );
        assert.equal(tok.body.error, 'unavailable');
        assert.equal((await send(`${r.url}/charter/readyz`)).status, 503);
        const metrics = await (await fetch(`${r.metricsUrl}/charter/metrics`)).text();
        assert.match(metrics, /charter_backend_up\{backend="postgres"\} 0/);
      }
      // Admission of requests with a token needs no database: the license is in memory.
      assert.equal((await call(a)).status, 200);
      assert.ok(
        a.logs.some((l) => l.includes('postgres is unreachable')),
        'the outage is logged',
      );

      await relay.restore();
      for (const r of [a, b]) {
        await until(async () => (await send(`${r.url}/charter/readyz`)).status === 200, 4000, 'ready again');
        const nonce = await challenge(r);
        const reg = await post(
          r,
          '/charter/v1/register',
          await makeProof(await makeInstanceKey('ES256'), {
            htm: 'POST',
            htu: `${PUBLIC}/charter/v1/register`,
            nonce,
          }),
          { charter, platform: 'server' },
        );
        assert.equal(reg.status, 200, JSON.stringify(reg.body));
      }
    });
  });
}
