/**
 * The installation key and activation requests (`gateway activate`): the key is made once per
 * gateway state and never leaves it, so a license bound to its thumbprint stops working on a copy
 * of the license placed on a wiped or different installation (SPEC.md §1, "customer rolls back").
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  type ActivationClaims,
  type Integrity,
  importPrivateKey,
  installationJkt,
  newId,
  signInstallationArtifact,
} from '@charter/core';
import type { GatewayStore } from './store.ts';
import { GATEWAY_VERSION } from './version.ts';

/** The store secret holding the installation key (PKCS#8 Ed25519) that `installation.jkt` names. */
export const INSTALLATION_SECRET = 'installation-key';

/** How long an activation request stays usable by the vendor: 30 days. */
export const ACTIVATION_TTL_S = 30 * 86400;

/** The installation key of this state, created on first use (atomically across replicas). */
export async function installationKey(store: GatewayStore): Promise<KeyObject> {
  return importPrivateKey(
    await store.secret(INSTALLATION_SECRET, () =>
      generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }),
    ),
  );
}

/** Write an activation request for `siteId`, signed by the installation key (created if needed). */
export async function createActivation(
  store: GatewayStore,
  input: { siteId: string; integrity: Integrity; now: number; ttlS?: number },
): Promise<{ token: string; jkt: string; exp: number }> {
  const key = await installationKey(store);
  const jkt = await installationJkt(key);
  const exp = input.now + (input.ttlS ?? ACTIVATION_TTL_S);
  const claims: ActivationClaims = {
    iss: jkt,
    sub: input.siteId,
    jti: newId('act'),
    iat: input.now,
    exp,
    installation: { jkt },
    gateway_version: GATEWAY_VERSION,
    integrity: input.integrity,
  };
  return { token: await signInstallationArtifact('activation', claims, key), jkt, exp };
}
