/**
 * In-process targets for hardware attestation: Android key attestation chains, Apple App Attest
 * attestation and assertion objects, and certificate chains as PEM (license attestation roots). The
 * seeds are the real device samples of the shared fixtures (the package's own copy when the shared
 * folder is absent) plus chains minted by the test PKIs of @charter/attest.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  certificatesFromPem,
  loadTrustAnchors,
  verifyAndroidKeyAttestation,
  verifyAppleAppAttestation,
  verifyAppleAssertion,
} from '@charter/attest';
import { createTestAppAttestAuthority, createTestAttestationAuthority } from '@charter/attest/testing';
import { mutateBytes, mutateText, nastyString } from '../bytes.ts';
import { mutateCbor } from '../cbor.ts';
import { mutateDer } from '../der.ts';
import type { Rng } from '../rng.ts';
import { type Harness, outcomeOfSync, type Target } from '../target.ts';
import { instanceKey } from '../world.ts';

const root = resolve(import.meta.dirname, '../../..');
/**
 * The real device samples: CHARTER_FUZZ_FIXTURES, else the shared fixtures next to the checkout
 * (never the holdout), else the attest package's own copy of them.
 */
export const FIXTURES = [
  process.env.CHARTER_FUZZ_FIXTURES ?? '',
  join(root, '../shared/fixtures/attestation'),
  join(root, 'packages/attest/test/fixtures'),
].find((d) => d !== '' && existsSync(d)) as string;

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON is free-form by design.
type Fixture = Record<string, any>;
function fixtures(prefix: string): Fixture[] {
  return (
    readdirSync(FIXTURES)
      .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Fixture)
      // Only samples of the kind the target reads (the package's copy also holds a revocation sample).
      .filter((f) =>
        prefix.startsWith('android')
          ? Array.isArray(f.raw?.certificate_chain_der_b64)
          : typeof (f.raw?.attestation_object_b64 ?? f.raw?.assertion_b64) === 'string',
      )
  );
}
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** Mutate a list of base64 DER certificates: one certificate's DER, its base64, or the list itself. */
function mutateChain(rng: Rng, chain: readonly string[], donors: readonly Uint8Array[]): unknown {
  const list: unknown[] = [...chain];
  switch (rng.int(10)) {
    case 0:
      list.splice(rng.int(list.length), 1);
      break;
    case 1:
      list.splice(
        rng.int(list.length + 1),
        0,
        ...Array.from({ length: rng.pick([1, 8, 9]) }, () => rng.pick(chain)),
      );
      break;
    case 2:
      list.reverse();
      break;
    case 3:
      list[rng.int(list.length)] = rng.pick<unknown>([
        null,
        1,
        {},
        [],
        '',
        'not base64!',
        nastyString(rng),
        'A'.repeat(40_000),
      ]);
      break;
    case 4:
      list[rng.int(list.length)] = Buffer.from(rng.pick(donors)).toString('base64');
      break;
    case 5: {
      const i = rng.int(list.length);
      list[i] = mutateText(rng, list[i] as string);
      break;
    }
    default: {
      const i = rng.int(list.length);
      const der = b64(list[i] as string);
      list[i] = Buffer.from(mutateDer(rng, der, donors)).toString(rng.chance(0.9) ? 'base64' : 'base64url');
      if (rng.chance(0.2)) {
        const j = rng.int(list.length);
        list[j] = Buffer.from(mutateDer(rng, b64(list[j] as string), donors)).toString('base64');
      }
    }
  }
  return rng.chance(0.02) ? rng.pick<unknown>([list[0], {}, 'x', null, []]) : list;
}

export const androidAttestation: Target = {
  name: 'android-attestation',
  about:
    'Android key attestation chains (verifyAndroidKeyAttestation): real device chains and test-PKI chains',
  async setup(): Promise<Harness> {
    const cases: { x5c: string[]; options: Parameters<typeof verifyAndroidKeyAttestation>[1] }[] = [];
    for (const f of fixtures('android-keyattest-')) {
      const challenge = f.inputs?.expected_challenge_b64;
      cases.push({
        x5c: f.raw.certificate_chain_der_b64,
        options: {
          expectedChallenge: typeof challenge === 'string' ? b64(challenge) : null,
          at: new Date(f.valid_at),
        },
      });
    }
    const pki = createTestAttestationAuthority();
    const challenge = createHash('sha256').update('fuzz').digest();
    for (const level of ['TRUSTED_ENVIRONMENT', 'STRONG_BOX'] as const) {
      const k = instanceKey('ES256');
      const a = pki.attest({
        challenge,
        publicKey: k.publicKey,
        packageName: 'com.beta.orders',
        signingCertDigests: ['ab'.repeat(32)],
        securityLevel: level,
      });
      cases.push({
        x5c: a.x5c,
        options: {
          expectedChallenge: challenge,
          trustedRoots: pki.trustedRoots,
          expectedPackageName: 'com.beta.orders',
          expectedSigningCertDigests: ['ab'.repeat(32)],
        },
      });
    }
    const donors = cases.flatMap((c) => c.x5c.map(b64));
    return {
      seeds: cases.map((c) => c.x5c),
      generate(rng) {
        const c = rng.int(cases.length);
        const chain = (cases[c] as (typeof cases)[number]).x5c;
        return { c, x5c: rng.chance(0.03) ? chain : mutateChain(rng, chain, donors) };
      },
      run(input) {
        const { c, x5c } = input as { c: number; x5c: string[] };
        return outcomeOfSync(() =>
          verifyAndroidKeyAttestation(x5c, (cases[c] ?? cases[0])?.options as never),
        );
      },
    };
  },
};

/** An App Attest object as raw CBOR or base64 text, mutated structurally or as text. */
function appleObject(rng: Rng, bytes: Uint8Array, donors: readonly Uint8Array[]): string | Uint8Array {
  const r = rng.int(100);
  if (r < 3) return rng.chance(0.5) ? bytes : Buffer.from(bytes).toString('base64');
  if (r < 8) return mutateText(rng, Buffer.from(bytes).toString('base64'));
  if (r < 12) return mutateBytes(rng, bytes, rng.pick(donors));
  const m = mutateCbor(rng, bytes, donors);
  return rng.chance(0.5) ? m : Buffer.from(m).toString(rng.chance(0.9) ? 'base64' : 'base64url');
}

export const appleAttestation: Target = {
  name: 'apple-attestation',
  about:
    'Apple App Attest attestation objects (verifyAppleAppAttestation): real device samples and test-PKI ones',
  async setup(): Promise<Harness> {
    const cases: { object: Uint8Array; options: Parameters<typeof verifyAppleAppAttestation>[1] }[] = [];
    for (const f of fixtures('apple-appattest-')) {
      if (!f.raw?.attestation_object_b64) continue;
      cases.push({
        object: b64(f.raw.attestation_object_b64),
        options: {
          expectedKeyId: f.raw.key_id_b64,
          expectedClientDataHash: b64(f.inputs.client_data_hash_b64),
          expectedAppId: f.inputs.app_id,
          allowDevelopment: true,
          at: new Date(f.valid_at),
        },
      });
    }
    const pki = createTestAppAttestAuthority();
    const clientDataHash = createHash('sha256').update('fuzz').digest();
    for (const development of [false, true]) {
      const a = pki.attest({ appId: 'ABCDE12345.com.beta.orders', clientDataHash, development });
      cases.push({
        object: a.attestation,
        options: {
          expectedKeyId: a.keyIdB64,
          expectedClientDataHash: clientDataHash,
          expectedAppId: 'ABCDE12345.com.beta.orders',
          allowDevelopment: true,
          trustedRoots: pki.trustedRoots,
        },
      });
    }
    const donors = cases.map((c) => c.object);
    return {
      seeds: donors,
      generate(rng) {
        const c = rng.int(cases.length);
        return { c, object: appleObject(rng, (cases[c] as (typeof cases)[number]).object, donors) };
      },
      run(input) {
        const { c, object } = input as { c: number; object: string | Uint8Array };
        return outcomeOfSync(() =>
          verifyAppleAppAttestation(object, (cases[c] ?? cases[0])?.options as never),
        );
      },
    };
  },
};

export const appleAssertion: Target = {
  name: 'apple-assertion',
  about: 'Apple App Attest assertions (verifyAppleAssertion): real device samples and test ones',
  async setup(): Promise<Harness> {
    const cases: { object: Uint8Array; options: Parameters<typeof verifyAppleAssertion>[1] }[] = [];
    for (const f of fixtures('apple-appattest-')) {
      if (!f.raw?.assertion_b64) continue;
      cases.push({
        object: b64(f.raw.assertion_b64),
        options: {
          publicKey: f.inputs.attested_public_key_pem,
          expectedClientDataHash: b64(f.inputs.client_data_hash_b64),
          expectedAppId: f.inputs.app_id,
          previousCounter: f.inputs.previous_counter ?? 0,
        },
      });
    }
    const pki = createTestAppAttestAuthority();
    const clientDataHash = createHash('sha256').update('fuzz').digest();
    const a = pki.attest({ appId: 'ABCDE12345.com.beta.orders', clientDataHash });
    for (const counter of [1, 2 ** 31]) {
      const s = pki.assert({
        privateKey: a.privateKey,
        appId: 'ABCDE12345.com.beta.orders',
        clientDataHash,
        counter,
      });
      cases.push({
        object: s.assertion,
        options: {
          publicKey: a.publicKey,
          expectedClientDataHash: clientDataHash,
          expectedAppId: 'ABCDE12345.com.beta.orders',
          previousCounter: 0,
        },
      });
    }
    const donors = cases.map((c) => c.object);
    return {
      seeds: donors,
      generate(rng) {
        const c = rng.int(cases.length);
        return { c, object: appleObject(rng, (cases[c] as (typeof cases)[number]).object, donors) };
      },
      run(input) {
        const { c, object } = input as { c: number; object: string | Uint8Array };
        return outcomeOfSync(() => verifyAppleAssertion(object, (cases[c] ?? cases[0])?.options as never));
      },
    };
  },
};

const pem = (der: Uint8Array): string =>
  `-----BEGIN CERTIFICATE-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END CERTIFICATE-----\n`;

export const certificates: Target = {
  name: 'certificates',
  about:
    'certificate chains as PEM (certificatesFromPem, loadTrustAnchors): license attestation roots, trust anchors',
  async setup(): Promise<Harness> {
    const ders: Uint8Array[] = [];
    for (const f of fixtures('android-keyattest-'))
      for (const c of f.raw.certificate_chain_der_b64 as string[]) ders.push(b64(c));
    for (const name of readdirSync(join(FIXTURES, 'roots')).filter((n) => n.endsWith('.pem')))
      for (const d of certificatesFromPem(readFileSync(join(FIXTURES, 'roots', name), 'utf8'))) ders.push(d);
    ders.push(...certificatesFromPem(createTestAttestationAuthority().rootPem));
    const seeds = ders.map(pem);
    return {
      seeds,
      generate(rng) {
        const r = rng.int(100);
        const chain = Array.from({ length: rng.pick([1, 1, 2, 3]) }, () => rng.pick(ders));
        if (r < 3) return chain.map(pem).join('');
        if (r < 20) return mutateText(rng, chain.map(pem).join(''), rng.pick(seeds));
        if (r < 25)
          return rng.pick([
            '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
            `-----BEGIN CERTIFICATE-----\n${'A'.repeat(100_000)}\n-----END CERTIFICATE-----\n`,
            '-----BEGIN CERTIFICATE-----\nAAAA',
            `-----BEGIN PUBLIC KEY-----\n${Buffer.from(rng.pick(ders)).toString('base64')}\n-----END PUBLIC KEY-----\n`,
            pem(rng.pick(ders)).repeat(rng.pick([10, 500])),
            nastyString(rng),
          ]);
        const i = rng.int(chain.length);
        chain[i] = mutateDer(rng, chain[i] as Uint8Array, ders);
        return chain.map(pem).join(rng.pick(['', '\n', '\r\n', 'junk\n']));
      },
      run(input) {
        return outcomeOfSync(() => {
          certificatesFromPem(input as string);
          loadTrustAnchors(input as string);
        });
      },
    };
  },
};

export const ATTESTATION_TARGETS = [androidAttestation, appleAttestation, appleAssertion, certificates];
