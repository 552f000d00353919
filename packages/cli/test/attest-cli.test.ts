/** `charter attest verify` (packages/cli/src/commands/attest.ts) on real samples and generated ones. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { attestationBinding } from '@charter/attest';
import {
  createTestAppAttestAuthority,
  createTestAttestationAuthority,
  mlDsa65Spki,
} from '@charter/attest/testing';
import { BUNDLE_ID } from '@charter/core';
import { type Flags, UsageError } from '../src/command.ts';
import { attestVerify } from '../src/commands/attest.ts';
import { exe } from './run.ts';

/** A real-device sample, read as data from the attest package's fixture copy (with its provenance). */
// biome-ignore lint/suspicious/noExplicitAny: fixture JSON is free-form by design.
function fixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`../../attest/test/fixtures/${name}`, import.meta.url), 'utf8'));
}

const dir = mkdtempSync(join(tmpdir(), 'charter-attest-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const io = {
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  stdin: new PassThrough(),
  env: {},
  note() {},
};

function run(flags: Flags) {
  return attestVerify.run({ flags, positionals: [], io });
}

describe('charter attest verify --format android-key', () => {
  const f = fixture('android-keyattest-androidkeyattestation-5.json');
  const chain = file('chain.pem', (f.raw.certificate_chain_pem as string[]).join('\n'));

  test('a real StrongBox chain: SPEC §4 fields', async () => {
    const out = await run({
      format: 'android-key',
      chain,
      challenge: Buffer.from(f.inputs.expected_challenge_b64, 'base64').toString('hex'),
      at: f.valid_at,
    });
    assert.equal(out.exitCode, undefined);
    assert.deepEqual(out.json, {
      verified: true,
      security_level: 'STRONG_BOX',
      challenge_hex: Buffer.from(f.inputs.expected_challenge_b64, 'base64').toString('hex'),
      packages: [{ name: 'com.google.android.attestation', version: 0 }],
      signature_digests: ['103938ee4537e59e8ee792f654504fb8346fc6b346d0bbc4415fc339fcfc8ec1'],
      verified_boot_state: 'VERIFIED',
      device_locked: true,
      os_version: 160000,
      os_patch_level: 202511,
      root: 'google-rsa',
      leaf_spki_b64: f.expected.leaf_public_key_spki_b64,
      leaf_key_algorithm: 'ec-p256',
    });
    assert.match(out.text, /STRONG_BOX/);
  });

  test('refusals exit 1 with { verified: false, error, reason }', async () => {
    const out = await run({ format: 'android-key', chain, challenge: '00', at: f.valid_at });
    assert.equal(out.exitCode, 1);
    assert.deepEqual(Object.keys(out.json), ['verified', 'error', 'reason']);
    assert.equal(out.json.verified, false);
    assert.equal(out.json.error, 'invalid_attestation');
    const expired = await run({ format: 'android-key', chain, at: '2030-01-01T00:00:00Z' });
    assert.equal(expired.exitCode, 1);
    const software = fixture('android-keyattest-wardenroboto-3.json');
    const sw = await run({
      format: 'android-key',
      chain: file('sw.pem', (software.raw.certificate_chain_pem as string[]).join('\n')),
      at: software.valid_at,
    });
    assert.equal(sw.exitCode, 1);
    const garbage = await run({ format: 'android-key', chain: file('garbage.pem', 'hello') });
    assert.equal(garbage.exitCode, 1);
  });

  test('--roots replaces the bundled anchors (test chains)', async () => {
    const authority = createTestAttestationAuthority();
    const challenge = attestationBinding('n', 'j');
    const att = authority.attest({ challenge });
    const testChain = file('test.pem', att.chainPem);
    const refused = await run({ format: 'android-key', chain: testChain });
    assert.equal(refused.exitCode, 1);
    const out = await run({
      format: 'android-key',
      chain: testChain,
      roots: file('roots.pem', authority.rootPem),
      challenge: Buffer.from(challenge).toString('hex'),
    });
    assert.equal(out.json.verified, true);
    assert.equal(out.json.root, 'custom');
  });

  test('usage errors', async () => {
    await assert.rejects(run({}), UsageError);
    await assert.rejects(run({ format: 'pdf' }), UsageError);
    await assert.rejects(run({ format: 'android-key' }), UsageError);
    await assert.rejects(run({ format: 'android-key', chain, challenge: 'xyz' }), UsageError);
    await assert.rejects(run({ format: 'android-key', chain, at: 'yesterday' }), UsageError);
    await assert.rejects(run({ format: 'android-key', chain: join(dir, 'missing.pem') }), UsageError);
  });
});

describe('charter attest verify --format apple-appattest / apple-assertion', () => {
  const a = fixture('apple-appattest-nodeappattest-1.json');
  const base64File = file('att.b64', `${a.raw.attestation_object_b64}\n`);
  const cborFile = file('att.cbor', Buffer.from(a.raw.attestation_object_b64, 'base64'));
  const flags = {
    format: 'apple-appattest',
    'key-id': a.raw.key_id_b64,
    'client-data-hash': a.inputs.client_data_hash_b64,
    'app-id': a.inputs.app_id,
    at: a.valid_at,
  };

  test('a real development attestation, from base64 or raw CBOR, with --allow-development', async () => {
    for (const attestation of [base64File, cborFile]) {
      const out = await run({ ...flags, attestation, 'allow-development': true });
      assert.deepEqual(out.json, {
        verified: true,
        environment: 'development',
        key_id_b64: a.expected.key_id_b64,
        public_key_pem: a.expected.public_key_pem,
        counter: 0,
        receipt_b64: a.expected.receipt_b64,
      });
    }
  });

  test('without --allow-development: refused', async () => {
    const out = await run({ ...flags, attestation: cborFile });
    assert.equal(out.exitCode, 1);
    assert.equal(out.json.error, 'invalid_attestation');
  });

  test('assertions: counter must exceed --previous-counter', async () => {
    const s = fixture('apple-appattest-veehaitch-assertion-2.json');
    const assertionFlags = {
      format: 'apple-assertion',
      assertion: file('assertion.b64', s.raw.assertion_b64),
      'public-key': file('key.pem', s.inputs.attested_public_key_pem),
      'client-data-hash': s.inputs.client_data_hash_b64,
      'app-id': s.inputs.app_id,
    };
    assert.deepEqual((await run({ ...assertionFlags, 'previous-counter': '0' })).json, {
      verified: true,
      counter: 1,
    });
    const replay = await run({ ...assertionFlags, 'previous-counter': '1' });
    assert.equal(replay.exitCode, 1);
    await assert.rejects(run({ ...assertionFlags, 'previous-counter': '-1' }), UsageError);
    await assert.rejects(run({ ...assertionFlags, 'previous-counter': '1', 'app-id': 'no-dot' }), UsageError);
    await assert.rejects(run({ ...assertionFlags }), UsageError);
  });
});

describe('charter attest verify: the real-world variety of devices (issue 11)', () => {
  const challenge = attestationBinding('n-issue-11', 'j-issue-11');
  const hex = Buffer.from(challenge).toString('hex');

  test('the real executable: CA-less batch, KeyMint 500 with unknown tags, an ML-DSA leaf all verify', () => {
    const authority = createTestAttestationAuthority({ caLessBatch: true });
    const roots = file('issue11-roots.pem', authority.rootPem);
    const shapes = {
      'ca-less': authority.attest({ challenge }),
      keymint500: authority.attest({
        challenge,
        attestationVersion: 500,
        extraAuthorizations: [{ tag: 725, value: Uint8Array.of(0x02, 0x01, 0x01) }],
      }),
      'ml-dsa': authority.attest({ challenge, leafSpki: mlDsa65Spki() }),
    };
    for (const [name, att] of Object.entries(shapes)) {
      const chain = file(`issue11-${name}.pem`, att.chainPem);
      const r = exe([
        'attest',
        'verify',
        '--format',
        'android-key',
        '--chain',
        chain,
        '--roots',
        roots,
        '--challenge',
        hex,
        '--json',
      ]);
      assert.equal(r.code, 0, `${name}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.json.verified, true, name);
    }
    const ml = exe([
      'attest',
      'verify',
      '--format',
      'android-key',
      '--chain',
      join(dir, 'issue11-ml-dsa.pem'),
      '--roots',
      roots,
    ]);
    assert.equal(ml.code, 0, ml.stderr);
    assert.match(ml.stdout, /ml-dsa-65 \(genuine, but it cannot be a Charter instance key/);
  });

  test('an ML-DSA leaf: verified, with its key reported', async () => {
    const authority = createTestAttestationAuthority();
    const spki = mlDsa65Spki();
    const out = await run({
      format: 'android-key',
      chain: file('mldsa.pem', authority.attest({ challenge, leafSpki: spki }).chainPem),
      roots: file('mldsa-roots.pem', authority.rootPem),
      challenge: hex,
    });
    assert.equal(out.exitCode, undefined);
    assert.equal(out.json.verified, true);
    assert.equal(out.json.leaf_key_algorithm, 'ml-dsa-65');
    assert.equal(out.json.leaf_spki_b64, Buffer.from(spki).toString('base64'));
  });

  test('a certificate whose signature BIT STRING has unused bits: exit 1', async () => {
    const authority = createTestAttestationAuthority();
    const att = authority.attest({ challenge });
    // Certificate ::= SEQUENCE { tbs, algorithm, signature BIT STRING }: set its unused-bits byte to 4.
    const der = new Uint8Array(Buffer.from(att.x5c[0]!, 'base64'));
    const { children, readSingle } = await import('../../attest/src/der.ts');
    const sig = children(der, readSingle(der))[2]!;
    der[sig.contentStart] = 4;
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    const rest = att.chainPem.slice(att.chainPem.indexOf('-----END CERTIFICATE-----') + 26);
    const out = await run({
      format: 'android-key',
      chain: file('unused-bits.pem', pem + rest),
      roots: file('unused-bits-roots.pem', authority.rootPem),
    });
    assert.equal(out.exitCode, 1);
    assert.equal(out.json.error, 'invalid_attestation');
  });

  test("--app-id takes every bundle id a charter takes, e.g. Apple's com.apple.example_app_attest", async () => {
    const apple = createTestAppAttestAuthority();
    const roots = file('apple-roots.pem', apple.rootPem);
    const clientDataHash = attestationBinding('n-apple', 'j-apple');
    for (const bundle of [
      'com.apple.example_app_attest',
      'com.acme-corp.orders',
      'a_b.c-d',
      '_x.y_',
      'com.x.y.z.w',
    ]) {
      assert.ok(BUNDLE_ID.test(bundle), bundle);
      const appId = `ABCDE12345.${bundle}`;
      const att = apple.attest({ appId, clientDataHash });
      const out = await run({
        format: 'apple-appattest',
        attestation: file(`app-${bundle}.b64`, att.attestationB64),
        'key-id': att.keyIdB64,
        'client-data-hash': Buffer.from(clientDataHash).toString('base64'),
        'app-id': appId,
        roots,
      });
      assert.equal(out.exitCode, undefined, `${bundle}: ${JSON.stringify(out.json)}`);
      assert.equal(out.json.environment, 'production');
      // The receipt is in both reports, for the vendor's records.
      assert.equal(out.json.receipt_b64, Buffer.from('charter test receipt').toString('base64'));
      assert.match(
        out.text,
        new RegExp(`receipt \\(20 bytes, not validated offline\\): ${out.json.receipt_b64}`),
      );
      // The same app id on an assertion.
      const assertion = apple.assert({ privateKey: att.privateKey, appId, clientDataHash, counter: 1 });
      const a = await run({
        format: 'apple-assertion',
        assertion: file(`assert-${bundle}.b64`, assertion.assertionB64),
        'public-key': file(`key-${bundle}.pem`, out.json.public_key_pem as string),
        'client-data-hash': Buffer.from(clientDataHash).toString('base64'),
        'app-id': appId,
        'previous-counter': '0',
      });
      assert.deepEqual(a.json, { verified: true, counter: 1 });
    }
    for (const bad of ['no-dot', 'ABCDE12345.', 'ABCDE12345.com..x', 'ABCDE12345.com/x', 'ABC DE.com.x']) {
      await assert.rejects(
        run({ format: 'apple-assertion', 'app-id': bad, 'client-data-hash': 'AAAA' }),
        UsageError,
        bad,
      );
    }
  });
});
