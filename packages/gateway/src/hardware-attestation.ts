/**
 * Hardware attestation for registration and token requests, verified offline with @charter/attest:
 * Android Key Attestation (the attested key must be the instance's DPoP key) and Apple App Attest
 * (attestation at registration, a fresh assertion at every token request with a counter that must
 * strictly increase). Policy — extra roots, revoked serials, verified boot, minimum security level,
 * development keys — comes only from the vendor-signed license.
 */
import { createHash } from 'node:crypto';
import {
  ANDROID_REVOCATION_SNAPSHOT,
  appleAppAttestationRoots,
  googleHardwareRoots,
  loadTrustAnchors,
  revocationSnapshotAgeDays,
  samePublicKey,
  type TrustAnchor,
  verifyAndroidKeyAttestation,
  verifyAppleAppAttestation,
  verifyAppleAssertion,
} from '@charter/attest';
import { CharterError, type LicenseClaims, type Refuse, refuser } from '@charter/core';
import type {
  AssertionInput,
  AttestationInput,
  AttestationResult,
  AttestationVerifier,
} from './attestation.ts';
import type { GatewayStore } from './store.ts';

/** Options of {@link createHardwareAttestationVerifier}. */
export interface HardwareAttestationOptions {
  /** Where App Attest counters are advanced atomically. */
  store: GatewayStore;
  /** Replace the bundled Google roots (development and tests only). */
  androidRoots?: readonly (TrustAnchor | string)[];
  /** Replace the bundled Apple App Attestation root (development and tests only). */
  appleRoots?: readonly (TrustAnchor | string)[];
}

const refuse: Refuse = refuser('invalid_attestation');

/** Extra anchors a license adds to a base set; parsed once per license token. */
const licenseAnchors = new WeakMap<LicenseClaims, TrustAnchor[]>();
function anchorsOf(license: LicenseClaims): TrustAnchor[] {
  let anchors = licenseAnchors.get(license);
  if (!anchors) {
    anchors = license.attestation?.roots?.length
      ? loadTrustAnchors(license.attestation.roots, 'license')
      : [];
    licenseAnchors.set(license, anchors);
  }
  return anchors;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 65536) {
    return refuse('ERR_ATTEST_MALFORMED', `the attestation's ${what} is missing or malformed`);
  }
  return value;
}

/** What Android chains are checked against for revocation: the bundled snapshot and the license's serials. */
export interface AndroidRevocationStatus {
  /** Date (YYYY-MM-DD) of the bundled snapshot of Google's status list. */
  snapshot_date: string;
  /** Its age in whole days: serials Google revoked since are enforced only if the license brings them. */
  snapshot_age_days: number;
  snapshot_serials: number;
  /** Serials the license in force adds (`attestation.android_revoked`). */
  license_serials: number;
}

/** The revocation status an operator is shown (console overview), as of `nowS` (seconds). */
export function androidRevocationStatus(license: LicenseClaims, nowS: number): AndroidRevocationStatus {
  return {
    snapshot_date: ANDROID_REVOCATION_SNAPSHOT.date,
    snapshot_age_days: revocationSnapshotAgeDays(nowS * 1000),
    snapshot_serials: Object.keys(ANDROID_REVOCATION_SNAPSHOT.entries).length,
    license_serials: license.attestation?.android_revoked?.length ?? 0,
  };
}

/** The verifier to pass as `attestationVerifier` to a gateway. */
export function createHardwareAttestationVerifier(options: HardwareAttestationOptions): AttestationVerifier {
  const googleRoots = options.androidRoots ?? googleHardwareRoots();
  const appleRoots = options.appleRoots ?? appleAppAttestationRoots();

  function android(input: AttestationInput): AttestationResult {
    const a = input.attestation;
    if (a.fmt !== 'android-key')
      refuse('ERR_ATTEST_FORMAT', 'android attestation must have fmt "android-key"');
    if (!Array.isArray(a.x5c)) refuse('ERR_ATTEST_MALFORMED', 'the attestation has no x5c chain');
    const binding = input.charter.platforms.android;
    if (!binding) return refuse('ERR_ATTEST_PLATFORM', 'the charter does not name an Android app');
    const policy = input.license.attestation;
    const result = verifyAndroidKeyAttestation(a.x5c as string[], {
      expectedChallenge: null,
      expectedPackageName: binding.package_name,
      expectedSigningCertDigests: binding.signing_cert_sha256,
      at: new Date(input.now * 1000),
      trustedRoots: [...googleRoots, ...anchorsOf(input.license)],
      revokedSerials: policy?.android_revoked ?? [],
      ...(policy?.min_security_level ? { minSecurityLevel: policy.min_security_level } : {}),
      ...(policy?.require_verified_boot ? { requireVerifiedBoot: true } : {}),
    });
    // The challenge commits to the single-use nonce. SPEC §3 binds nonce and jkt; an Android key's
    // challenge must be set before the key exists, so devices can only commit to the nonce, and the
    // jkt is bound instead by the leaf key being the very key that signed the DPoP proof.
    const challenge = Buffer.from(result.challenge);
    const nonceOnly = createHash('sha256').update(input.nonce, 'ascii').digest();
    if (!challenge.equals(input.binding) && !challenge.equals(nonceOnly)) {
      refuse('ERR_ATTEST_CHALLENGE', 'the attestation challenge is not bound to this registration nonce');
    }
    // A genuine chain can attest a key Node cannot load (an ML-DSA leaf on new Pixels): it can never be
    // the DPoP key, so the registration is refused with that reason rather than a failed comparison.
    if (result.leafPublicKey === null) {
      return refuse(
        'ERR_ATTEST_UNSUPPORTED',
        `the attested key (${result.leafKeyAlgorithm}) cannot be a Charter instance key: attest an EC P-256, RSA or Ed25519 key`,
      );
    }
    if (!samePublicKey(result.leafPublicKey, input.instanceKey)) {
      refuse('ERR_ATTEST_KEY', 'the attested key is not the instance key that signed the proof');
    }
    return {
      state: {
        fmt: 'android-key',
        security_level: result.securityLevel,
        verified_boot_state: result.verifiedBootState,
        device_locked: result.deviceLocked,
        os_patch_level: result.osPatchLevel,
        root: result.root,
        // Checked again against each newer license's revoked serials (instance-check.ts).
        serials: result.chainSerials,
      },
    };
  }

  function ios(input: AttestationInput): AttestationResult {
    const a = input.attestation;
    if (a.fmt !== 'apple-appattest')
      refuse('ERR_ATTEST_FORMAT', 'ios attestation must have fmt "apple-appattest"');
    const binding = input.charter.platforms.ios;
    if (!binding) return refuse('ERR_ATTEST_PLATFORM', 'the charter does not name an iOS app');
    const appId = `${binding.team_id}.${binding.bundle_id}`;
    const result = verifyAppleAppAttestation(text(a.attestation, 'attestation'), {
      expectedKeyId: text(a.key_id, 'key_id'),
      expectedClientDataHash: input.binding,
      expectedAppId: appId,
      allowDevelopment: input.license.attestation?.allow_development === true,
      at: new Date(input.now * 1000),
      trustedRoots: [...appleRoots, ...anchorsOf(input.license)],
    });
    return {
      state: {
        fmt: 'apple-appattest',
        app_id: appId,
        key_id: Buffer.from(result.keyId).toString('base64'),
        public_key_pem: result.publicKeyPem,
        environment: result.environment,
        counter: result.counter,
      },
    };
  }

  return {
    async verifyAttestation(input) {
      return input.platform === 'android' ? android(input) : ios(input);
    },

    async verifyAssertion(input: AssertionInput) {
      const state = input.instance.attestation_state;
      if (input.instance.platform !== 'ios' || !input.instance.attested || state?.fmt !== 'apple-appattest')
        return;
      if (input.nonce === undefined) {
        throw new CharterError(
          'use_dpop_nonce',
          'ERR_ASSERTION_NONCE',
          'an App Attest instance needs a server nonce on token requests',
        );
      }
      if (input.assertion === undefined) {
        throw new CharterError(
          'attestation_required',
          'ERR_ASSERTION_MISSING',
          'an App Attest instance must send an assertion with each token request',
        );
      }
      const previous = typeof state.counter === 'number' ? state.counter : 0;
      const { counter } = verifyAppleAssertion(text(input.assertion, 'assertion'), {
        publicKey: state.public_key_pem as string,
        expectedClientDataHash: createHash('sha256').update(`${input.nonce}.${input.jkt}`, 'ascii').digest(),
        expectedAppId: state.app_id as string,
        previousCounter: previous,
      });
      // Compare-and-set: of two concurrent assertions carrying one counter, only one advances it.
      if (!(await options.store.advanceAttestationCounter(input.instance.instance_id, counter))) {
        refuse(
          'ERR_ATTEST_COUNTER',
          'the assertion counter did not increase (replayed or concurrent assertion)',
        );
      }
    },
  };
}
