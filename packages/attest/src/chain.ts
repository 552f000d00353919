/**
 * Certificate path validation (RFC 5280 §6, reduced to what attestation chains use): leaf first, each
 * certificate signed by the next, ending at a trust anchor matched by PUBLIC KEY. Checked per link:
 * issuer name, signature (algorithm allow-list, no SHA-1), no unknown critical extension anywhere, no
 * certificate on the revocation list, and then one of two rule sets:
 *
 * - RFC 5280 (App Attest): every certificate valid at the given instant; every issuer a CA
 *   (basicConstraints cA) allowed to sign certificates (keyUsage keyCertSign), pathLenConstraint kept.
 * - Android (Google's reference verifier, android/keyattestation KeyAttestationCertPathValidator):
 *   factory-provisioned batch certificates of real devices (Pixel 2, Galaxy S9, Sony, Huawei…) carry no
 *   CA basic constraint, so issuers are not required to be marked as CAs. What stops a chain from being
 *   extended (a genuine attested key used to sign a forged leaf) is instead that the attestation
 *   extension may appear on the leaf only: any certificate above the leaf that carries it is refused.
 *   Dates: the leaf's are set by the device and never judged; an issuer not yet valid is refused; an
 *   expired issuer is refused unless the chain is factory-provisioned, whose keys cannot be rotated.
 */
import {
  canSignCertificates,
  isSignedBy,
  type ParsedCertificate,
  publicKeyOf,
  spkiKey,
} from './certificate.ts';
import { refuse } from './errors.ts';
import { KEY_DESCRIPTION_OID } from './keyDescription.ts';
import type { RevocationList } from './revocation.ts';
import { indexAnchors, type TrustAnchor } from './roots.ts';

/** Longest chain accepted (RKP chains have 5 certificates with the root). */
export const MAX_CHAIN_LENGTH = 8;

/** Critical extensions the chain checks process; any other critical extension makes a certificate unusable. */
const UNDERSTOOD_CRITICAL: readonly string[] = ['2.5.29.15', '2.5.29.19'];

/** How to validate a path. */
export interface ChainOptions {
  anchors: readonly TrustAnchor[];
  /** Validation instant, ms since the epoch. */
  at: number;
  revoked?: RevocationList | undefined;
  /** Keys that are known but not trusted: a chain ending at one is refused with `untrustedDetail`. */
  untrusted?: readonly TrustAnchor[];
  untrustedDetail?: 'ERR_ATTEST_SOFTWARE' | 'ERR_ATTEST_ROOT';
  /** Further extensions the caller processes itself (e.g. the attestation extension), allowed as critical. */
  processedExtensions?: readonly string[];
  /** Validate with Google's rules for Android key attestation chains (module comment) instead of RFC 5280's. */
  androidRules?: boolean;
}

/** A validated path: the certificates below the anchor, and the anchor. */
export interface ValidatedChain {
  path: readonly ParsedCertificate[];
  anchor: TrustAnchor;
}

/** Validate `certs` (leaf first) or throw the matching refusal. */
export function validateChain(certs: readonly ParsedCertificate[], options: ChainOptions): ValidatedChain {
  if (certs.length === 0) refuse('ERR_ATTEST_MALFORMED', 'The certificate chain is empty.');
  if (certs.length > MAX_CHAIN_LENGTH) refuse('ERR_ATTEST_MALFORMED', 'The certificate chain is too long.');
  const { path, anchor } = findAnchor(certs, options);
  const understood = new Set([...UNDERSTOOD_CRITICAL, ...(options.processedExtensions ?? [])]);

  for (let i = 0; i < path.length; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1];
    const issuerName = issuer ? issuer.subject : anchor.subject;
    if (cert.issuer !== issuerName) {
      refuse('ERR_ATTEST_CHAIN', `Certificate ${i} does not name the next certificate as its issuer.`);
    }
    if (
      !isSignedBy(cert, issuer ? publicKeyOf(issuer) : anchor.publicKey, issuer ? issuer.spki : anchor.spki)
    ) {
      refuse('ERR_ATTEST_CHAIN', `The signature on certificate ${i} does not verify.`);
    }
    for (const [oid, ext] of cert.extensions) {
      if (ext.critical && !understood.has(oid)) {
        refuse(
          'ERR_ATTEST_CHAIN',
          `Certificate ${i} carries a critical extension this verifier does not process.`,
        );
      }
    }
    if (i > 0 && options.androidRules && cert.extensions.has(KEY_DESCRIPTION_OID)) {
      refuse(
        'ERR_ATTEST_CHAIN',
        `Certificate ${i} is above the leaf but carries an attestation extension (an extended chain).`,
      );
    }
    if (i > 0 && !options.androidRules) {
      // An issuer: must be a CA allowed to sign certificates, with room for the CAs below it.
      if (!cert.basicConstraints?.ca) refuse('ERR_ATTEST_CHAIN', `Certificate ${i} is not a CA certificate.`);
      if (!canSignCertificates(cert)) {
        refuse('ERR_ATTEST_CHAIN', `Certificate ${i} is not allowed to sign certificates.`);
      }
      const pathLen = cert.basicConstraints.pathLen;
      if (pathLen !== undefined && i - 1 > pathLen) {
        refuse('ERR_ATTEST_CHAIN', `Certificate ${i} has a path length constraint the chain exceeds.`);
      }
    }
  }
  if (!options.androidRules && anchor.pathLen !== undefined && path.length - 1 > anchor.pathLen) {
    refuse('ERR_ATTEST_CHAIN', 'The chain is longer than the trust anchor allows.');
  }
  const factory = options.androidRules === true && isFactoryProvisioned(path);
  for (let i = options.androidRules ? 1 : 0; i < path.length; i++) {
    const cert = path[i]!;
    if (options.at < cert.notBefore) {
      refuse('ERR_ATTEST_EXPIRED', `Certificate ${i} is not yet valid at the verification time.`);
    }
    if (options.at > cert.notAfter && !factory) {
      refuse('ERR_ATTEST_EXPIRED', `Certificate ${i} has expired at the verification time.`);
    }
  }
  if (options.revoked) {
    for (let i = 0; i < path.length; i++) {
      const cert = path[i]!;
      if (options.revoked.has(cert.serialHex, cert.serialDecimal)) {
        refuse('ERR_ATTEST_REVOKED', `Certificate ${i} has been revoked.`);
      }
    }
  }
  return { path, anchor };
}

/**
 * Google's test for a factory-provisioned chain (KeyAttestationCertPath.isFactoryProvisioned): the
 * certificate the anchor signed names a serialNumber and the title "TEE" or "StrongBox". Remotely
 * provisioned (RKP) chains are short-lived and re-fetched by the device, so their expiry is enforced.
 */
export function isFactoryProvisioned(path: readonly ParsedCertificate[]): boolean {
  // The leaf itself never decides (a batch key may sign it directly under the root: 3-certificate chains).
  if (path.length < 2) return false;
  const top = path[path.length - 1]!.subjectAttributes;
  return (
    top.some(([type]) => type === '2.5.4.5') &&
    top.some(([type, value]) => type === '2.5.4.12' && (value === 'TEE' || value === 'StrongBox'))
  );
}

/**
 * Locate the anchor. Either a certificate in the chain carries a trusted key (it and anything after it
 * are the anchor, whatever its dates or serial), or the last certificate is signed by a trusted key that
 * the chain omits. A chain ending anywhere else is refused.
 */
function findAnchor(certs: readonly ParsedCertificate[], options: ChainOptions): ValidatedChain {
  const trusted = indexAnchors(options.anchors);
  for (let k = 0; k < certs.length; k++) {
    const anchor = trusted.get(spkiKey(certs[k]!.spki));
    if (!anchor) continue;
    if (k === 0) refuse('ERR_ATTEST_CHAIN', 'The leaf certificate is itself a trust anchor.');
    if (k !== certs.length - 1)
      refuse('ERR_ATTEST_CHAIN', 'Certificates follow the trust anchor in the chain.');
    return { path: certs.slice(0, k), anchor };
  }
  const last = certs[certs.length - 1]!;
  for (const anchor of options.anchors) {
    if (anchor.subject === last.issuer && isSignedBy(last, anchor.publicKey, anchor.spki))
      return { path: certs, anchor };
  }
  if (options.untrusted) {
    const labelled = indexAnchors(options.untrusted);
    const endsAtLabelled =
      labelled.has(spkiKey(last.spki)) ||
      options.untrusted.some((u) => isSignedBy(last, u.publicKey, u.spki));
    if (endsAtLabelled) {
      refuse(options.untrustedDetail ?? 'ERR_ATTEST_ROOT', 'The chain ends at a software attestation root.');
    }
  }
  return refuse('ERR_ATTEST_ROOT', 'The chain does not end at a trusted root.');
}
