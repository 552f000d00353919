/**
 * Offline verification of an Android Key Attestation certificate chain (SPEC §3 "android-key").
 *
 * The chain proves, when it ends at a Google hardware root, that the leaf key was generated inside the
 * device's TEE or StrongBox, for the app named in attestationApplicationId, with the challenge the
 * server chose. The gateway then checks that the leaf key is the instance's DPoP key.
 */
import type { KeyObject } from 'node:crypto';
import { asBytes, base64, bytesEqual, decodeBase64, hex, instantOf } from './bytes.ts';
import {
  MAX_CERTIFICATE_BYTES,
  type ParsedCertificate,
  parseCertificate,
  publicKeyOf,
} from './certificate.ts';
import { MAX_CHAIN_LENGTH, validateChain } from './chain.ts';
import { children, readSingle } from './der.ts';
import { guarded, malformed, refuse } from './errors.ts';
import {
  type AndroidSecurityLevel,
  type AttestedPackage,
  KEY_DESCRIPTION_OID,
  type KeyDescriptionInfo,
  parseKeyDescription,
  type VerifiedBootState,
} from './keyDescription.ts';
import { bundledRevocationList, RevocationList, type RevocationSnapshot } from './revocation.ts';
import { androidSoftwareRoots, googleHardwareRoots, resolveAnchors, type TrustAnchor } from './roots.ts';

/** What the caller expects, and how strict to be. */
export interface AndroidKeyAttestationOptions {
  /** The challenge the server issued (SPEC §3: the binding); `null` skips the check (inspection only). */
  expectedChallenge: Uint8Array | null;
  /** The app's package name; must be among the attested packages. */
  expectedPackageName?: string;
  /** Allowed signing-certificate SHA-256 digests (hex); every attested digest must be among them. */
  expectedSigningCertDigests?: readonly string[];
  /** Verification instant (default: now). */
  at?: Date | number;
  /** Anchors replacing the bundled Google roots (TrustAnchor objects or PEM text). */
  trustedRoots?: readonly (TrustAnchor | string)[];
  /** Serials revoked on top of the snapshot (hex), or a prepared {@link RevocationList}. */
  revokedSerials?: Iterable<string> | RevocationList;
  /** Replace the bundled revocation snapshot (`null`: none) when `revokedSerials` is not a RevocationList. */
  revocationSnapshot?: RevocationSnapshot | null;
  /** Lowest acceptable security level (default TRUSTED_ENVIRONMENT; software is never accepted). */
  minSecurityLevel?: 'TRUSTED_ENVIRONMENT' | 'STRONG_BOX';
  /** Require verified boot state VERIFIED and a locked bootloader. */
  requireVerifiedBoot?: boolean;
}

/** A verified Android key attestation. */
export interface AndroidKeyAttestation {
  securityLevel: 'TRUSTED_ENVIRONMENT' | 'STRONG_BOX';
  keymintSecurityLevel: AndroidSecurityLevel;
  attestationVersion: number;
  keymintVersion: number;
  challenge: Uint8Array;
  packages: AttestedPackage[];
  /** Lowercase hex SHA-256 of the app's signing certificates. */
  signatureDigests: string[];
  verifiedBootState: VerifiedBootState | null;
  deviceLocked: boolean | null;
  osVersion: number | null;
  osPatchLevel: number | null;
  /** Name of the anchor the chain ends at ('google-rsa', 'google-ec', or a custom label). */
  root: string;
  /**
   * The attested key: compare it with the instance key. `null` when Node cannot use the key's
   * algorithm (an ML-DSA leaf on new Pixels): the attestation is genuine, but the key cannot be a
   * Charter instance key (DPoP signs with EC, RSA or Ed25519), so a gateway must refuse to register it.
   */
  leafPublicKey: KeyObject | null;
  /** The attested key's algorithm: 'ec-p256', 'rsa-2048', 'ed25519', 'ml-dsa-65', … or its OID. */
  leafKeyAlgorithm: string;
  /** DER SubjectPublicKeyInfo of the attested key. */
  leafSpki: Uint8Array;
  /** Everything decoded from the KeyDescription. */
  keyDescription: KeyDescriptionInfo;
  /**
   * The serial of each certificate of the chain, leaf first, as the revocation check read them
   * (lowercase hex as Google's status list keys them, '-' if negative): kept with an instance, so a
   * serial revoked later is found without parsing the chain again.
   */
  chainSerials: string[];
}

const LEVEL_RANK: Record<AndroidSecurityLevel, number> = {
  SOFTWARE: 0,
  TRUSTED_ENVIRONMENT: 1,
  STRONG_BOX: 2,
};

/**
 * Verify an attestation chain, leaf first: base64 DER strings (the `x5c` of SPEC §3) or DER bytes.
 * Throws CharterError `invalid_attestation` on any refusal; never any other error for bad input.
 */
export function verifyAndroidKeyAttestation(
  x5c: readonly (string | Uint8Array)[],
  options: AndroidKeyAttestationOptions,
): AndroidKeyAttestation {
  const at = instantOf(options.at);
  return guarded('The attestation chain cannot be decoded.', () => {
    if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > MAX_CHAIN_LENGTH) {
      malformed('The certificate chain must be a non-empty list of at most eight certificates.');
    }
    const certs: ParsedCertificate[] = x5c.map((c) => {
      if (typeof c === 'string') {
        // Size first: decoding megabytes of base64 only to refuse them afterwards is wasted work.
        if (c.length > MAX_CERTIFICATE_BYTES * 2) malformed('A certificate is empty or too large.');
        return parseCertificate(decodeBase64(c, 'certificate'));
      }
      if (c instanceof Uint8Array) return parseCertificate(c);
      return malformed('A certificate is neither base64 nor bytes.');
    });

    const { anchor } = validateChain(certs, {
      anchors: resolveAnchors(options.trustedRoots, googleHardwareRoots),
      at,
      revoked: revocationListOf(options),
      untrusted: androidSoftwareRoots(),
      untrustedDetail: 'ERR_ATTEST_SOFTWARE',
      processedExtensions: [KEY_DESCRIPTION_OID],
      androidRules: true,
    });

    const leaf = certs[0]!;
    const ext = leaf.extensions.get(KEY_DESCRIPTION_OID);
    if (!ext) refuse('ERR_ATTEST_EXTENSION', 'The leaf certificate has no key attestation extension.');
    const kd = parseKeyDescription(ext.value);

    // Both levels: the attestation (who signed the statement) and KeyMint (where the key lives).
    if (kd.attestationSecurityLevel === 'SOFTWARE' || kd.keymintSecurityLevel === 'SOFTWARE') {
      refuse('ERR_ATTEST_SOFTWARE', 'The key is attested by software, not by secure hardware.');
    }
    const minimum = options.minSecurityLevel ?? 'TRUSTED_ENVIRONMENT';
    if (LEVEL_RANK[kd.attestationSecurityLevel] < LEVEL_RANK[minimum]) {
      refuse('ERR_ATTEST_SECURITY_LEVEL', 'The key is not held at the required security level.');
    }
    if (options.expectedChallenge !== null) {
      const expected = asBytes(options.expectedChallenge);
      if (!bytesEqual(kd.challenge, expected)) {
        refuse('ERR_ATTEST_CHALLENGE', 'The attestation challenge does not match.');
      }
    }
    if (options.expectedPackageName !== undefined) {
      if (!kd.packages.some((p) => p.name === options.expectedPackageName)) {
        refuse('ERR_ATTEST_APP_ID', 'The attested app is not the expected package.');
      }
    }
    if (options.expectedSigningCertDigests !== undefined) {
      // Every signer of the app must be approved; an app signed by an unknown certificate is not ours.
      const allowed = new Set(options.expectedSigningCertDigests.map((d) => d.toLowerCase()));
      if (kd.signatureDigests.length === 0 || !kd.signatureDigests.every((d) => allowed.has(d))) {
        refuse('ERR_ATTEST_APP_ID', 'The attested app is not signed by an approved certificate.');
      }
    }
    // An imported key may have existed outside the device before: it proves nothing about the instance.
    if (kd.origin !== null && kd.origin !== 0) {
      refuse('ERR_ATTEST_KEY_ORIGIN', 'The attested key was not generated on the device.');
    }
    if (options.requireVerifiedBoot) {
      if (kd.rootOfTrust?.verifiedBootState !== 'VERIFIED' || !kd.rootOfTrust.deviceLocked) {
        refuse('ERR_ATTEST_BOOT', 'The device is not locked with a verified boot state.');
      }
    }
    // The chain and the statement are verified; whether the key itself is usable is the caller's call.
    let leafPublicKey: KeyObject | null;
    try {
      leafPublicKey = publicKeyOf(leaf);
    } catch {
      leafPublicKey = null;
    }

    return {
      securityLevel: kd.attestationSecurityLevel as 'TRUSTED_ENVIRONMENT' | 'STRONG_BOX',
      keymintSecurityLevel: kd.keymintSecurityLevel,
      attestationVersion: kd.attestationVersion,
      keymintVersion: kd.keymintVersion,
      challenge: kd.challenge,
      packages: kd.packages,
      signatureDigests: kd.signatureDigests,
      verifiedBootState: kd.rootOfTrust?.verifiedBootState ?? null,
      deviceLocked: kd.rootOfTrust?.deviceLocked ?? null,
      osVersion: kd.osVersion,
      osPatchLevel: kd.osPatchLevel,
      root: anchor.name,
      leafPublicKey,
      leafKeyAlgorithm: keyAlgorithmName(leafPublicKey, leaf.spki),
      leafSpki: leaf.spki,
      keyDescription: kd,
      chainSerials: certs.map((c) => c.serialHex),
    };
  });
}

/** The SPEC §4 JSON view of a verified Android attestation. */
export function androidAttestationJson(result: AndroidKeyAttestation): Record<string, unknown> {
  return {
    verified: true,
    security_level: result.securityLevel,
    challenge_hex: hex(result.challenge),
    packages: result.packages.map((p) => ({ name: p.name, version: p.version })),
    signature_digests: result.signatureDigests,
    verified_boot_state: result.verifiedBootState,
    device_locked: result.deviceLocked,
    os_version: result.osVersion,
    os_patch_level: result.osPatchLevel,
    root: result.root,
    leaf_spki_b64: base64(result.leafSpki),
    leaf_key_algorithm: result.leafKeyAlgorithm,
  };
}

/** Names of SubjectPublicKeyInfo algorithms Node 20 cannot load (FIPS 204 ML-DSA). */
const UNLOADABLE_KEY_ALGORITHMS: Record<string, string> = {
  '2.16.840.1.101.3.4.3.17': 'ml-dsa-44',
  '2.16.840.1.101.3.4.3.18': 'ml-dsa-65',
  '2.16.840.1.101.3.4.3.19': 'ml-dsa-87',
};

/** A short name for the attested key's algorithm, for reports and refusal reasons. */
function keyAlgorithmName(key: KeyObject | null, spki: Uint8Array): string {
  if (key) {
    const d = key.asymmetricKeyDetails;
    if (key.asymmetricKeyType === 'ec') {
      const curve = { prime256v1: 'p256', secp384r1: 'p384', secp521r1: 'p521' }[d?.namedCurve ?? ''];
      return `ec-${curve ?? d?.namedCurve ?? 'unknown'}`;
    }
    if (key.asymmetricKeyType === 'rsa') return `rsa-${d?.modulusLength ?? 'unknown'}`;
    return key.asymmetricKeyType ?? 'unknown';
  }
  // An unknown OID is reported as such (digits and dots only, by construction), but never a long one:
  // the name ends up in log lines.
  const oid = spkiAlgorithmOid(spki);
  return UNLOADABLE_KEY_ALGORITHMS[oid] ?? (oid.length <= 64 ? oid : 'unknown');
}

/** The algorithm OID of a DER SubjectPublicKeyInfo (SEQUENCE { SEQUENCE { OID, … }, BIT STRING }). */
function spkiAlgorithmOid(spki: Uint8Array): string {
  const [alg] = children(spki, readSingle(spki));
  const oid = alg?.constructed ? children(spki, alg)[0] : undefined;
  if (!oid || oid.constructed || oid.tagNumber !== 6) return 'unknown';
  const bytes = spki.subarray(oid.contentStart, oid.end);
  const arcs: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

function revocationListOf(options: AndroidKeyAttestationOptions): RevocationList {
  const extra = options.revokedSerials;
  if (extra instanceof RevocationList) return extra;
  if (extra === undefined && options.revocationSnapshot === undefined) return bundledRevocationList();
  // Built per call: a caller-owned array may change between calls. Long lists: pass a RevocationList.
  return RevocationList.create(extra ?? [], options.revocationSnapshot);
}
