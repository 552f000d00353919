/**
 * A minimal X.509 v3 certificate writer on @peculiar/asn1-x509 and node:crypto, for the test
 * authorities in testing.ts and for the edge-case tests (expired intermediates, look-alike roots,
 * broken signatures). Not used by any verifier.
 */
import { type KeyObject, randomBytes, sign } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  KeyUsage,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { asBytes } from './bytes.ts';

/** A distinguished name as (attribute OID, value) pairs, one attribute per RDN. */
export type NameSpec = readonly (readonly [oid: string, value: string])[];

/** Attribute OIDs used in attestation chains. */
export const OID = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  title: '2.5.4.12',
  country: '2.5.4.6',
} as const;

/** Everything a certificate needs. */
export interface CertificateSpec {
  subject: NameSpec;
  issuer: NameSpec;
  /** The certified key. */
  publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo to certify instead of `publicKey` (algorithms Node cannot load, e.g. ML-DSA). */
  spki?: Uint8Array;
  /** The issuer's private key (the subject's own for a self-signed root). */
  signingKey: KeyObject;
  /** Serial as a non-negative bigint; default 16 random bytes. */
  serial?: bigint;
  notBefore: Date;
  notAfter: Date;
  /** basicConstraints: a CA (with optional path length), an end entity (`false`), or absent (`undefined`). */
  ca?: { pathLen?: number } | false;
  /** keyUsage flags (KeyUsageFlags); absent when undefined. */
  keyUsage?: number;
  /** Further extensions (DER values). */
  extensions?: readonly { oid: string; critical?: boolean; value: Uint8Array }[];
}

/** Build and sign a DER certificate. */
export function buildCertificate(spec: CertificateSpec): Uint8Array {
  const { algorithm, hash } = signatureAlgorithmFor(spec.signingKey);
  const extensions: Extension[] = [];
  if (spec.ca !== undefined) {
    const bc = new BasicConstraints({ cA: spec.ca !== false });
    if (spec.ca !== false && spec.ca.pathLen !== undefined) bc.pathLenConstraint = spec.ca.pathLen;
    extensions.push(extension(id_ce_basicConstraints, true, AsnConvert.serialize(bc)));
  }
  if (spec.keyUsage !== undefined) {
    extensions.push(extension(id_ce_keyUsage, true, AsnConvert.serialize(new KeyUsage(spec.keyUsage))));
  }
  for (const e of spec.extensions ?? []) extensions.push(extension(e.oid, e.critical ?? false, e.value));
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: integerBytes(spec.serial ?? BigInt(`0x${randomBytes(16).toString('hex')}`) + 1n),
    signature: algorithm,
    issuer: name(spec.issuer),
    validity: new Validity({ notBefore: spec.notBefore, notAfter: spec.notAfter }),
    subject: name(spec.subject),
    subjectPublicKeyInfo: AsnConvert.parse(
      spec.spki ?? spec.publicKey.export({ type: 'spki', format: 'der' }),
      SubjectPublicKeyInfo,
    ),
  });
  if (extensions.length > 0) tbs.extensions = new Extensions(extensions);
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign(hash, tbsDer, spec.signingKey);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: toArrayBuffer(signature),
  });
  return asBytes(AsnConvert.serialize(cert));
}

/** PEM text of DER certificates, in order. */
export function pemOf(ders: readonly Uint8Array[]): string {
  return ders
    .map((d) => {
      const b64 = Buffer.from(d).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
      return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
    })
    .join('');
}

function extension(oid: string, critical: boolean, value: ArrayBuffer | Uint8Array): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(asBytes(value)) });
}

function name(spec: NameSpec): Name {
  return new Name(
    spec.map(
      ([type, value]) =>
        new RelativeDistinguishedName([
          new AttributeTypeAndValue({
            type,
            value: new AttributeValue(
              type === OID.serialNumber || type === OID.country
                ? { printableString: value }
                : { utf8String: value },
            ),
          }),
        ]),
    ),
  );
}

function signatureAlgorithmFor(key: KeyObject): { algorithm: AlgorithmIdentifier; hash: string | null } {
  if (key.asymmetricKeyType === 'rsa') {
    return {
      algorithm: new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters: null }),
      hash: 'sha256',
    };
  }
  if (key.asymmetricKeyType === 'ec') {
    const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    return {
      algorithm: new AlgorithmIdentifier({ algorithm: p384 ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2' }),
      hash: p384 ? 'sha384' : 'sha256',
    };
  }
  if (key.asymmetricKeyType === 'ed25519') {
    return { algorithm: new AlgorithmIdentifier({ algorithm: '1.3.101.112' }), hash: null };
  }
  throw new TypeError('unsupported signing key type');
}

/** Minimal two's-complement bytes of a non-negative integer. */
function integerBytes(n: bigint): ArrayBuffer {
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  if (Number.parseInt(h.slice(0, 2), 16) & 0x80) h = `00${h}`;
  return toArrayBuffer(Buffer.from(h, 'hex'));
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
