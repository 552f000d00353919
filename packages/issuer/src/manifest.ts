/**
 * Signing a sealed gateway build's manifest (`vendor seal-gateway`). The manifest is signed with the
 * vendor's active `license` key — the key whose statements gateways already accept — and carries its
 * root delegation, so the build verifies it against nothing but the root public key sealed inside it.
 * The root key itself stays offline: it signs delegations only.
 */
import { CharterError, importPrivateKey, type ManifestClaims, newId, signManifest } from '@charter/core';
import { activeSigningKey } from './store/keys.ts';
import { insertEvent } from './store/meta.ts';
import type { Vendor } from './vendor.ts';

/** A build manifest is valid for as long as builds are: a century (it is verified as of its `iat`). */
const MANIFEST_LIFETIME_S = 100 * 365 * 86400;

/** Sign the manifest of a gateway build: its files' SHA-256 by relative path; recorded in the log. */
export async function signBuildManifest(
  vendor: Vendor,
  input: { files: Record<string, string>; gatewayVersion: string; now?: number },
): Promise<{ manifest: string; build_id: string }> {
  const vendorId = vendor.vendorId();
  const t = input.now ?? Math.floor(Date.now() / 1000);
  const row = activeSigningKey(vendor.db, 'license');
  if (!row || row.exp <= t)
    throw new CharterError(
      'key_unavailable',
      'ERR_NO_KEY',
      'there is no active license signing key: run `charter vendor keys rotate`',
    );
  const claims: ManifestClaims = {
    iss: vendorId,
    jti: newId('build'),
    iat: t,
    nbf: t,
    exp: t + MANIFEST_LIFETIME_S,
    gateway_version: input.gatewayVersion,
    files: input.files,
    keys: [row.delegation],
  };
  const manifest = await signManifest(claims, {
    kid: row.kid,
    privateKey: importPrivateKey(row.private_pkcs8),
  });
  insertEvent(vendor.db, {
    at: t,
    actor: vendor.actor.name,
    action: 'gateway.seal',
    subject: claims.jti,
    detail: { gateway_version: input.gatewayVersion, files: Object.keys(input.files).length },
  });
  return { manifest, build_id: claims.jti };
}
