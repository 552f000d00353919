/**
 * The vendor's keys: creating the vendor (a root sealed under the passphrase, delegated charter,
 * license and attester keys), rotation, taking the root offline and back, and the public side
 * (trust document, delegations) that gateways and key rings are built from.
 */
import {
  CharterError,
  exportPrivateKey,
  generateVendorKey,
  ID,
  importPrivateKey,
  type KeyUse,
  openSealedKey,
  type PublicJwk,
  type SealedKey,
  type SigningKey,
  sealPrivateKey,
  signKeyDelegation,
  type TrustDocument,
} from '@charter/core';
import * as store from '../store/keys.ts';
import { getMeta, insertMeta } from '../store/meta.ts';
import { invalid, now, record, type VendorContext, vendorIdOf } from './context.ts';

/** Default validity of a delegated signing key: two years. */
export const DEFAULT_KEY_TTL_S = 2 * 365 * 86400;

/** A freshly made signing key and the root's delegation of it. */
interface NewSigningKey {
  key: Awaited<ReturnType<typeof generateVendorKey>>;
  use: KeyUse;
  nbf: number;
  exp: number;
  delegation: string;
}

async function makeSigningKey(
  vendorId: string,
  use: KeyUse,
  root: SigningKey,
  ttlS = DEFAULT_KEY_TTL_S,
): Promise<NewSigningKey> {
  const key = await generateVendorKey();
  const nbf = now();
  const exp = nbf + ttlS;
  const delegation = await signKeyDelegation({ vendorId, jwk: key.publicJwk, use: [use], nbf, exp }, root);
  return { key, use, nbf, exp, delegation };
}

function insertSigningKey(ctx: VendorContext, k: NewSigningKey): void {
  store.insertSigningKey(ctx.db, {
    kid: k.key.publicJwk.kid,
    use: k.use,
    publicJwk: JSON.stringify(k.key.publicJwk),
    privatePkcs8: exportPrivateKey(k.key.privateKey),
    delegation: k.delegation,
    nbf: k.nbf,
    exp: k.exp,
    createdAt: now(),
  });
}

/** Create the vendor: a root key sealed under the passphrase, and delegated charter and license keys. */
export async function init(
  ctx: VendorContext,
  input: { vendorId: string; name: string; passphrase: string; keyTtlS?: number },
): Promise<{ vendor_id: string; root_kid: string }> {
  if (!ID.test(input.vendorId))
    invalid('ERR_VENDOR_ID', 'the vendor id may use letters, digits and . _ : ~ - (at most 128)');
  if (getMeta(ctx.db, 'vendor_id') !== undefined)
    throw new CharterError('conflict', 'ERR_INITIALISED', 'this home already holds a vendor');
  const root = await generateVendorKey();
  const sealed = sealPrivateKey(exportPrivateKey(root.privateKey), root.publicJwk.kid, input.passphrase);
  const rootSigner: SigningKey = { kid: root.publicJwk.kid, privateKey: root.privateKey };
  const keys: NewSigningKey[] = [];
  // The attester key signs the online attester's tokens (docs/vendor-attester.md).
  for (const use of ['charter', 'license', 'attester'] as KeyUse[])
    keys.push(await makeSigningKey(input.vendorId, use, rootSigner, input.keyTtlS));
  ctx.db.transaction(() => {
    insertMeta(ctx.db, 'vendor_id', input.vendorId);
    insertMeta(ctx.db, 'vendor_name', input.name);
    store.insertRootKey(ctx.db, {
      kid: root.publicJwk.kid,
      publicJwk: JSON.stringify(root.publicJwk),
      sealed: JSON.stringify(sealed),
      createdAt: now(),
    });
    for (const k of keys) insertSigningKey(ctx, k);
    record(ctx, 'vendor.init', input.vendorId, { name: input.name, root_kid: root.publicJwk.kid });
  })();
  return { vendor_id: input.vendorId, root_kid: root.publicJwk.kid };
}

/** The root key, unsealed with the passphrase; refused when it was exported away. */
function rootSigner(ctx: VendorContext, passphrase: string): SigningKey {
  const row = store.latestRootKey(ctx.db);
  if (!row) vendorIdOf(ctx);
  if (!row?.sealed) {
    throw new CharterError(
      'key_unavailable',
      'ERR_ROOT_EXPORTED',
      'the root key is not in this home (exported): run `charter vendor keys import-root` first',
    );
  }
  const sealed = JSON.parse(row.sealed) as SealedKey;
  return { kid: row.kid, privateKey: importPrivateKey(openSealedKey(sealed, passphrase)) };
}

/** Make a new signing key for each use; older keys keep verifying until they expire. */
export async function rotateKeys(
  ctx: VendorContext,
  input: { uses: KeyUse[]; passphrase: string; keyTtlS?: number },
): Promise<{ keys: { kid: string; use: KeyUse; exp: number }[] }> {
  const vendorId = vendorIdOf(ctx);
  const root = rootSigner(ctx, input.passphrase);
  const made: NewSigningKey[] = [];
  for (const use of input.uses) made.push(await makeSigningKey(vendorId, use, root, input.keyTtlS));
  ctx.db.transaction(() => {
    for (const k of made) {
      store.retireSigningKeys(ctx.db, k.use, now());
      insertSigningKey(ctx, k);
      record(ctx, 'keys.rotate', k.key.publicJwk.kid, { use: k.use, exp: k.exp });
    }
  })();
  return { keys: made.map((k) => ({ kid: k.key.publicJwk.kid, use: k.use, exp: k.exp })) };
}

/** The sealed root key for offline storage; with `remove`, it is deleted from this home. */
export function exportRoot(
  ctx: VendorContext,
  input: { remove: boolean },
): { sealed: SealedKey; removed: boolean } {
  vendorIdOf(ctx);
  const row = store.latestRootKey(ctx.db) as { kid: string; sealed: string | null };
  if (!row.sealed)
    throw new CharterError(
      'key_unavailable',
      'ERR_ROOT_EXPORTED',
      'the root key was already removed from this home',
    );
  ctx.db.transaction(() => {
    store.markRootExported(ctx.db, row.kid, now(), input.remove);
    record(ctx, 'keys.export-root', row.kid, { removed: input.remove });
  })();
  return { sealed: JSON.parse(row.sealed) as SealedKey, removed: input.remove };
}

/** Bring a sealed root key back into this home (it must be this vendor's root). */
export function importRoot(ctx: VendorContext, sealed: SealedKey): { root_kid: string } {
  vendorIdOf(ctx);
  const kid = sealed?.kid;
  // A key of another vendor (or another root of this one that is not on record) is refused.
  if (!store.rootKeyExists(ctx.db, kid))
    throw new CharterError('conflict', 'ERR_ROOT_FOREIGN', 'that sealed key is not this vendor’s root key');
  ctx.db.transaction(() => {
    store.setRootSealed(ctx.db, kid, JSON.stringify(sealed));
    record(ctx, 'keys.import-root', kid);
  })();
  return { root_kid: kid };
}

/** Signing keys with their use and validity, newest first. */
export function listKeys(
  ctx: VendorContext,
): { kid: string; use: string; nbf: number; exp: number; active: boolean }[] {
  vendorIdOf(ctx);
  return store.signingKeyRows(ctx.db).map((r) => ({
    kid: r.kid,
    use: r.use,
    nbf: r.nbf,
    exp: r.exp,
    active: r.retired_at === null,
  }));
}

/** The active signing key of a use, refusing with `key_unavailable` when there is none or it expired. */
export function activeKey(ctx: VendorContext, use: KeyUse): SigningKey & { exp: number } {
  const row = store.activeSigningKey(ctx.db, use);
  if (!row)
    throw new CharterError(
      'key_unavailable',
      'ERR_NO_KEY',
      `there is no active ${use} signing key: run \`charter vendor keys rotate\``,
    );
  if (row.exp <= now()) {
    throw new CharterError(
      'key_unavailable',
      'ERR_KEY_EXPIRED',
      `the ${use} signing key has expired: run \`charter vendor keys rotate\``,
    );
  }
  return { kid: row.kid, privateKey: importPrivateKey(row.private_pkcs8), exp: row.exp };
}

/** The public JWK of a signing key. */
export function publicJwkOf(ctx: VendorContext, kid: string): PublicJwk {
  const jwk = store.signingKeyPublicJwk(ctx.db, kid);
  if (jwk === undefined)
    throw new CharterError('not_found', 'ERR_UNKNOWN_KEY', `there is no signing key ${kid}`);
  return JSON.parse(jwk) as PublicJwk;
}

/** Every key delegation still valid: what a key ring needs to verify this vendor's charters. */
export function delegations(ctx: VendorContext): string[] {
  return store.validDelegations(ctx.db, now());
}

/** The trust document: the vendor id and its root public keys (a JWK Set). */
export function trustDocument(ctx: VendorContext): TrustDocument {
  const vendor_id = vendorIdOf(ctx);
  return { vendor_id, keys: store.rootPublicJwks(ctx.db).map((j) => JSON.parse(j) as PublicJwk) };
}
