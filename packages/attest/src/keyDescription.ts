/**
 * The Android KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17), parsed with
 * @peculiar/asn1-android for every attestation version in use: Keymaster 2/3/4/4.1 (versions 1-4) and
 * KeyMint 1-4 (100, 200, 300, 400); the layout is the same, KeyMint renames teeEnforced to
 * hardwareEnforced.
 *
 * Real devices are sloppier than the schema: some emit authorization tags out of order, and new Android
 * releases add tags an older schema does not know. Both would make a strict schema parse fail, so the
 * two authorization lists are first re-assembled here: unknown tags are dropped (we never read them, so
 * they cannot change any decision), known ones sorted, and a REPEATED tag is refused (two values for one
 * property would make the answer depend on which one a parser picks).
 */
import { AttestationApplicationId, KeyDescription, type RootOfTrust } from '@peculiar/asn1-android';
import { AsnConvert } from '@peculiar/asn1-schema';
import { asBytes, hex } from './bytes.ts';
import { children, concat, encodeLength, encodeTag, readSingle } from './der.ts';
import { guarded, malformed, refuse } from './errors.ts';

/** OID of the KeyDescription extension. */
export const KEY_DESCRIPTION_OID = '1.3.6.1.4.1.11129.2.1.17';

/** Attestation versions this verifier knows; a new one is refused until its format has been reviewed. */
export const KNOWN_ATTESTATION_VERSIONS: readonly number[] = [1, 2, 3, 4, 100, 200, 300, 400];

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

/** Context tags of AuthorizationList known to @peculiar/asn1-android 2.10. */
const KNOWN_TAGS = new Set([
  1, 2, 3, 5, 6, 10, 200, 203, 303, 305, 400, 401, 402, 405, 503, 504, 505, 506, 507, 508, 509, 600, 601, 701,
  702, 703, 704, 705, 706, 709, 710, 711, 712, 713, 714, 715, 716, 717, 718, 719, 720, 723, 724,
]);

/** Parse the DER value of the KeyDescription extension. */
export function parseKeyDescription(extnValue: Uint8Array): KeyDescriptionInfo {
  const kd = guarded('The key description extension is not valid DER.', () =>
    AsnConvert.parse(normalise(extnValue), KeyDescription),
  );
  const attestationVersion = int(kd.attestationVersion);
  if (!KNOWN_ATTESTATION_VERSIONS.includes(attestationVersion)) {
    refuse(
      'ERR_ATTEST_UNSUPPORTED',
      'The key description has an attestation version this verifier does not know.',
    );
  }
  const hw = kd.teeEnforced;
  const sw = kd.softwareEnforced;
  const appIdBytes = hw.attestationApplicationId ?? sw.attestationApplicationId;
  const app = appIdBytes ? parseApplicationId(asBytes(appIdBytes.buffer)) : undefined;
  const rot = hw.rootOfTrust ?? sw.rootOfTrust;
  return {
    attestationVersion,
    attestationSecurityLevel: level(kd.attestationSecurityLevel),
    keymintVersion: int(kd.keymasterVersion),
    keymintSecurityLevel: level(kd.keymasterSecurityLevel),
    challenge: asBytes(kd.attestationChallenge.buffer),
    uniqueId: asBytes(kd.uniqueId.buffer),
    packages: app?.packages ?? [],
    signatureDigests: app?.signatureDigests ?? [],
    hasApplicationId: app !== undefined,
    rootOfTrust: rot ? rootOfTrust(rot) : null,
    osVersion: optionalInt(hw.osVersion ?? sw.osVersion),
    osPatchLevel: optionalInt(hw.osPatchLevel ?? sw.osPatchLevel),
    vendorPatchLevel: optionalInt(hw.vendorPatchLevel ?? sw.vendorPatchLevel),
    bootPatchLevel: optionalInt(hw.bootPatchLevel ?? sw.bootPatchLevel),
    origin: optionalInt(hw.origin ?? sw.origin),
    creationDateTime: optionalInt(sw.creationDateTime ?? hw.creationDateTime),
    // NULL-typed tags decode to null when present and undefined when absent.
    rollbackResistant: hw.rollbackResistance !== undefined || hw.rollbackResistant !== undefined,
  };
}

/** Decode attestationApplicationId (an OCTET STRING holding DER). */
function parseApplicationId(der: Uint8Array): { packages: AttestedPackage[]; signatureDigests: string[] } {
  const app = guarded('The attestation application id is not valid DER.', () =>
    AsnConvert.parse(der, AttestationApplicationId),
  );
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const packages = (app.packageInfos ?? []).map((p) => {
    // The schema types packageName as OctetString but the converter yields a bare ArrayBuffer.
    const raw = p.packageName as unknown as ArrayBuffer | { buffer: ArrayBuffer };
    const bytes = asBytes(raw instanceof ArrayBuffer ? raw : raw.buffer);
    const name = guarded('A package name is not UTF-8.', () => utf8.decode(bytes));
    return { name, version: int(p.version) };
  });
  const signatureDigests = (app.signatureDigests ?? []).map((d) => {
    const raw = d as unknown as ArrayBuffer | { buffer: ArrayBuffer };
    return hex(asBytes(raw instanceof ArrayBuffer ? raw : raw.buffer));
  });
  return { packages, signatureDigests };
}

function rootOfTrust(rot: RootOfTrust): NonNullable<KeyDescriptionInfo['rootOfTrust']> {
  const state = BOOT_STATES[rot.verifiedBootState];
  if (state === undefined) malformed('The root of trust has an unknown boot state.');
  if (typeof rot.deviceLocked !== 'boolean') malformed('The root of trust has no device lock state.');
  return {
    verifiedBootKey: asBytes(rot.verifiedBootKey.buffer),
    deviceLocked: rot.deviceLocked,
    verifiedBootState: state,
    verifiedBootHash: rot.verifiedBootHash ? asBytes(rot.verifiedBootHash.buffer) : undefined,
  };
}

function level(value: number): AndroidSecurityLevel {
  const l = SECURITY_LEVELS[value];
  if (l === undefined) malformed('The key description has an unknown security level.');
  return l;
}

/** asn1-schema yields numbers below 2^32 and decimal strings above; both become a number. */
function int(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || !Number.isInteger(n)) malformed('The key description has a malformed integer.');
  return n;
}

function optionalInt(value: unknown): number | null {
  return value === undefined || value === null ? null : int(value);
}

/**
 * Re-assemble the KeyDescription with both authorization lists reduced to known tags in ascending order
 * (see the module comment). Everything else is kept byte for byte.
 */
function normalise(der: Uint8Array): Uint8Array {
  const top = readSingle(der);
  if (top.tagClass !== 0 || !top.constructed || top.tagNumber !== 16) {
    malformed('The key description is not a SEQUENCE.');
  }
  const fields = children(der, top);
  if (fields.length !== 8) malformed('The key description does not have eight fields.');
  const parts: Uint8Array[] = fields.slice(0, 6).map((f) => der.subarray(f.start, f.end));
  for (const list of fields.slice(6)) {
    if (list.tagClass !== 0 || !list.constructed || list.tagNumber !== 16) {
      malformed('An authorization list is not a SEQUENCE.');
    }
    const seen = new Set<number>();
    const kept: { tag: number; bytes: Uint8Array }[] = [];
    for (const item of children(der, list)) {
      if (item.tagClass !== 2 || !item.constructed)
        malformed('An authorization list entry is not a tagged value.');
      if (seen.has(item.tagNumber)) malformed('An authorization list repeats a tag.');
      seen.add(item.tagNumber);
      if (KNOWN_TAGS.has(item.tagNumber))
        kept.push({ tag: item.tagNumber, bytes: der.subarray(item.start, item.end) });
    }
    kept.sort((a, b) => a.tag - b.tag);
    const body = concat(kept.map((k) => k.bytes));
    parts.push(concat([encodeTag(0, true, 16), encodeLength(body.length), body]));
  }
  const body = concat(parts);
  return concat([encodeTag(0, true, 16), encodeLength(body.length), body]);
}
