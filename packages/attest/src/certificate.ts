/**
 * X.509 parsing for the chain checks, on @peculiar/asn1-x509 (pure ASN.1, no global polyfills; the
 * higher-level @peculiar/x509 needs a Reflect.metadata polyfill that is not installed and would patch a
 * global from inside a library). Signatures are checked with node:crypto over the TBS bytes exactly as
 * received, so re-encoding quirks of the parser can never change what is verified.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  type AlgorithmIdentifier,
  BasicConstraints,
  Certificate,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  KeyUsage,
  KeyUsageFlags,
  type Name,
  type SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { asBytes, base64 } from './bytes.ts';
import { LruCache } from './cache.ts';
import { children, readSingle, type Tlv } from './der.ts';
import { guarded, malformed } from './errors.ts';

/** Largest certificate we will parse; real attestation certificates are under 3 KiB. */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;

/** What the chain checks need from one certificate. */
export interface ParsedCertificate {
  /** The certificate as received (a private copy). */
  der: Uint8Array;
  /** SHA-256 of the DER, base64: the cache key for this certificate. */
  fingerprint: string;
  /** The signed part, byte for byte as received. */
  tbs: Uint8Array;
  /** Serial as Java's BigInteger.toString(16): lowercase hex, no leading zeros, '-' if negative. */
  serialHex: string;
  /** Serial in decimal (some third-party copies of Google's status list key entries this way). */
  serialDecimal: string;
  notBefore: number;
  notAfter: number;
  /** Canonical form of the subject name, for issuer matching. */
  subject: string;
  /** The subject's attributes as (type OID, string value), in order; for classifying Android chains. */
  subjectAttributes: readonly (readonly [type: string, value: string])[];
  /** Canonical form of the issuer name. */
  issuer: string;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** OID of the outer signature algorithm (already checked equal to the TBS one). */
  signatureAlgorithm: string;
  signature: Uint8Array;
  /** basicConstraints, if present. */
  basicConstraints: { ca: boolean; pathLen: number | undefined } | undefined;
  /** keyUsage flags (KeyUsageFlags bits), if present. */
  keyUsage: number | undefined;
  /** Extension values by OID (the OCTET STRING contents). */
  extensions: ReadonlyMap<string, { critical: boolean; value: Uint8Array }>;
}

/**
 * Parsed certificates by SHA-256 of their DER. Batch intermediates and roots repeat across every device
 * of a model, so after the first registration only the leaf is parsed. Safe: parsing is a pure function
 * of the exact bytes, and the input is copied so a caller mutating its buffer cannot alter an entry.
 */
const parsedCache = new LruCache<string, ParsedCertificate>(1024);

/** Parse one DER certificate; anything that is not a well-formed X.509 v3 certificate is malformed. */
export function parseCertificate(input: Uint8Array): ParsedCertificate {
  if (input.byteLength === 0 || input.byteLength > MAX_CERTIFICATE_BYTES) {
    malformed('A certificate is empty or too large.');
  }
  const der = new Uint8Array(input);
  const fingerprint = createHash('sha256').update(der).digest('base64');
  const cached = parsedCache.get(fingerprint);
  if (cached) return cached;
  const parsed = guarded('A certificate is not valid DER X.509.', () => parseUncached(der, fingerprint));
  parsedCache.set(fingerprint, parsed);
  return parsed;
}

/** Forget one certificate (its parse and its signature checks); for benchmarks of a fresh leaf. */
export function evictCertificate(der: Uint8Array): void {
  const fingerprint = createHash('sha256').update(der).digest('base64');
  parsedCache.delete(fingerprint);
  linkCache.deleteWhere((k) => k.startsWith(`${fingerprint}|`));
}

/** Empty the parse and signature caches; for benchmarks of the cold path. */
export function clearCertificateCaches(): void {
  parsedCache.clear();
  linkCache.clear();
}

function parseUncached(der: Uint8Array, fingerprint: string): ParsedCertificate {
  // Frame check first: exactly SEQUENCE { tbs SEQUENCE, algorithm SEQUENCE, signature BIT STRING } and
  // nothing after it. asn1js alone ignores trailing bytes, which would let one certificate have many
  // encodings (and fingerprints).
  const outer = readSingle(der);
  const parts =
    outer.constructed && outer.tagNumber === 16 && outer.tagClass === 0 ? children(der, outer) : [];
  const [tbsTlv, algTlv, sigTlv] = parts;
  if (
    parts.length !== 3 ||
    !tbsTlv?.constructed ||
    tbsTlv.tagNumber !== 16 ||
    !algTlv?.constructed ||
    algTlv.tagNumber !== 16 ||
    sigTlv?.constructed !== false ||
    sigTlv.tagNumber !== 3
  ) {
    malformed('A certificate is not valid DER X.509.');
  }
  // A signature is a whole number of bytes: its BIT STRING's unused-bits byte must be 0. Parsers that
  // drop that byte would verify a certificate Node's own X.509 parser (and OpenSSL) refuses.
  if (sigTlv.end - sigTlv.contentStart < 2 || der[sigTlv.contentStart] !== 0) {
    malformed('A certificate signature is not a whole number of bytes.');
  }
  const signedBytes = der.subarray(tbsTlv.start, tbsTlv.end);
  const cert = AsnConvert.parse(der, Certificate);
  const tbs = cert.tbsCertificate;
  if (!cert.tbsCertificateRaw || Buffer.compare(asBytes(cert.tbsCertificateRaw), signedBytes) !== 0) {
    malformed('A certificate is not valid DER X.509.');
  }
  if (!sameAlgorithm(cert.signatureAlgorithm, tbs.signature)) {
    // RFC 5280 4.1.1.2: the two fields must match, else the signed algorithm is not the one used.
    malformed('A certificate names two different signature algorithms.');
  }
  const extensions = new Map<string, { critical: boolean; value: Uint8Array }>();
  for (const e of tbs.extensions ?? []) {
    if (extensions.has(e.extnID)) malformed('A certificate repeats an extension.');
    extensions.set(e.extnID, { critical: e.critical, value: asBytes(e.extnValue.buffer) });
  }
  const bcExt = extensions.get(id_ce_basicConstraints);
  const bc = bcExt ? AsnConvert.parse(bcExt.value, BasicConstraints) : undefined;
  const kuExt = extensions.get(id_ce_keyUsage);
  const ku = kuExt ? AsnConvert.parse(kuExt.value, KeyUsage).toNumber() : undefined;
  const notBefore = tbs.validity.notBefore.getTime().getTime();
  const notAfter = tbs.validity.notAfter.getTime().getTime();
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter))
    malformed('A certificate has an invalid date.');
  const serial = twosComplement(asBytes(tbs.serialNumber));
  // Same rule for the subject key: every key algorithm encodes whole bytes.
  const spkiTlv = spkiOfTbs(signedBytes);
  if (
    tbs.subjectPublicKeyInfo.subjectPublicKey.byteLength === 0 ||
    spkiUnusedBits(signedBytes, spkiTlv) !== 0
  ) {
    malformed('A certificate public key is not a whole number of bytes.');
  }
  // The key's bytes as signed when they are exactly what the schema library would write back (a
  // re-encoding cost 0.1–0.5 ms of a leaf's 1.6 ms parse here); re-encoded as before otherwise.
  const spki =
    spkiAsSigned(signedBytes, spkiTlv, tbs.subjectPublicKeyInfo) ??
    asBytes(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
  return Object.freeze({
    der,
    fingerprint,
    tbs: signedBytes,
    serialHex: serial.toString(16),
    serialDecimal: serial.toString(10),
    notBefore,
    notAfter,
    subject: canonicalName(tbs.subject),
    subjectAttributes: tbs.subject.flatMap((rdn) =>
      rdn.map((atv) => [atv.type, atv.value.toString()] as const),
    ),
    issuer: canonicalName(tbs.issuer),
    spki,
    signatureAlgorithm: cert.signatureAlgorithm.algorithm,
    signature: asBytes(cert.signatureValue),
    basicConstraints: bc ? { ca: bc.cA, pathLen: bc.pathLenConstraint } : undefined,
    keyUsage: ku,
    extensions,
  });
}

/**
 * The unused-bits byte of the subjectPublicKey BIT STRING, read from the TBS bytes as received: TBS is
 * SEQUENCE { [0] version, serial, signature, issuer, validity, subject, spki, ... }.
 */
function spkiUnusedBits(tbs: Uint8Array, spki: Tlv | undefined): number {
  const bits = spki?.constructed ? children(tbs, spki)[1] : undefined;
  if (!bits || bits.constructed || bits.tagNumber !== 3 || bits.end === bits.contentStart) return -1;
  return tbs[bits.contentStart]!;
}

/**
 * The DER of the keys devices attest, up to the key's own bytes: SEQUENCE { SEQUENCE { OID, curve or
 * nothing }, BIT STRING with no unused bits }. DER encodes a value one way only, so an SPKI that is
 * one of these prefixes followed by `keyBytes` bytes is what the schema library would write back for
 * the same algorithm, parameters and key.
 */
const SPKI_TEMPLATES = [
  // id-ecPublicKey, P-256; the point, 65 bytes.
  {
    prefix: '3059301306072a8648ce3d020106082a8648ce3d030107034200',
    oid: '1.2.840.10045.2.1',
    params: '06082a8648ce3d030107',
    keyBytes: 65,
  },
  // id-ecPublicKey, P-384; the point, 97 bytes.
  {
    prefix: '3076301006072a8648ce3d020106052b81040022036200',
    oid: '1.2.840.10045.2.1',
    params: '06052b81040022',
    keyBytes: 97,
  },
  // Ed25519 (no parameters); the key, 32 bytes.
  { prefix: '302a300506032b6570032100', oid: '1.3.101.112', params: undefined, keyBytes: 32 },
].map((t) => ({ ...t, prefix: Buffer.from(t.prefix, 'hex') }));

/**
 * The subjectPublicKeyInfo's bytes as signed, when they are what the schema library would write
 * back for what it read: one of the templates above, and the schema's own reading (which may have
 * found its SPKI elsewhere, or under another tag, in a malformed certificate) names the same
 * algorithm, parameters and key bytes. Undefined otherwise (an RSA key, anything unusual): the
 * caller re-encodes, as it always did.
 */
function spkiAsSigned(
  tbs: Uint8Array,
  spki: Tlv | undefined,
  read: SubjectPublicKeyInfo,
): Uint8Array | undefined {
  if (!spki) return undefined;
  const bytes = tbs.subarray(spki.start, spki.end);
  for (const t of SPKI_TEMPLATES) {
    if (bytes.length !== t.prefix.length + t.keyBytes || !t.prefix.equals(bytes.subarray(0, t.prefix.length)))
      continue;
    const params = read.algorithm.parameters;
    const sameParams =
      t.params === undefined
        ? params === undefined || params === null
        : params instanceof ArrayBuffer && Buffer.from(params).toString('hex') === t.params;
    const key = bytes.subarray(t.prefix.length);
    if (read.algorithm.algorithm === t.oid && sameParams && Buffer.from(read.subjectPublicKey).equals(key))
      return new Uint8Array(bytes);
    return undefined;
  }
  return undefined;
}

/** The subjectPublicKeyInfo element of the TBS bytes as received (after the optional [0] version, the sixth field). */
function spkiOfTbs(tbs: Uint8Array): Tlv | undefined {
  const fields = children(tbs, readSingle(tbs));
  return fields[(fields[0]?.tagClass === 2 ? 1 : 0) + 5];
}

/** True when the keyUsage flags include keyCertSign. */
export function canSignCertificates(cert: ParsedCertificate): boolean {
  return cert.keyUsage !== undefined && (cert.keyUsage & KeyUsageFlags.keyCertSign) !== 0;
}

const keyCache = new WeakMap<ParsedCertificate, KeyObject>();

/** The certificate's public key as a KeyObject (cached per parsed certificate). */
export function publicKeyOf(cert: ParsedCertificate): KeyObject {
  let key = keyCache.get(cert);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
    keyCache.set(cert, key);
  }
  return key;
}

/**
 * Signature algorithms accepted on certificates: the RSA PKCS#1 v1.5 and ECDSA SHA-2 family Google and
 * Apple use, plus Ed25519. SHA-1 is refused (collisions are practical).
 */
const SIGNATURE_ALGORITHMS: Record<string, { hash: string | null; keyType: string }> = {
  '1.2.840.113549.1.1.11': { hash: 'sha256', keyType: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', keyType: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', keyType: 'rsa' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', keyType: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', keyType: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', keyType: 'ec' },
  '1.3.101.112': { hash: null, keyType: 'ed25519' },
};

/** Results of signature checks by (certificate fingerprint, issuer SPKI); a pure function of both. */
const linkCache = new LruCache<string, boolean>(2048);

/** True when `issuerKey` signed `cert`. Never throws: an unusable key or algorithm is just "no". */
export function isSignedBy(cert: ParsedCertificate, issuerKey: KeyObject, issuerSpki?: Uint8Array): boolean {
  const cacheKey = issuerSpki ? `${cert.fingerprint}|${spkiKey(issuerSpki)}` : undefined;
  if (cacheKey !== undefined) {
    const hit = linkCache.get(cacheKey);
    if (hit !== undefined) return hit;
  }
  const alg = SIGNATURE_ALGORITHMS[cert.signatureAlgorithm];
  let ok = false;
  if (alg && issuerKey.asymmetricKeyType === alg.keyType) {
    try {
      ok = verify(alg.hash, cert.tbs, issuerKey, cert.signature);
    } catch {
      ok = false;
    }
  }
  if (cacheKey !== undefined) linkCache.set(cacheKey, ok);
  return ok;
}

/** SPKI bytes as a map key. */
export function spkiKey(spki: Uint8Array): string {
  return base64(spki);
}

function sameAlgorithm(a: AlgorithmIdentifier, b: AlgorithmIdentifier): boolean {
  if (a.algorithm !== b.algorithm) return false;
  // Absent and NULL parameters are both used for the same algorithm in the wild (RFC 4055 §2.1).
  const pa = a.parameters ?? null;
  const pb = b.parameters ?? null;
  if (pa === null || pb === null) return pa === pb;
  return Buffer.compare(asBytes(pa), asBytes(pb)) === 0;
}

/** A DER INTEGER's content bytes as a signed BigInt (DER integers are two's complement). */
function twosComplement(bytes: Uint8Array): bigint {
  if (bytes.length === 0) malformed('A certificate serial number is empty.');
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if ((bytes[0]! & 0x80) !== 0) v -= 1n << BigInt(bytes.length * 8);
  return v;
}

/**
 * Canonical string of a Name for issuer/subject matching: per RDN, attributes sorted, string values
 * case-folded with whitespace collapsed (RFC 5280 §7.1, simplified). This tolerates PrintableString vs
 * UTF8String re-encodings between issuer and subject fields, which some devices produce; the signature
 * check, not the name, is what binds a certificate to its issuer.
 */
function canonicalName(name: Name): string {
  return name
    .map((rdn) =>
      rdn
        .map((atv) => `${atv.type}=${atv.value.toString().trim().replace(/\s+/g, ' ').toLowerCase()}`)
        .sort()
        .join('+'),
    )
    .join(',');
}
