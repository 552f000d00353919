/**
 * Build manifests (`charter-manifest+jwt`): the vendor's signed list of the files of a sealed gateway
 * build and their SHA-256, written by `vendor seal-gateway` and checked by the build at every start.
 *
 * Signed with the vendor's `license` key (the key that already speaks to gateways), never the root;
 * the manifest carries that key's delegation in `keys`, like a license does. The `typ` keeps a
 * manifest from ever being read as a license and the reverse.
 */
import { ARTIFACT_TYP, type SigningKey, signArtifact } from './artifact.ts';
import { ClaimReader, ID } from './claims.ts';
import { decodeJsonSegment } from './jws.ts';
import type { KeyRing } from './keyring.ts';
import { verifyVendorArtifact } from './verify.ts';

/** The claims of a build manifest. */
export interface ManifestClaims {
  iss: string;
  /** The build id. */
  jti: string;
  iat: number;
  nbf: number;
  /** Far in the future: a build does not expire, it only stops being the newest. */
  exp: number;
  gateway_version: string;
  /** Path relative to the build folder (forward slashes) → base64url SHA-256 of the file. */
  files: Record<string, string>;
  /** The `charter-key+jwt` delegation of the signing key. */
  keys: string[];
}

const PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9@._+\-/]{1,300}$/;
const SHA256_B64URL = /^[A-Za-z0-9_-]{43}$/;

function checkManifestClaims(p: Record<string, unknown>): void {
  const r = new ClaimReader('invalid_request');
  r.string(p.jti, 'jti', ID);
  r.integer(p.iat, 'iat');
  r.integer(p.nbf, 'nbf');
  r.integer(p.exp, 'exp');
  r.string(p.gateway_version, 'gateway_version', undefined, 64);
  const files = r.object(p.files, 'files');
  for (const [path, hash] of Object.entries(files)) {
    if (!PATH.test(path)) r.fail('files', 'has a path that is not a plain relative path');
    r.string(hash, `files.${path}`, SHA256_B64URL);
  }
  r.strings(p.keys, 'keys', undefined, { max: 10 });
}

/** Sign a build manifest with a key delegated for `license` use. */
export async function signManifest(claims: ManifestClaims, key: SigningKey): Promise<string> {
  return signArtifact(ARTIFACT_TYP.manifest, claims, key);
}

/**
 * Verify a build manifest against the trust anchor, as of the instant it claims to be signed (a
 * build stays sealed after its signing key expires or is rotated; the signature still has to verify
 * with a key the root delegated, valid at that instant). Refuses with `invalid_request`.
 */
export async function verifyManifest(token: string, ring: KeyRing): Promise<ManifestClaims> {
  const payload = decodeJsonSegment(token.split('.')[1] ?? '');
  if (Array.isArray(payload?.keys)) ring.add(payload.keys.filter((k): k is string => typeof k === 'string'));
  const iat = typeof payload?.iat === 'number' ? payload.iat : undefined;
  const v = await verifyVendorArtifact(
    'manifest',
    token,
    ring,
    iat === undefined ? {} : { at: iat },
    checkManifestClaims,
  );
  return v.payload as unknown as ManifestClaims;
}
