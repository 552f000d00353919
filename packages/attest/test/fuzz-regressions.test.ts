/**
 * Regression tests for what the fuzzing campaign (`npm run fuzz`, target `certificates`) found: each
 * input below is the exact failing one the campaign wrote, and each must be refused with
 * `invalid_attestation`, never with node:crypto's own error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharterError } from '@charter/core';
import { certificatesFromPem, loadTrustAnchors } from '../src/index.ts';

/** A hardware-attestation intermediate whose SPKI algorithm parameters were damaged (seed 1, input 213). */
const DAMAGED_EC_PARAMETERS = [
  '-----BEGIN CERTIFICATE-----',
  'MIIB+zCCAYGgAwIBAgIQFNaOB9bRglm9yRd1cajghjAKBggqhkjOPQQDAjA5MQww',
  'CgYDVQQMDANURUUxKTAnBgNVBAUTIDhlYTAzZjlmNzcyNWFhNDhkNzgzNzk1MzNi',
  'MzAxYmE5MB4XDTIyMDkxNzE3MjYyNFoXDTMyMDkxNDE3MjYyNFowOTEMMAoGA1UE',
  'DAwDVEVFMSkwJwYDVQQFEyBmZmY4ZmFiNTBjMTQ4MDJiMGRiYWNjNDkyOGY1MWQy',
  'NTBhMBsGByqGSM49AgEGECqGSM49AwEHKoZIzj0DAQcDQgAEJ4Uczt61zh6SngHq',
  '7uYo53AAlF2uGtFK7jlLZ8fErTgAXahaJe118E6xZaLbYRQFfFQfwi4YVm3dYxQv',
  'ce5YN6NjMGEwHQYDVR0OBBYEFJ/QQZFEzWwVMJoI3OkSpPLBCe3xMB8GA1UdIwQY',
  'MBaAFE6YhmzsWhQerIKIvn1xXnNw5nJ2MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P',
  'AQH/BAQDAgIEMAoGCCqGSM49BAMCA2gAMGUCMQCNVaHRmxbD7J8vq3cgnL3V45+p',
  '3UgRU61jW/LQ1xFu9yRGxPbsrNLS2rt/2oK2+08CMB72e4GZFoECIzB3/jiPHzBP',
  '8tYa4dcm/XxjlAw4GBDbpgszXBmZEGrVd94fNTI2Uw==',
  '-----END CERTIFICATE-----',
  '',
].join('\n');

/** An Android leaf whose SPKI algorithm OID was emptied (seed 1, input 529). */
const EMPTY_KEY_ALGORITHM = [
  '-----BEGIN CERTIFICATE-----',
  'MIIC8TCCApigAwIBAgIBATAKBggqhkjOPQQDAjA/MSkwJwYDVQQDEyA2NWQyOTQ5',
  'NTM2OTI0ZGE2OTVmNWFlMWViMjkwY2Q0ZDESMBAGA1UEChMJU3Ryb25nQm94MB4X',
  'DTcwMDEwMTAwMDAwMFoXDTQ4MDEwMTAwMDAwMFowHzEdMBsGA1UEAxMUQW5kcm9p',
  'ZCBLZXlzdG9yZSBLZXkwUTALBgcqhkjOPQIBBgADQgAE+Gl7bo5WLfz1JIUg+5LD',
  'xoSRacKV0kFeRxtoBIsqXGz0derkmq9OeZY0Pdi6UUN96aKtiAz7Lw4rwsDebo3V',
  'oqOCAaswggGnMIIBkwYKKwYBBAHWeQIBEQSCAYMwggF/AgIBLAoBAgICASwKAQIE',
  'JDdjY2FjMWVhLTQ4NDUtNDgyZS04NThkLWY2ZmE5YWE4YzI5NQQAMF+/hT0IAgYB',
  'mYal8be/hUVPBE0wSzElMCMEHmNvbS5nb29nbGUuYW5kcm9pZC5hdHRlc3RhdGlv',
  'bgIBADEiBCAQOTjuRTflno7nkvZUUE+4NG/Gs0bQu8RBX8M5/PyOwTCB5aEIMQYC',
  'AQICAQOiAwIBA6MEAgIBAKUFMQMCAQSqAwIBAb+DdwIFAL+FPgMCAQC/hUBMMEoE',
  'IAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQH/CgEABCAGojkltlR+',
  'wSQIbKXt3TXDX1jObraKE6/f1BlcQcYe1L+FQQUCAwJxAL+FQgUCAwMXD7+FRggE',
  'Bmdvb2dsZb+FRwgEBmNhaW1hbr+FSAgEBmNhaW1hbr+FTAgEBkdvb2dsZb+FTQ0E',
  'C1BpeGVsIDkgUHJvv4VOBgIEATUB4b+FTwYCBAE1AeEwDgYDVR0PAQH/BAQDAgeA',
  'MAoGCCqGSM49BAMCA0cAMEQCIGQPG/5tY3laPN3gU+UDeDLLFkJq5mQs/vh5LZCT',
  '9tJXAiAvGNSmkBx3e+WWHtU4ogV0xiDyY1xDq9MxfsmT2VV6HQ==',
  '-----END CERTIFICATE-----',
  '',
].join('\n');

for (const [name, pem] of [
  ['damaged EC parameters', DAMAGED_EC_PARAMETERS],
  ['an empty key algorithm', EMPTY_KEY_ALGORITHM],
] as const) {
  test(`loadTrustAnchors refuses a certificate with ${name} as invalid_attestation`, () => {
    // The certificate itself parses: only its public key is unusable.
    assert.equal(certificatesFromPem(pem).length, 1);
    assert.throws(
      () => loadTrustAnchors(pem),
      (e: unknown) =>
        e instanceof CharterError && e.code === 'invalid_attestation' && e.detail === 'ERR_ATTEST_MALFORMED',
    );
  });
}
