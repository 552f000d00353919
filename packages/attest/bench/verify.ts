/**
 * CPU cost of one verification (the budget: registration with attestation under 5 ms median
 * CPU). Run: node --import tsx packages/attest/bench/verify.ts
 *
 * Cases: a real Android chain whose leaf is new while its batch intermediates and root were seen before
 * (the normal registration), the same chain fully cold (first device of a batch after a restart),
 * generated chains with a distinct leaf every time, a real App Attest attestation with a new credential
 * certificate, and an App Attest assertion.
 */
import { readFileSync } from 'node:fs';
import { Decoder } from 'cbor-x';
import { clearCertificateCaches, evictCertificate } from '../src/certificate.ts';
import {
  attestationBinding,
  createTestAttestationAuthority,
  verifyAndroidKeyAttestation,
  verifyAppleAppAttestation,
  verifyAppleAssertion,
} from '../src/index.ts';

const ITERATIONS = 400;
const WARMUP = 50;

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON.
function fixture(name: string): any {
  return JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
}

function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}

function measure(name: string, setup: (i: number) => void, run: (i: number) => void): void {
  for (let i = 0; i < WARMUP; i++) {
    setup(i);
    run(i);
  }
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    setup(i);
    samples.push(cpuMs(() => run(i)));
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(3);
  console.log(`${name.padEnd(58)} median ${at(0.5)} ms   p90 ${at(0.9)} ms`);
}

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

for (const file of [
  'android-keyattest-androidkeyattestation-5.json',
  'android-keyattest-androidkeyattestation-1.json',
]) {
  const f = fixture(file);
  const x5c: string[] = f.raw.certificate_chain_der_b64;
  const opts = { expectedChallenge: b64(f.inputs.expected_challenge_b64), at: new Date(f.valid_at) };
  const leaf = b64(x5c[0]!);
  const label = `android ${file.replace('android-keyattest-', '').replace('.json', '')} (${x5c.length} certs)`;
  measure(
    `${label}, new leaf`,
    () => evictCertificate(leaf),
    () => verifyAndroidKeyAttestation(x5c, opts),
  );
  measure(
    `${label}, cold caches`,
    () => clearCertificateCaches(),
    () => verifyAndroidKeyAttestation(x5c, opts),
  );
}

{
  const authority = createTestAttestationAuthority({ rootKeyType: 'rsa' });
  const challenge = attestationBinding('bench-nonce', 'bench-jkt');
  const chains = Array.from({ length: ITERATIONS + WARMUP }, () => authority.attest({ challenge }).x5c);
  const opts = { expectedChallenge: challenge, trustedRoots: authority.trustedRoots };
  measure(
    'android generated, distinct leaf each time (4 certs)',
    () => {},
    (i) => verifyAndroidKeyAttestation(chains[i]!, opts),
  );
}

{
  const f = fixture('apple-appattest-veehaitch-1.json');
  const bytes = b64(f.raw.attestation_object_b64);
  const opts = {
    expectedKeyId: f.raw.key_id_b64,
    expectedClientDataHash: b64(f.inputs.client_data_hash_b64),
    expectedAppId: f.inputs.app_id,
    allowDevelopment: true,
    at: new Date(f.valid_at),
  };
  // The credential certificate is new for every attestation; the intermediate is shared.
  const decoded = new Decoder({ mapsAsObjects: false, useRecords: false }).decode(Buffer.from(bytes));
  const credCert = new Uint8Array(decoded.get('attStmt').get('x5c')[0]);
  measure(
    'apple attestation veehaitch-1, new credential cert',
    () => evictCertificate(credCert),
    () => verifyAppleAppAttestation(bytes, opts),
  );
  measure(
    'apple attestation veehaitch-1, cold caches',
    () => clearCertificateCaches(),
    () => verifyAppleAppAttestation(bytes, opts),
  );
}

{
  const f = fixture('apple-appattest-veehaitch-assertion-1.json');
  const opts = {
    publicKey: f.inputs.attested_public_key_pem,
    expectedClientDataHash: b64(f.inputs.client_data_hash_b64),
    expectedAppId: f.inputs.app_id,
    previousCounter: 0,
  };
  measure(
    'apple assertion veehaitch-assertion-1 (PEM key)',
    () => {},
    () => verifyAppleAssertion(f.raw.assertion_b64, opts),
  );
}
