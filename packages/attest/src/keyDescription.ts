/**
 * The Android KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17), read forward-compatibly by tags
 * with a strict DER reader, the way Google's reference verifier (android/keyattestation Extension.kt)
 * reads it:
 *
 *   KeyDescription ::= SEQUENCE {
 *     attestationVersion INTEGER, attestationSecurityLevel ENUMERATED,
 *     keyMintVersion INTEGER, keyMintSecurityLevel ENUMERATED,
 *     attestationChallenge OCTET STRING, uniqueId OCTET STRING,
 *     softwareEnforced AuthorizationList, hardwareEnforced AuthorizationList, ... }
 *   AuthorizationList ::= SEQUENCE { [tag] EXPLICIT value, ... }
 *
 * Every attestation version decodes: Keymaster 1-4.1 (1-4), KeyMint 100-400, KeyMint 500 (Android SDK
 * 37) and any later one: the version is reported, never judged, because the layout has only ever grown.
 * Fields a newer version appends after the eight are ignored. In the authorization lists, only the tags
 * Charter reads are decoded (and must have their documented type); any other tag, including ones no
 * release has defined yet, is skipped unread, so it cannot change a decision. Tags may come in any order
 * (real devices emit them out of order). A REPEATED tag among those read is refused: two values for one
 * property would make the answer depend on which one a parser picks.
 */
import { hex } from './bytes.ts';
import { children, readSingle, readTlv, type Tlv } from './der.ts';
import { guarded, malformed } from './errors.ts';

/** OID of the KeyDescription extension. */
export const KEY_DESCRIPTION_OID = '1.3.6.1.4.1.11129.2.1.17';

/**
 * Attestation versions published when this verifier was written (Keymaster 1-4.1, KeyMint 1-5). Kept
 * for reference and tests only: versions outside this list are accepted just the same.
 */
export const KNOWN_ATTESTATION_VERSIONS: readonly number[] = [1, 2, 3, 4, 100, 200, 300, 400, 500];

/** Where a key lives, per the attestation. */
export type AndroidSecurityLevel = 'SOFTWARE' | 'TRUSTED_ENVIRONMENT' | 'STRONG_BOX';

/** Boot state reported in the root of trust. */
export type VerifiedBootState = 'VERIFIED' | 'SELF_SIGNED' | 'UNVERIFIED' | 'FAILED';

/** One package of the attestationApplicationId. */
export interface AttestedPackage {
  name: string;
  /** versionCode (a long on Android; values above 2^53 lose precision). */
  version: number;
}

/** The decoded KeyDescription, with hardware-enforced values preferred over software-enforced ones. */
export interface KeyDescriptionInfo {
  attestationVersion: number;
  attestationSecurityLevel: AndroidSecurityLevel;
  keymintVersion: number;
  keymintSecurityLevel: AndroidSecurityLevel;
  challenge: Uint8Array;
  uniqueId: Uint8Array;
  /** Packages of the app (several when apps share a UID); empty when the tag is absent. */
  packages: AttestedPackage[];
  /** SHA-256 digests (lowercase hex) of the app's signing certificates. */
  signatureDigests: string[];
  /** Whether attestationApplicationId was present at all. */
  hasApplicationId: boolean;
  rootOfTrust: {
    verifiedBootKey: Uint8Array;
    deviceLocked: boolean;
    verifiedBootState: VerifiedBootState;
    verifiedBootHash: Uint8Array | undefined;
  } | null;
  /** e.g. 160000 for Android 16; null when absent. */
  osVersion: number | null;
  /** YYYYMM; null when absent. */
  osPatchLevel: number | null;
  vendorPatchLevel: number | null;
  bootPatchLevel: number | null;
  /** KeyOrigin: 0 GENERATED, 1 DERIVED, 2 IMPORTED, 3 RESERVED, 4 SECURELY_IMPORTED. */
  origin: number | null;
  /** ms since the epoch, as claimed by the device (software-enforced). */
  creationDateTime: number | null;
  /** Hardware rollback resistance (rollbackResistance, or KM2/3 rollbackResistant), hardware-enforced. */
  rollbackResistant: boolean;
}

const SECURITY_LEVELS: readonly AndroidSecurityLevel[] = ['SOFTWARE', 'TRUSTED_ENVIRONMENT', 'STRONG_BOX'];
const BOOT_STATES: readonly VerifiedBootState[] = ['VERIFIED', 'SELF_SIGNED', 'UNVERIFIED', 'FAILED'];

/** Authorization tags Charter reads (KeyMint Tag.aidl numbers); every other tag is skipped. */
const TAG = {
  rollbackResistance: 303,
  creationDateTime: 701,
  origin: 702,
  rollbackResistant: 703,
  rootOfTrust: 704,
  osVersion: 705,
  osPatchLevel: 706,
  attestationApplicationId: 709,
  vendorPatchLevel: 718,
  bootPatchLevel: 719,
} as const;
const READ_TAGS: ReadonlySet<number> = new Set(Object.values(TAG));

/** Universal tag numbers. */
const BOOLEAN = 1;
const INTEGER = 2;
const OCTET_STRING = 4;
const NULL = 5;
const ENUMERATED = 10;
const SEQUENCE = 16;
const SET = 17;

/** Parse the DER value of the KeyDescription extension. */
export function parseKeyDescription(extnValue: Uint8Array): KeyDescriptionInfo {
  return guarded('The key description extension is not valid DER.', () => parse(extnValue));
}

function parse(der: Uint8Array): KeyDescriptionInfo {
  const top = readSingle(der);
  if (!isUniversal(top, SEQUENCE, true)) malformed('The key description is not a SEQUENCE.');
  const fields = children(der, top);
  if (fields.length < 8) malformed('The key description has fewer than eight fields.');
  const [version, attLevel, kmVersion, kmLevel, challenge, uniqueId, swList, hwList] = fields as [
    Tlv,
    Tlv,
    Tlv,
    Tlv,
    Tlv,
    Tlv,
    Tlv,
    Tlv,
  ];
  const sw = authorizationList(der, swList);
  const hw = authorizationList(der, hwList);
  // Hardware-enforced values win: software-enforced ones are only what Android's keystore daemon says.
  const pick = (tag: number) => hw.get(tag) ?? sw.get(tag);
  const app = pick(TAG.attestationApplicationId);
  const applicationId = app ? parseApplicationId(octets(der, app, 'attestation application id')) : undefined;
  const rot = pick(TAG.rootOfTrust);
  const creation = sw.get(TAG.creationDateTime) ?? hw.get(TAG.creationDateTime);
  return {
    attestationVersion: integer(der, version, 'attestation version'),
    attestationSecurityLevel: level(der, attLevel),
    keymintVersion: integer(der, kmVersion, 'KeyMint version'),
    keymintSecurityLevel: level(der, kmLevel),
    challenge: octets(der, challenge, 'attestation challenge'),
    uniqueId: octets(der, uniqueId, 'unique id'),
    packages: applicationId?.packages ?? [],
    signatureDigests: applicationId?.signatureDigests ?? [],
    hasApplicationId: applicationId !== undefined,
    rootOfTrust: rot ? rootOfTrust(der, rot) : null,
    osVersion: optionalInteger(der, pick(TAG.osVersion), 'OS version'),
    osPatchLevel: optionalInteger(der, pick(TAG.osPatchLevel), 'OS patch level'),
    vendorPatchLevel: optionalInteger(der, pick(TAG.vendorPatchLevel), 'vendor patch level'),
    bootPatchLevel: optionalInteger(der, pick(TAG.bootPatchLevel), 'boot patch level'),
    origin: optionalInteger(der, pick(TAG.origin), 'origin'),
    creationDateTime: optionalInteger(der, creation, 'creation time'),
    rollbackResistant:
      isNull(hw.get(TAG.rollbackResistance), 'rollback resistance') ||
      isNull(hw.get(TAG.rollbackResistant), 'rollback resistance'),
  };
}

/**
 * The entries of an AuthorizationList that Charter reads, by tag: the single element inside each
 * [tag] EXPLICIT wrapper. Other tags are skipped without looking inside them, repeated or not.
 */
function authorizationList(der: Uint8Array, list: Tlv): Map<number, Tlv> {
  if (!isUniversal(list, SEQUENCE, true)) malformed('An authorization list is not a SEQUENCE.');
  const out = new Map<number, Tlv>();
  for (const item of children(der, list)) {
    if (item.tagClass !== 2 || !item.constructed)
      malformed('An authorization list entry is not a tagged value.');
    if (!READ_TAGS.has(item.tagNumber)) continue;
    if (out.has(item.tagNumber)) malformed('An authorization list repeats a tag.');
    const inner = readTlv(der, item.contentStart, item.end);
    if (inner.end !== item.end) malformed('An authorization list entry holds more than one value.');
    out.set(item.tagNumber, inner);
  }
  return out;
}

/** Decode attestationApplicationId: SEQUENCE { SET OF AttestationPackageInfo, SET OF OCTET STRING }. */
function parseApplicationId(der: Uint8Array): { packages: AttestedPackage[]; signatureDigests: string[] } {
  const top = readSingle(der);
  if (!isUniversal(top, SEQUENCE, true)) malformed('The attestation application id is not a SEQUENCE.');
  const [infos, digests] = children(der, top);
  if (!infos || !digests || !isUniversal(infos, SET, true) || !isUniversal(digests, SET, true)) {
    malformed('The attestation application id does not hold two sets.');
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const packages = children(der, infos).map((info) => {
    if (!isUniversal(info, SEQUENCE, true)) malformed('A package info is not a SEQUENCE.');
    const [name, version] = children(der, info);
    if (!name || !version) malformed('A package info lacks its name or version.');
    const bytes = octets(der, name, 'package name');
    const text = guarded('A package name is not UTF-8.', () => utf8.decode(bytes));
    return { name: text, version: integer(der, version, 'package version') };
  });
  const signatureDigests = children(der, digests).map((d) => hex(octets(der, d, 'signature digest')));
  return { packages, signatureDigests };
}

/** RootOfTrust ::= SEQUENCE { verifiedBootKey OCTET STRING, deviceLocked BOOLEAN, verifiedBootState ENUMERATED, verifiedBootHash OCTET STRING (KM4+) }. */
function rootOfTrust(der: Uint8Array, rot: Tlv): NonNullable<KeyDescriptionInfo['rootOfTrust']> {
  if (!isUniversal(rot, SEQUENCE, true)) malformed('The root of trust is not a SEQUENCE.');
  const [key, locked, state, hash] = children(der, rot);
  if (!key || !locked || !state) malformed('The root of trust is incomplete.');
  if (!isUniversal(locked, BOOLEAN, false) || locked.end - locked.contentStart !== 1) {
    malformed('The root of trust has no device lock state.');
  }
  // BER TRUE is any non-zero byte; DER says 0xff. Read it as BER (as BouncyCastle, under Google's
  // verifier, does): the bytes are signed by the device, so leniency here admits, never forges.
  const lockByte = der[locked.contentStart]!;
  const bootState = BOOT_STATES[enumerated(der, state, 'boot state')];
  if (bootState === undefined) malformed('The root of trust has an unknown boot state.');
  return {
    verifiedBootKey: octets(der, key, 'verified boot key'),
    deviceLocked: lockByte !== 0,
    verifiedBootState: bootState,
    verifiedBootHash: hash ? octets(der, hash, 'verified boot hash') : undefined,
  };
}

function isUniversal(t: Tlv, tagNumber: number, constructed: boolean): boolean {
  return t.tagClass === 0 && t.tagNumber === tagNumber && t.constructed === constructed;
}

function octets(der: Uint8Array, t: Tlv, what: string): Uint8Array {
  if (!isUniversal(t, OCTET_STRING, false)) malformed(`The ${what} is not an OCTET STRING.`);
  return new Uint8Array(der.subarray(t.contentStart, t.end));
}

function level(der: Uint8Array, t: Tlv): AndroidSecurityLevel {
  const l = SECURITY_LEVELS[enumerated(der, t, 'security level')];
  if (l === undefined) malformed('The key description has an unknown security level.');
  return l;
}

function enumerated(der: Uint8Array, t: Tlv, what: string): number {
  if (!isUniversal(t, ENUMERATED, false)) malformed(`The ${what} is not an ENUMERATED.`);
  return integerValue(der, t, what);
}

function integer(der: Uint8Array, t: Tlv, what: string): number {
  if (!isUniversal(t, INTEGER, false)) malformed(`The ${what} is not an INTEGER.`);
  return integerValue(der, t, what);
}

function optionalInteger(der: Uint8Array, t: Tlv | undefined, what: string): number | null {
  return t === undefined ? null : integer(der, t, what);
}

function isNull(t: Tlv | undefined, what: string): boolean {
  if (t === undefined) return false;
  if (!isUniversal(t, NULL, false) || t.end !== t.contentStart) malformed(`The ${what} is not a NULL.`);
  return true;
}

/**
 * An INTEGER/ENUMERATED content as a number (two's complement; KeyMint values are 32- or 64-bit, so
 * at most 16 bytes are read). Non-minimal encodings (redundant leading 00/ff bytes, which some
 * Keymaster implementations write) are read for their value: the device signed these bytes, and the
 * value is the same. Values beyond 2^53 lose precision, which no field Charter judges reaches.
 */
function integerValue(der: Uint8Array, t: Tlv, what: string): number {
  const bytes = der.subarray(t.contentStart, t.end);
  if (bytes.length === 0 || bytes.length > 16) malformed(`The ${what} is not a valid integer.`);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes[0]! & 0x80) v -= 1n << BigInt(bytes.length * 8);
  return Number(v);
}
