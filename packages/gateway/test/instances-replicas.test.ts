/**
 * The instance behind every token, across two replicas (`charter gateway start --db postgres://…
 * --redis …` twice, one public URL): one key is one instance whichever replica it registers at, the
 * registration limit per address is shared, and a clone waived in a monitor pilot is refused at the
 * other replica as soon as the enforce license is installed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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
import { dropSchema, freshSchemaName, OwnRedis, PG_SKIP, PG_URL, REDIS_SKIP, REDIS_URL } from './services.ts';

const CHARTER = join(import.meta.dirname, '../../cli/bin/charter.js');
const PUBLIC = 'https://api.hospital.example';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.status, body: { text } };
  }
}

interface Replica {
  url: string;
  child: ChildProcess;
}

async function startReplica(args: string[]): Promise<Replica> {
  const child = spawn(process.execPath, [CHARTER, 'gateway', 'start', ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0] as string) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}`)));
  });
  return { url, child };
}

async function stopReplica(r: Replica | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    r.child.once('exit', () => resolve());
    r.child.kill('SIGTERM');
  });
}

if (!PG_URL || !REDIS_URL) {
  test('instances across two replicas', (t) => t.skip(PG_URL ? REDIS_SKIP : PG_SKIP));
} else {
  describe('instances across two replicas', () => {
    let vendor: TestVendor;
    let home: ReturnType<typeof tempDir>;
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
    let redis: OwnRedis;
    let schema: string;
    let dbUrl: string;
    let trustFile: string;
    let charter: string;
    let a: Replica;
    let b: Replica;

    const licenseFile = async (serial: number, mode: 'monitor' | 'enforce') => {
      const file = join(home.dir, `site-${serial}.license`);
      writeFileSync(
        file,
        await makeLicense(vendor, serial, {
          policy: { mode, register_rate: { per_address_per_min: 6 } },
        }),
      );
      return file;
    };

    const register = async (r: Replica, key: InstanceKeys, origin: string) => {
      const nonce = (await send(`${r.url}/charter/v1/challenge`, { method: 'POST' })).body.nonce as string;
      return send(`${r.url}/charter/v1/register`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          origin,
          dpop: await makeProof(key, { htm: 'POST', htu: `${PUBLIC}/charter/v1/register`, nonce }),
        },
        body: JSON.stringify({ charter, platform: 'web' }),
      });
    };
    const token = async (r: Replica, key: InstanceKeys, instance_id: string) =>
      send(`${r.url}/charter/v1/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          dpop: await makeProof(key, { htm: 'POST', htu: `${PUBLIC}/charter/v1/token` }),
        },
        body: JSON.stringify({ instance_id }),
      });
    const call = async (r: Replica, key: InstanceKeys, access: string) =>
      send(`${r.url}/orders`, {
        headers: {
          authorization: `DPoP ${access}`,
          dpop: await makeProof(key, { htm: 'GET', htu: `${PUBLIC}/orders`, ath: ath(access) }),
        },
      });

    before(async () => {
      vendor = await makeVendor();
      home = tempDir();
      upstream = await startUpstream();
      redis = await OwnRedis.start({ dir: home.dir });
      schema = freshSchemaName();
      const u = new URL(PG_URL as string);
      u.searchParams.set('schema', schema);
      dbUrl = u.href;
      trustFile = join(home.dir, 'trust.json');
      writeFileSync(trustFile, JSON.stringify(vendor.trustDoc));
      charter = (await makeCharter(vendor, 'app_beta')).token;
      const args = [
        '--trust',
        trustFile,
        '--license',
        await licenseFile(1, 'monitor'),
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
      [a, b] = await Promise.all([startReplica(args), startReplica(args)]);
    });

    after(async () => {
      await Promise.all([stopReplica(a), stopReplica(b)]);
      await redis?.stop();
      await upstream?.close();
      if (PG_URL && schema) await dropSchema(PG_URL, schema);
      home?.remove();
    });

    test('one key is one instance at either replica', async () => {
      const key = await makeInstanceKey();
      const atA = await register(a, key, 'https://beta.example');
      const atB = await register(b, key, 'https://beta.example');
      assert.equal(atA.status, 200, JSON.stringify(atA.body));
      assert.equal(atB.body.instance_id, atA.body.instance_id);
    });

    test('a clone waived in monitor mode is refused at the other replica once enforce is installed', async () => {
      const key = await makeInstanceKey();
      const reg = await register(a, key, 'https://clone.example');
      assert.equal(reg.status, 200, 'monitor lets a foreign Origin register');
      const id = reg.body.instance_id as string;
      const t = await token(b, key, id);
      assert.equal(t.status, 200);
      const access = t.body.access_token as string;
      assert.equal((await call(b, key, access)).status, 200);
      const install = spawnSync(
        process.execPath,
        [
          CHARTER,
          'gateway',
          'license',
          'install',
          '--db',
          dbUrl,
          '--trust',
          trustFile,
          await licenseFile(2, 'enforce'),
        ],
        { encoding: 'utf8' },
      );
      assert.equal(install.status, 0, install.stderr);
      let refused: Answer | undefined;
      for (let i = 0; i < 60 && !refused; i++) {
        const r = await call(b, key, access);
        if (r.status === 403) refused = r;
        else await sleep(50);
      }
      assert.equal(refused?.body.error, 'platform_mismatch');
      assert.equal((await token(a, key, id)).body.error, 'platform_mismatch');
      // Registering again at B, now with the charter's Origin: the same instance, admitted at A.
      const again = await register(b, key, 'https://beta.example');
      assert.equal(again.body.instance_id, id);
      const t2 = await token(a, key, id);
      assert.equal(t2.status, 200);
      assert.equal((await call(a, key, t2.body.access_token as string)).status, 200);
      // …and at B, whose cached row still had the waiver, within the recheck interval.
      await sleep(2100);
      assert.equal((await call(b, key, t2.body.access_token as string)).status, 200);
    });

    test('the per-address registration limit is counted across both replicas', async () => {
      // Counted per minute window: stay clear of a window boundary during the burst.
      const inMinute = (Date.now() / 1000) % 60;
      if (inMinute > 45) await sleep((61 - inMinute) * 1000);
      // Eight registrations alternating between the replicas: at most four at each, and earlier ones
      // at most two each, so only a shared count (eight or more against six) can refuse.
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push(
          (await register(i % 2 ? a : b, await makeInstanceKey(), 'https://beta.example')).status,
        );
      assert.ok(statuses.includes(429), statuses.join(' '));
      assert.deepEqual(statuses.slice(0, 2), [200, 200]);
    });
  });
}
