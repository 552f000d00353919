/**
 * What an uploaded APK or IPA says about itself, for the reviewer: package or bundle id, version,
 * signing certificate digest or team id, set beside what the publisher typed. This reads, it does not
 * verify: the APK's signatures and the profile's CMS signature are not checked here (apksigner and
 * codesign do that); a reviewer sees a mismatch, and attestation enforces the truth at run time.
 */
import { createHash } from 'node:crypto';
import { CharterError, type CharterPlatforms } from '@charter/core';
import { readManifest } from './axml.ts';
import { bad, Reader } from './bytes.ts';
import { cmsCertificates, cmsContent } from './der.ts';
import { type PlistValue, parsePlist, parseXmlPlist } from './plist.ts';
import { readEntry, readZip, type ZipArchive } from './zip.ts';

/** Facts read from an APK. */
export interface ApkFacts {
  kind: 'apk';
  package_name: string;
  version_code: string | null;
  version_name: string | null;
  signing_cert_sha256: string[];
  signature_schemes: string[];
}

/** Facts read from an IPA. */
export interface IpaFacts {
  kind: 'ipa';
  bundle_id: string;
  version: string | null;
  team_id: string | null;
  profile_name: string | null;
}

/** What a binary says about itself. */
export type BinaryFacts = ApkFacts | IpaFacts;

/** One field compared between the submission and the binary. */
export interface BinaryCheck {
  field: string;
  declared: string | null;
  found: string | null;
  match: boolean;
}

const SIG_BLOCK_MAGIC = Buffer.from('APK Sig Block 42', 'latin1');
const SCHEMES: Record<number, string> = { 1896449818: 'v2', 4031998144: 'v3', 462663009: 'v3.1' };
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * The first certificate of every signer in the APK Signing Block (v2/v3), which sits just before the
 * central directory: `u64 size, pairs (u64 len, u32 id, value), u64 size, "APK Sig Block 42"`.
 */
function signingBlockCerts(zip: ZipArchive): { scheme: string; certs: Buffer[] }[] {
  const buf = zip.buf;
  const footer = zip.cdOffset - 24;
  if (footer < 8 || !buf.subarray(footer + 8, footer + 24).equals(SIG_BLOCK_MAGIC)) return [];
  const size = new Reader(buf, footer, footer + 8, 'APK signing block').u64();
  const start = zip.cdOffset - size - 8;
  if (start < 0) bad('the APK signing block is truncated');
  const r = new Reader(buf, start, footer, 'APK signing block');
  if (r.u64() !== size) bad('the APK signing block sizes disagree');
  const out: { scheme: string; certs: Buffer[] }[] = [];
  while (r.left > 0) {
    const pair = r.sub(r.u64(), 'APK signing block entry');
    const id = pair.u32();
    const scheme = SCHEMES[id];
    if (!scheme) continue;
    const signers = pair.prefixed('APK signers');
    const certs: Buffer[] = [];
    while (signers.left > 0) {
      const signer = signers.prefixed('APK signer');
      const signedData = signer.prefixed('APK signed data');
      signedData.prefixed('APK digests');
      const certList = signedData.prefixed('APK certificates');
      if (certList.left > 0) {
        const cert = certList.prefixed('APK certificate');
        certs.push(cert.bytes(cert.left));
      }
    }
    out.push({ scheme, certs });
  }
  return out;
}

/** Inspect an APK: manifest facts, and signing certificate digests from v2/v3 or else v1. */
export function inspectApk(buf: Buffer): ApkFacts {
  const zip = readZip(buf);
  const manifest = zip.entries.find((e) => e.name === 'AndroidManifest.xml');
  if (!manifest) bad('the file is a ZIP archive but not an APK (no AndroidManifest.xml)');
  const facts = readManifest(readEntry(zip, manifest));
  const digests = new Set<string>();
  const schemes: string[] = [];
  for (const { scheme, certs } of signingBlockCerts(zip)) {
    schemes.push(scheme);
    for (const c of certs) digests.add(sha256(c));
  }
  if (digests.size === 0) {
    const sig = zip.entries.find((e) => /^META-INF\/[^/]+\.(RSA|DSA|EC)$/i.test(e.name));
    if (sig) {
      const first = cmsCertificates(readEntry(zip, sig))[0];
      if (first) {
        digests.add(sha256(first));
        schemes.push('v1');
      }
    }
  }
  return { kind: 'apk', ...facts, signing_cert_sha256: [...digests], signature_schemes: schemes };
}

const isDict = (v: PlistValue | undefined): v is Record<string, PlistValue> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date);

/** The XML plist inside a provisioning profile: CMS eContent, else the `<?xml … </plist>` span. */
function profilePlist(buf: Buffer): Record<string, PlistValue> {
  let xml: Buffer | undefined;
  try {
    xml = cmsContent(buf);
  } catch (e) {
    if (!(e instanceof CharterError)) throw e;
  }
  if (!xml) {
    // BER with indefinite lengths (some signers emit it): the plist is stored contiguously anyway.
    const from = buf.indexOf('<?xml');
    const to = buf.indexOf('</plist>', from);
    if (from < 0 || to < 0) bad('embedded.mobileprovision holds no property list');
    xml = buf.subarray(from, to + '</plist>'.length);
  }
  const v = parseXmlPlist(xml.toString('utf8'));
  if (!isDict(v)) bad('embedded.mobileprovision is not a dictionary');
  return v;
}

/** Inspect an IPA: bundle id and version from Info.plist, team id from embedded.mobileprovision. */
export function inspectIpa(buf: Buffer): IpaFacts {
  const zip = readZip(buf);
  const info = zip.entries.find((e) => /^Payload\/[^/]+\.app\/Info\.plist$/.test(e.name));
  if (!info) bad('the file is a ZIP archive but not an IPA (no Payload/*.app/Info.plist)');
  const plist = parsePlist(readEntry(zip, info));
  if (!isDict(plist) || typeof plist.CFBundleIdentifier !== 'string')
    bad('Info.plist has no CFBundleIdentifier');
  const version = plist.CFBundleShortVersionString ?? plist.CFBundleVersion;
  const facts: IpaFacts = {
    kind: 'ipa',
    bundle_id: plist.CFBundleIdentifier,
    version: typeof version === 'string' ? version : null,
    team_id: null,
    profile_name: null,
  };
  const app = info.name.slice(0, -'Info.plist'.length);
  const prov = zip.entries.find((e) => e.name === `${app}embedded.mobileprovision`);
  if (prov) {
    const p = profilePlist(readEntry(zip, prov));
    const team = Array.isArray(p.TeamIdentifier) ? p.TeamIdentifier[0] : undefined;
    facts.team_id = typeof team === 'string' ? team : null;
    facts.profile_name = typeof p.Name === 'string' ? p.Name : null;
  }
  return facts;
}

/** Inspect an uploaded binary by its content (ZIP with a manifest → APK, with Payload/ → IPA). */
export function inspectBinary(buf: Buffer): BinaryFacts {
  try {
    const zip = readZip(buf);
    if (zip.entries.some((e) => e.name === 'AndroidManifest.xml')) return inspectApk(buf);
    if (zip.entries.some((e) => e.name.startsWith('Payload/'))) return inspectIpa(buf);
    return bad('the ZIP archive is neither an APK nor an IPA');
  } catch (e) {
    if (e instanceof CharterError) throw e;
    // Defence in depth: whatever slipped past the bounds checks is still only a refused upload.
    return bad('the file could not be read as an APK or IPA');
  }
}

/** Compare a binary's facts with the platforms (and version) a submission declares. */
export function compareBinary(
  facts: BinaryFacts,
  declared: { platforms: CharterPlatforms; version?: string | null },
): BinaryCheck[] {
  const check = (field: string, d: string | null | undefined, f: string | null): BinaryCheck => ({
    field,
    declared: d ?? null,
    found: f,
    match: (d ?? null) === f,
  });
  if (facts.kind === 'apk') {
    const a = declared.platforms.android;
    const typed = a?.signing_cert_sha256 ?? [];
    return [
      check('android package', a?.package_name, facts.package_name),
      ...facts.signing_cert_sha256.map((d) => ({
        field: 'signing certificate SHA-256',
        declared: typed.includes(d) ? d : typed.join(', ') || null,
        found: d,
        match: typed.includes(d),
      })),
      ...(facts.signing_cert_sha256.length === 0
        ? [check('signing certificate SHA-256', typed.join(', ') || null, null)]
        : []),
      check('version', declared.version, facts.version_name),
    ];
  }
  const i = declared.platforms.ios;
  return [
    check('ios bundle id', i?.bundle_id, facts.bundle_id),
    check('ios team id', i?.team_id, facts.team_id),
    check('version', declared.version, facts.version),
  ];
}
