/**
 * Test authorities that mint real-format attestations under a throw-away root, so end-to-end tests
 * (gateway registration, CLI) can exercise the real verifiers through the `trustedRoots` override.
 * Nothing here is trusted by default: the roots are generated per authority and never bundled.
 */
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  type KeyPairKeyObjectResult,
  randomBytes,
  sign,
} from 'node:crypto';
import {
  AttestationApplicationId,
  AttestationPackageInfo,
  AuthorizationList,
  IntegerSet,
  KeyDescription,
  RootOfTrust,
} from '@peculiar/asn1-android';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { Encoder } from 'cbor-x';
import { asBytes, base64, sha256 } from './bytes.ts';
import { children, concat, encodeLength, encodeTag, readSingle } from './der.ts';
import { type AndroidSecurityLevel, KEY_DESCRIPTION_OID, type VerifiedBootState } from './keyDescription.ts';
import { loadTrustAnchors, type TrustAnchor } from './roots.ts';
import { APPLE_NONCE_OID, uncompressedP256Point } from './verifyAppleAppAttestation.ts';
import { buildCertificate, OID, pemOf } from './x509build.ts';

const DAY = 86_400_000;
const SECURITY_LEVEL_VALUE: Record<AndroidSecurityLevel, number> = {
  SOFTWARE: 0,
  TRUSTED_ENVIRONMENT: 1,
  STRONG_BOX: 2,
};
const BOOT_STATE_VALUE: Record<VerifiedBootState, number> = {
  VERIFIED: 0,
  SELF_SIGNED: 1,
  UNVERIFIED: 2,
  FAILED: 3,
};

/** How to build a test Android attestation authority. */
export interface TestAttestationAuthorityOptions {
  /** Root key type: 'ec' (P-256, fast; default) or 'rsa' (2048-bit, like Google's RSA root in shape). */
  rootKeyType?: 'ec' | 'rsa';
  /** Validity of the root and intermediates (default: 10 years back to 10 years ahead of now). */
  notBefore?: Date;
  notAfter?: Date;
  /** Subject serialNumber of the root (default a fixed test value). */
  rootSerialName?: string;
  /**
   * 'factory' (default): the intermediate is named like a factory-provisioned one (serialNumber and
   * title "TEE"), whose expiry Google's rules tolerate. 'remote': named like an RKP intermediate.
   */
  provisioning?: 'factory' | 'remote';
  /**
   * Mint the batch certificate the way Pixel 2, Galaxy S9 and others do: no basicConstraints and no
   * keyUsage (not marked as a CA), yet signing the device keys.
   */
  caLessBatch?: boolean;
}

/** What to attest in one test chain. */
export interface TestAndroidAttestationOptions {
  /** attestationChallenge: for Charter, attestationBinding(nonce, jkt). */
  challenge: Uint8Array;
  /** The key to attest (e.g. the instance DPoP key); a P-256 key is generated when absent. */
  publicKey?: KeyObject;
  packageName?: string;
  packageVersion?: number;
  /** Signing-certificate SHA-256 digests (hex); default one digest of the text "charter test signer". */
  signingCertDigests?: readonly string[];
  /** attestation and KeyMint security level (default TRUSTED_ENVIRONMENT). */
  securityLevel?: AndroidSecurityLevel;
  /** Attestation version (default 200, KeyMint 2). */
  attestationVersion?: number;
  verifiedBootState?: VerifiedBootState;
  deviceLocked?: boolean;
  osVersion?: number;
  osPatchLevel?: number;
  /** KeyOrigin (default 0, GENERATED). */
  origin?: number;
  /** Leave the KeyDescription extension out of the leaf. */
  omitKeyDescription?: boolean;
  /** Include the root certificate at the end of the chain (default true, as devices do). */
  includeRoot?: boolean;
  /** Use these DER bytes as the KeyDescription extension value instead of building one. */
  keyDescriptionDer?: Uint8Array;
  /**
   * Authorization entries added to the KeyDescription as `[tag] EXPLICIT value` (value is DER), e.g. tags
   * of a KeyMint release newer than this verifier. Default list: hardware.
   */
  extraAuthorizations?: readonly { tag: number; value: Uint8Array; list?: 'software' | 'hardware' }[];
  /** DER fields appended after the eight KeyDescription fields (what a future version may add). */
  extraKeyDescriptionFields?: readonly Uint8Array[];
  /** Certify this DER SubjectPublicKeyInfo in the leaf (e.g. an ML-DSA key Node cannot load). */
  leafSpki?: Uint8Array;
  /** Validity of the leaf (default: the epoch to 2106-02-07, as Android writes it). */
  leafNotBefore?: Date;
  leafNotAfter?: Date;
}

/** One minted chain. */
export interface TestAndroidAttestation {
  /** Base64 DER certificates, leaf first (SPEC §3 `x5c`). */
  x5c: string[];
  /** The same chain as PEM text (for `charter attest verify --chain`). */
  chainPem: string;
  /** The attested key. */
  publicKey: KeyObject;
  /** Its private key, when the authority generated it. */
  privateKey: KeyObject | undefined;
}

/** A throw-away Android attestation PKI: root → intermediate → attestation key → leaf. */
export interface TestAttestationAuthority {
  /** PEM of the root; pass it (or `trustedRoots`) to the verifier. */
  rootPem: string;
  rootCertificate: Uint8Array;
  /** Ready-made `trustedRoots` option. */
  trustedRoots: TrustAnchor[];
  /** Mint a chain attesting `options`. */
  attest(options: TestAndroidAttestationOptions): TestAndroidAttestation;
}

/** A self-signed test root and an intermediate it signs: the top of both test PKIs. */
function rootAndIntermediate(
  root: { name: Parameters<typeof buildCertificate>[0]['subject']; keys: KeyPairKeyObjectResult },
  intermediate: {
    name: Parameters<typeof buildCertificate>[0]['subject'];
    keys: KeyPairKeyObjectResult;
    ca: NonNullable<Parameters<typeof buildCertificate>[0]['ca']>;
  },
  notBefore: Date,
  notAfter: Date,
): { rootCertificate: Uint8Array; intermediateCertificate: Uint8Array } {
  const keyUsage = KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign;
  const common = { issuer: root.name, signingKey: root.keys.privateKey, notBefore, notAfter, keyUsage };
  return {
    rootCertificate: buildCertificate({
      ...common,
      subject: root.name,
      publicKey: root.keys.publicKey,
      ca: {},
    }),
    intermediateCertificate: buildCertificate({
      ...common,
      subject: intermediate.name,
      publicKey: intermediate.keys.publicKey,
      ca: intermediate.ca,
    }),
  };
}

/** Create an Android attestation authority for tests (see the module comment). */
export function createTestAttestationAuthority(
  options: TestAttestationAuthorityOptions = {},
): TestAttestationAuthority {
  const notBefore = options.notBefore ?? new Date(Date.now() - 3650 * DAY);
  const notAfter = options.notAfter ?? new Date(Date.now() + 3650 * DAY);
  const root =
    options.rootKeyType === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const intermediate = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const batch = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rootName = [[OID.serialNumber, options.rootSerialName ?? 'c0ffee00charter0']] as const;
  const intermediateName =
    options.provisioning === 'remote'
      ? ([
          [OID.commonName, 'Charter Test RKP Intermediate'],
          [OID.organization, 'Charter Test'],
        ] as const)
      : ([
          [OID.serialNumber, 'charter-test-intermediate'],
          [OID.title, 'TEE'],
        ] as const);
  const batchName = [
    [OID.serialNumber, 'charter-test-batch'],
    [OID.title, 'TEE'],
  ] as const;
  const { rootCertificate, intermediateCertificate } = rootAndIntermediate(
    { name: rootName, keys: root },
    { name: intermediateName, keys: intermediate, ca: {} },
    notBefore,
    notAfter,
  );
  const batchCertificate = buildCertificate({
    subject: batchName,
    issuer: intermediateName,
    publicKey: batch.publicKey,
    signingKey: intermediate.privateKey,
    notBefore,
    notAfter,
    ...(options.caLessBatch ? {} : { ca: { pathLen: 0 }, keyUsage: KeyUsageFlags.keyCertSign }),
  });
  const rootPem = pemOf([rootCertificate]);
  const trustedRoots = loadTrustAnchors(rootPem, 'test-root');

  return {
    rootPem,
    rootCertificate,
    trustedRoots,
    attest(o) {
      let publicKey = o.publicKey;
      let privateKey: KeyObject | undefined;
      if (!publicKey) {
        const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        publicKey = pair.publicKey;
        privateKey = pair.privateKey;
      }
      const leaf = buildCertificate({
        subject: [[OID.commonName, 'Android Keystore Key']],
        issuer: batchName,
        publicKey,
        ...(o.leafSpki ? { spki: o.leafSpki } : {}),
        signingKey: batch.privateKey,
        serial: 1n,
        // Android leaves carry the epoch and a far future date unless the app sets validity.
        notBefore: o.leafNotBefore ?? new Date(0),
        notAfter: o.leafNotAfter ?? new Date('2106-02-07T06:28:15Z'),
        keyUsage: KeyUsageFlags.digitalSignature,
        extensions: o.omitKeyDescription
          ? []
          : [{ oid: KEY_DESCRIPTION_OID, value: o.keyDescriptionDer ?? keyDescription(o) }],
      });
      const ders = [leaf, batchCertificate, intermediateCertificate];
      if (o.includeRoot !== false) ders.push(rootCertificate);
      return { x5c: ders.map((d) => base64(d)), chainPem: pemOf(ders), publicKey, privateKey };
    },
  };
}

/** DER of a KeyDescription as a KeyMint device would write it. */
export function keyDescription(o: TestAndroidAttestationOptions): Uint8Array {
  const level = SECURITY_LEVEL_VALUE[o.securityLevel ?? 'TRUSTED_ENVIRONMENT'];
  const digests = o.signingCertDigests ?? [createHash('sha256').update('charter test signer').digest('hex')];
  const app = new AttestationApplicationId({
    packageInfos: [
      new AttestationPackageInfo({
        packageName: toArrayBuffer(Buffer.from(o.packageName ?? 'com.example.charter', 'utf8')) as never,
        version: o.packageVersion ?? 1,
      }),
    ],
    signatureDigests: digests.map((d) => toArrayBuffer(Buffer.from(d, 'hex')) as never),
  });
  const version = o.attestationVersion ?? 200;
  const kd = new KeyDescription({
    attestationVersion: version,
    attestationSecurityLevel: level,
    keymasterVersion: version,
    keymasterSecurityLevel: level,
    attestationChallenge: new OctetString(o.challenge),
    uniqueId: new OctetString(),
    softwareEnforced: new AuthorizationList({
      creationDateTime: Date.now(),
      attestationApplicationId: new OctetString(AsnConvert.serialize(app)),
    }),
    teeEnforced: new AuthorizationList({
      purpose: new IntegerSet([2]),
      algorithm: 3,
      keySize: 256,
      ecCurve: 1,
      noAuthRequired: null,
      origin: o.origin ?? 0,
      rootOfTrust: new RootOfTrust({
        verifiedBootKey: new OctetString(new Uint8Array(32)),
        deviceLocked: o.deviceLocked ?? true,
        verifiedBootState: BOOT_STATE_VALUE[o.verifiedBootState ?? 'VERIFIED'],
        verifiedBootHash: new OctetString(new Uint8Array(32)),
      }),
      osVersion: o.osVersion ?? 150000,
      osPatchLevel: o.osPatchLevel ?? 202501,
    }),
  });
  const der = asBytes(AsnConvert.serialize(kd));
  if (!o.extraAuthorizations?.length && !o.extraKeyDescriptionFields?.length) return der;
  return extendKeyDescription(der, o.extraAuthorizations ?? [], o.extraKeyDescriptionFields ?? []);
}

/** Add authorization entries and trailing fields to a KeyDescription (see the options above). */
function extendKeyDescription(
  der: Uint8Array,
  extra: NonNullable<TestAndroidAttestationOptions['extraAuthorizations']>,
  trailing: readonly Uint8Array[],
): Uint8Array {
  const seq = (body: Uint8Array) => concat([Uint8Array.of(0x30), encodeLength(body.length), body]);
  const fields = children(der, readSingle(der));
  const parts = fields.slice(0, 6).map((f) => der.subarray(f.start, f.end));
  fields.slice(6, 8).forEach((list, i) => {
    const items = children(der, list).map((c) => der.subarray(c.start, c.end));
    for (const e of extra) {
      if ((e.list ?? 'hardware') !== (i === 0 ? 'software' : 'hardware')) continue;
      items.push(concat([encodeTag(2, true, e.tag), encodeLength(e.value.length), e.value]));
    }
    parts.push(seq(concat(items)));
  });
  return seq(concat([...parts, ...trailing]));
}

/** How to build a test App Attest authority. */
export interface TestAppAttestAuthorityOptions {
  notBefore?: Date;
  notAfter?: Date;
}

/** What to attest in one test App Attest attestation. */
export interface TestAppAttestationOptions {
  /** "TEAMID.BUNDLEID". */
  appId: string;
  /** For Charter: attestationBinding(nonce, jkt). */
  clientDataHash: Uint8Array;
  /** Mint a development-environment attestation (aaguid "appattestdevelop"). */
  development?: boolean;
  /** The P-256 key pair to attest; generated when absent. */
  keyPair?: { publicKey: KeyObject; privateKey: KeyObject };
  /** Counter in the authenticator data (real attestations: 0). */
  counter?: number;
  /** Override the aaguid (16 bytes). */
  aaguid?: Uint8Array;
  /** Override the credential id (default: the key id). */
  credentialId?: Uint8Array;
  /** Bytes appended after the COSE key (Apple's own sample carries extensions without the ED flag). */
  authDataSuffix?: Uint8Array;
  /** Leave the nonce extension out of the credential certificate. */
  omitNonce?: boolean;
  /** Override the attestation format (default "apple-appattest"). */
  fmt?: string;
}

/** One minted App Attest attestation. */
export interface TestAppAttestation {
  /** Raw CBOR attestation object. */
  attestation: Uint8Array;
  attestationB64: string;
  keyId: Uint8Array;
  keyIdB64: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** What to assert in one test App Attest assertion. */
export interface TestAppAssertionOptions {
  privateKey: KeyObject;
  appId: string;
  clientDataHash: Uint8Array;
  counter: number;
}

/** A throw-away App Attest PKI: root → intermediate → credential certificate. */
export interface TestAppAttestAuthority {
  rootPem: string;
  trustedRoots: TrustAnchor[];
  /** Mint an attestation object. */
  attest(options: TestAppAttestationOptions): TestAppAttestation;
  /** Mint an assertion (same as {@link createTestAppAttestAssertion}). */
  assert(options: TestAppAssertionOptions): { assertion: Uint8Array; assertionB64: string };
}

const cbor = new Encoder({ useRecords: false, mapsAsObjects: false });

/** Create an App Attest authority for tests. */
export function createTestAppAttestAuthority(
  options: TestAppAttestAuthorityOptions = {},
): TestAppAttestAuthority {
  const notBefore = options.notBefore ?? new Date(Date.now() - 3650 * DAY);
  const notAfter = options.notAfter ?? new Date(Date.now() + 3650 * DAY);
  const root = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const intermediate = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rootName = [
    [OID.commonName, 'Charter Test App Attestation Root CA'],
    [OID.organization, 'Charter Test'],
  ] as const;
  const intermediateName = [
    [OID.commonName, 'Charter Test App Attestation CA 1'],
    [OID.organization, 'Charter Test'],
  ] as const;
  const { rootCertificate, intermediateCertificate } = rootAndIntermediate(
    { name: rootName, keys: root },
    { name: intermediateName, keys: intermediate, ca: { pathLen: 0 } },
    notBefore,
    notAfter,
  );
  const rootPem = pemOf([rootCertificate]);
  return {
    rootPem,
    trustedRoots: loadTrustAnchors(rootPem, 'test-root'),
    attest(o) {
      const pair = o.keyPair ?? generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const point = uncompressedP256Point(pair.publicKey);
      const keyId = sha256(point);
      const credentialId = o.credentialId ?? keyId;
      const authData = concat([
        sha256(Buffer.from(o.appId, 'utf8')),
        Uint8Array.of(0x40),
        uint32(o.counter ?? 0),
        o.aaguid ??
          (o.development
            ? Buffer.from('appattestdevelop')
            : Uint8Array.of(...Buffer.from('appattest'), 0, 0, 0, 0, 0, 0, 0)),
        Uint8Array.of(credentialId.length >> 8, credentialId.length & 0xff),
        credentialId,
        cbor.encode(
          new Map<number, unknown>([
            [1, 2],
            [3, -7],
            [-1, 1],
            [-2, Buffer.from(point.subarray(1, 33))],
            [-3, Buffer.from(point.subarray(33))],
          ]),
        ),
        o.authDataSuffix ?? new Uint8Array(0),
      ]);
      const nonce = sha256(authData, o.clientDataHash);
      const credCert = buildCertificate({
        subject: [
          [OID.commonName, Buffer.from(keyId).toString('hex')],
          [OID.organization, 'Charter Test'],
        ],
        issuer: intermediateName,
        publicKey: pair.publicKey,
        signingKey: intermediate.privateKey,
        notBefore,
        notAfter,
        ca: false,
        keyUsage: KeyUsageFlags.digitalSignature,
        extensions: o.omitNonce ? [] : [{ oid: APPLE_NONCE_OID, value: nonceExtension(nonce) }],
      });
      const attestation = asBytes(
        cbor.encode(
          new Map<string, unknown>([
            ['fmt', o.fmt ?? 'apple-appattest'],
            [
              'attStmt',
              new Map<string, unknown>([
                ['x5c', [Buffer.from(credCert), Buffer.from(intermediateCertificate)]],
                ['receipt', Buffer.from('charter test receipt')],
              ]),
            ],
            ['authData', Buffer.from(authData)],
          ]),
        ),
      );
      return {
        attestation,
        attestationB64: base64(attestation),
        keyId,
        keyIdB64: base64(keyId),
        publicKey: pair.publicKey,
        privateKey: pair.privateKey,
      };
    },
    assert: createTestAppAttestAssertion,
  };
}

/** Mint an App Attest assertion signed by `privateKey` (any P-256 key; no authority needed). */
export function createTestAppAttestAssertion(o: TestAppAssertionOptions): {
  assertion: Uint8Array;
  assertionB64: string;
} {
  const authenticatorData = concat([
    sha256(Buffer.from(o.appId, 'utf8')),
    Uint8Array.of(0x40),
    uint32(o.counter),
  ]);
  const signature = sign('sha256', sha256(authenticatorData, o.clientDataHash), o.privateKey);
  const assertion = asBytes(
    cbor.encode(
      new Map<string, unknown>([
        ['signature', signature],
        ['authenticatorData', Buffer.from(authenticatorData)],
      ]),
    ),
  );
  return { assertion, assertionB64: base64(assertion) };
}

/**
 * DER of an ML-DSA-65 SubjectPublicKeyInfo (FIPS 204: OID 2.16.840.1.101.3.4.3.18, a 1952-byte public
 * key; random bytes here), the leaf key of new Pixels that Node 20 cannot load. Pass it as `leafSpki`.
 */
export function mlDsa65Spki(): Uint8Array {
  const oid = Uint8Array.of(0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12);
  const alg = concat([Uint8Array.of(0x30), encodeLength(oid.length), oid]);
  const key = concat([Uint8Array.of(0), randomBytes(1952)]);
  const bits = concat([Uint8Array.of(0x03), encodeLength(key.length), key]);
  const body = concat([alg, bits]);
  return concat([Uint8Array.of(0x30), encodeLength(body.length), body]);
}

/** DER of the App Attest nonce extension: SEQUENCE { [1] EXPLICIT OCTET STRING nonce }. */
export function nonceExtension(nonce: Uint8Array): Uint8Array {
  const octets = concat([Uint8Array.of(0x04), encodeLength(nonce.length), nonce]);
  const tagged = concat([Uint8Array.of(0xa1), encodeLength(octets.length), octets]);
  return concat([Uint8Array.of(0x30), encodeLength(tagged.length), tagged]);
}

function uint32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
