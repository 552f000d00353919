/**
 * Trust anchors. An anchor is a public key (plus the subject name it signs as), not a certificate:
 * Google re-issued its RSA root with new dates around the same key, so chains embedding any of the
 * re-issues, or none, must all be accepted, and the validity dates of the root certificate itself are
 * irrelevant (RFC 5280 §6.1.1 treats anchor information as trusted input, not as a certificate).
 * Anchors are parsed once and cached; per-call work is only the chain itself.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { hex } from './bytes.ts';
import { type ParsedCertificate, parseCertificate, publicKeyOf, spkiKey } from './certificate.ts';
import { guarded, malformed } from './errors.ts';
import { APPLE_APP_ATTESTATION_ROOT_CA } from './roots/apple.ts';
import {
  GOOGLE_EC_ROOT_2025,
  GOOGLE_RSA_ROOT_2016,
  GOOGLE_RSA_ROOT_2019,
  GOOGLE_RSA_ROOT_2021,
  GOOGLE_RSA_ROOT_2022,
} from './roots/google.ts';
import { AOSP_SOFTWARE_ROOT_EC, AOSP_SOFTWARE_ROOT_RSA } from './roots/software.ts';

/** A trusted public key and the name it issues under. */
export interface TrustAnchor {
  /** 'google-rsa', 'google-ec', 'apple-app-attestation', or the caller's label ('custom' by default). */
  name: string;
  /** Canonical subject name of the anchor certificate (chains must name it as issuer). */
  subject: string;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** Lowercase hex SHA-256 of the SPKI (the usual way to pin a key). */
  spkiSha256: string;
  publicKey: KeyObject;
  /** pathLenConstraint of the anchor certificate, if it sets one. */
  pathLen: number | undefined;
}

/** Names of the keys this package knows, by SPKI SHA-256. */
const KNOWN_KEYS: Record<string, string> = {
  feb2ea7551ee316ed4bb443c8293b884dbfdea40b603ee3e4f4a897e4580fbae: 'google-rsa',
  '3ee44512a1af2beb39c889490c60ea3f82e43f5d5a5532f5ab9419f676cd07ec': 'google-ec',
  '1ae751fd29896d0f1f13fe226c063f445d40d8938acc6245c251ecc0679330bd': 'apple-app-attestation',
  d5100c7942ef2e8310dc30ef82729680cf48d690735c3f68179a33c7c370f286: 'aosp-software-ec',
  f2c4746f545946c100e72297f8f946344d7052f03a2f694221f9c893b0e6f711: 'aosp-software-rsa',
};

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/** The DER certificates of a PEM text (any number of CERTIFICATE blocks, in order). */
export function certificatesFromPem(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) {
    const body = (m[1] ?? '').replace(/\s+/g, '');
    if (body.length === 0 || body.length % 4 !== 0) malformed('A PEM certificate block is not valid base64.');
    out.push(new Uint8Array(Buffer.from(body, 'base64')));
  }
  if (out.length === 0) malformed('The text holds no PEM certificate.');
  return out;
}

/** Build an anchor from one parsed certificate; `name` defaults to the known name of its key, else 'custom'. */
export function trustAnchorFromCertificate(cert: ParsedCertificate, name?: string): TrustAnchor {
  const spkiSha256 = createHash('sha256').update(cert.spki).digest('hex');
  return {
    name: name ?? KNOWN_KEYS[spkiSha256] ?? 'custom',
    subject: cert.subject,
    spki: cert.spki,
    spkiSha256,
    publicKey: publicKeyOf(cert),
    pathLen: cert.basicConstraints?.pathLen,
  };
}

/**
 * Anchors from PEM text(s), deduplicated by public key (the four Google RSA re-issues collapse to one).
 * Use this once (e.g. when a license brings new roots) and pass the result as `trustedRoots`.
 */
export function loadTrustAnchors(pems: string | readonly string[], name?: string): TrustAnchor[] {
  const seen = new Set<string>();
  const out: TrustAnchor[] = [];
  for (const pem of typeof pems === 'string' ? [pems] : pems) {
    for (const der of certificatesFromPem(pem)) {
      // A certificate can parse and still carry a key node:crypto refuses (a damaged SPKI): that is a
      // refusal of the file like any other, never node's own error (found by the fuzzer).
      const anchor = guarded('A PEM certificate holds a public key that cannot be read.', () =>
        trustAnchorFromCertificate(parseCertificate(der), name),
      );
      if (seen.has(anchor.spkiSha256)) continue;
      seen.add(anchor.spkiSha256);
      out.push(anchor);
    }
  }
  return out;
}

let googleAnchors: readonly TrustAnchor[] | undefined;
let appleAnchors: readonly TrustAnchor[] | undefined;
let softwareAnchors: readonly TrustAnchor[] | undefined;

/** The bundled Google hardware attestation anchors (RSA-4096 root key, EC P-384 "Key Attestation CA1"). */
export function googleHardwareRoots(): readonly TrustAnchor[] {
  googleAnchors ??= Object.freeze(
    loadTrustAnchors([
      GOOGLE_RSA_ROOT_2022,
      GOOGLE_RSA_ROOT_2021,
      GOOGLE_RSA_ROOT_2019,
      GOOGLE_RSA_ROOT_2016,
      GOOGLE_EC_ROOT_2025,
    ]),
  );
  return googleAnchors;
}

/** The bundled Apple App Attestation Root CA anchor. */
export function appleAppAttestationRoots(): readonly TrustAnchor[] {
  appleAnchors ??= Object.freeze(loadTrustAnchors(APPLE_APP_ATTESTATION_ROOT_CA));
  return appleAnchors;
}

/** The AOSP software-keystore roots: never trusted, only used to label a refusal. */
export function androidSoftwareRoots(): readonly TrustAnchor[] {
  softwareAnchors ??= Object.freeze(loadTrustAnchors([AOSP_SOFTWARE_ROOT_EC, AOSP_SOFTWARE_ROOT_RSA]));
  return softwareAnchors;
}

/** PEM texts of the bundled Google hardware roots (all four RSA re-issues and the EC root). */
export const GOOGLE_HARDWARE_ROOT_PEMS: readonly string[] = Object.freeze([
  GOOGLE_RSA_ROOT_2016,
  GOOGLE_RSA_ROOT_2019,
  GOOGLE_RSA_ROOT_2021,
  GOOGLE_RSA_ROOT_2022,
  GOOGLE_EC_ROOT_2025,
]);

/** PEM text of the bundled Apple App Attestation Root CA. */
export const APPLE_APP_ATTESTATION_ROOT_PEM: string = APPLE_APP_ATTESTATION_ROOT_CA;

const overrideCache = new Map<string, readonly TrustAnchor[]>();

/**
 * Resolve a `trustedRoots` option: anchors pass through, PEM strings are parsed (cached by text, so a
 * caller passing the same license roots every time pays the parse once).
 */
export function resolveAnchors(
  roots: readonly (TrustAnchor | string)[] | undefined,
  fallback: () => readonly TrustAnchor[],
): readonly TrustAnchor[] {
  if (roots === undefined) return fallback();
  const out: TrustAnchor[] = [];
  for (const r of roots) {
    if (typeof r !== 'string') {
      out.push(r);
      continue;
    }
    let parsed = overrideCache.get(r);
    if (!parsed) {
      parsed = loadTrustAnchors(r);
      if (overrideCache.size >= 64) overrideCache.clear();
      overrideCache.set(r, parsed);
    }
    out.push(...parsed);
  }
  return out;
}

const indexCache = new WeakMap<readonly TrustAnchor[], Map<string, TrustAnchor>>();

/** Index anchors by SPKI for O(1) lookup (cached per anchor list). */
export function indexAnchors(anchors: readonly TrustAnchor[]): Map<string, TrustAnchor> {
  let m = indexCache.get(anchors);
  if (!m) {
    m = new Map<string, TrustAnchor>();
    for (const a of anchors) if (!m.has(spkiKey(a.spki))) m.set(spkiKey(a.spki), a);
    indexCache.set(anchors, m);
  }
  return m;
}

/** Lowercase hex SHA-256 of an SPKI. */
export function spkiSha256(spki: Uint8Array): string {
  return hex(createHash('sha256').update(spki).digest());
}
