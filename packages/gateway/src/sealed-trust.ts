/**
 * The sealed build's check of itself (`vendor seal-gateway`): the trust anchor compiled into the
 * bundle, and the vendor-signed manifest (`manifest.jwt`, `charter-manifest+jwt`) listing every file
 * of the build folder with its SHA-256. At start the build re-hashes its folder; any changed, missing
 * or added file, or a manifest that does not verify against the sealed trust, makes it `unsealed`
 * (reported in /.well-known/charter, metrics, activation requests and every usage report).
 *
 * What this proves is limited, and docs/hostile-operator.md says so: the check runs inside the code it checks, so
 * an owner who edits the bundle can also edit the check. It turns patching into a deliberate act of
 * editing vendor code, rather than a config change, and catches every accidental or casual change.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Integrity, KeyRing, trustFromDocument, type VendorTrust, verifyManifest } from '@charter/core';
import { SEALED_TRUST_DOCUMENT } from './sealed-build.ts';

/** The manifest's file name in the build folder. */
export const MANIFEST_FILE = 'manifest.jwt';

/** The top-level folders of a build; a file in them that the manifest does not list unseals it. */
export const BUILD_FOLDERS = ['bin', 'lib', 'node_modules'] as const;

/** A sealed build as it found itself at start. */
export interface SealedBuild {
  trust: VendorTrust;
  integrity: Integrity;
  /** The manifest's `jti`, when it verified. */
  build_id?: string;
  /** Why the build is unsealed. */
  reason?: string;
  dir: string;
}

/** base64url SHA-256 of a file's bytes. */
export function hashFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('base64url');
}

/** Every file under the build folders of `dir`, as sorted forward-slash paths relative to `dir`. */
export function listBuildFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  for (const f of BUILD_FOLDERS) walk(join(dir, f));
  return out.sort();
}

/** Check the build in `dir` against its manifest and `trust`; the first problem found, if any. */
export async function checkBuild(
  dir: string,
  trust: VendorTrust,
): Promise<{ ok: true; build_id: string } | { ok: false; reason: string }> {
  let token: string;
  try {
    token = readFileSync(join(dir, MANIFEST_FILE), 'utf8').trim();
  } catch {
    return { ok: false, reason: 'the build has no manifest' };
  }
  let files: Record<string, string>;
  let buildId: string;
  try {
    const claims = await verifyManifest(token, new KeyRing(trust));
    files = claims.files;
    buildId = claims.jti;
  } catch (e) {
    return {
      ok: false,
      reason: `the manifest does not verify (${e instanceof Error ? e.message : 'invalid'})`,
    };
  }
  const present = new Set(listBuildFiles(dir));
  for (const [path, hash] of Object.entries(files)) {
    if (!existsSync(join(dir, path))) return { ok: false, reason: `${path} is missing` };
    if (hashFile(join(dir, path)) !== hash) return { ok: false, reason: `${path} was changed` };
    present.delete(path);
  }
  const extra = [...present][0];
  if (extra !== undefined) return { ok: false, reason: `${extra} is not part of the build` };
  return { ok: true, build_id: buildId };
}

/**
 * This build's sealed trust and integrity, or undefined in an unsealed (source) build. The build
 * folder is the parent of the folder holding the bundle (`DIR/lib/…`).
 */
export async function sealedBuild(): Promise<SealedBuild | undefined> {
  if (!SEALED_TRUST_DOCUMENT) return undefined;
  const trust = await trustFromDocument(SEALED_TRUST_DOCUMENT);
  const dir = dirname(dirname(fileURLToPath(import.meta.url)));
  const check = await checkBuild(dir, trust);
  return check.ok
    ? { trust, integrity: 'sealed', build_id: check.build_id, dir }
    : { trust, integrity: 'unsealed', reason: check.reason, dir };
}

/** The sealed trust of this build, or undefined in an unsealed build. */
export async function sealedTrust(): Promise<VendorTrust | undefined> {
  return (await sealedBuild())?.trust;
}
