/**
 * Revocation updates (`charter-revocations+jwt`) at the gateway: installed like a license, in force on
 * top of every license with a lower serial, superseded by a license with a higher one.
 *
 * Why it can never loosen: an update must carry at least everything the installed state revokes
 * (the license's revocations and the previous update's), its serial must be above every serial
 * installed here (license or update: one sequence per site), and once installed it stays in force
 * after its own `exp` until a newer license replaces it — its short validity bounds when it may be
 * *installed*, not how long its revocations last. Lifting a revocation takes a new license.
 *
 * The installed update lives in the store as one named state moved by compare-and-set (SQLite and
 * PostgreSQL alike, no migration), so racing installers and replicas agree; each engine re-reads it
 * with its license poll, so replicas have it within a second.
 */
import {
  CharterError,
  decodeJsonSegment,
  epochSeconds,
  KeyRing,
  type LicenseClaims,
  type Refuse,
  type RevocationsClaims,
  refuser,
  type VendorTrust,
  verifyRevocations,
} from '@charter/core';
import type { SiteLicense } from './license.ts';
import type { GatewayStore } from './store.ts';

/** The store state holding the installed revocation update. */
export const REVOCATION_UPDATE_STATE = 'revocation-update';

/** What the store keeps. */
interface StoredUpdate {
  token: string;
  serial: number;
  jti: string;
  site_id: string;
  installed_at: number;
}

/** A verified revocation update, compiled for the hot path. */
export interface RevocationUpdate {
  token: string;
  claims: RevocationsClaims;
  serial: number;
  siteId: string;
  revoked: { charters: ReadonlySet<string>; apps: ReadonlySet<string>; instances: ReadonlySet<string> };
  installedAt: number;
}

type Revoked = LicenseClaims['revoked'];
const KINDS = ['charters', 'apps', 'instances'] as const;

function compile(token: string, claims: RevocationsClaims, installedAt: number): RevocationUpdate {
  return {
    token,
    claims,
    serial: claims.serial,
    siteId: claims.sub,
    revoked: {
      charters: new Set(claims.revoked.charters ?? []),
      apps: new Set(claims.revoked.apps ?? []),
      instances: new Set(claims.revoked.instances ?? []),
    },
    installedAt,
  };
}

/** The installed update's stored record (our own JSON), or undefined. */
async function storedUpdate(store: GatewayStore): Promise<{ text?: string; record?: StoredUpdate }> {
  const text = await store.getState(REVOCATION_UPDATE_STATE);
  return text === undefined ? {} : { text, record: JSON.parse(text) as StoredUpdate };
}

/**
 * The installed revocation update, verified again against the trust anchor (as of its own `iat`: it
 * was current when installed and stays in force after its `exp`), or undefined when none is.
 */
export async function readRevocationUpdate(
  store: GatewayStore,
  trust: VendorTrust,
): Promise<RevocationUpdate | undefined> {
  const { record } = await storedUpdate(store);
  if (!record) return undefined;
  const iat = decodeJsonSegment(record.token.split('.')[1] ?? '')?.iat;
  const { claims } = await verifyRevocations(record.token, new KeyRing(trust), {
    at: typeof iat === 'number' ? iat : 0,
  });
  return compile(record.token, claims, record.installed_at);
}

/** The serial of the installed revocation update, if any (for usage reports). */
export async function revocationUpdateSerial(store: GatewayStore): Promise<number | undefined> {
  return (await storedUpdate(store)).record?.serial;
}

function missing(inForce: Revoked, offered: Revoked): number {
  let n = 0;
  for (const kind of KINDS) {
    const have = new Set(offered[kind] ?? []);
    for (const id of inForce[kind] ?? []) if (!have.has(id)) n++;
  }
  return n;
}

/** True when `next` revokes everything `cur` does. */
function revokesAll(next: RevocationUpdate, cur: RevocationUpdate): boolean {
  return KINDS.every((kind) => [...cur.revoked[kind]].every((id) => next.revoked[kind].has(id)));
}

const refuse: Refuse = refuser('license_invalid');

/**
 * Verify a revocation update and record it, refusing with `license_invalid`: one that does not verify
 * (signature, key, `typ`, expiry), is for another site (`ERR_REVOCATIONS_SITE`), has a serial not
 * above every serial installed here (`ERR_REVOCATIONS_ROLLBACK`, `ERR_REVOCATIONS_SERIAL_REUSED`), or
 * revokes less than is in force (`ERR_REVOCATIONS_LOOSEN`). Re-installing the installed one is a no-op.
 */
export async function installRevocations(
  token: string,
  trust: VendorTrust,
  store: GatewayStore,
  at?: number,
): Promise<{ update: RevocationUpdate; outcome: 'installed' | 'already_installed' }> {
  const text = token.trim();
  const now = epochSeconds(at);
  const { claims } = await verifyRevocations(text, new KeyRing(trust), { at: now });
  const license = await store.currentLicense();
  if (!license) refuse('ERR_LICENSE_NONE', 'no license is installed here: install the site license first');
  if (claims.sub !== license.site_id)
    refuse('ERR_REVOCATIONS_SITE', 'the revocation update is for another site than the one installed here');
  // Our own store's copy of a license this gateway verified at install.
  const licenseRevoked = (decodeJsonSegment(license.token.split('.')[1] ?? '')?.revoked ?? {}) as Revoked;
  for (let attempt = 0; attempt < 20; attempt++) {
    const { text: before, record: prev } = await storedUpdate(store);
    if (prev?.jti === claims.jti)
      return { update: compile(text, claims, prev.installed_at), outcome: 'already_installed' };
    if (prev && prev.serial === claims.serial)
      refuse('ERR_REVOCATIONS_SERIAL_REUSED', 'another revocation update with this serial is installed here');
    const floor = Math.max(license.serial, prev?.serial ?? 0);
    if (claims.serial <= floor)
      refuse(
        'ERR_REVOCATIONS_ROLLBACK',
        `the revocation update is older than what is installed here (serial ${claims.serial}, installed ${floor})`,
      );
    const inForce: Revoked = { ...licenseRevoked };
    if (prev && prev.serial > license.serial) {
      const p = decodeJsonSegment(prev.token.split('.')[1] ?? '')?.revoked as Revoked | undefined;
      for (const kind of KINDS) inForce[kind] = [...(inForce[kind] ?? []), ...(p?.[kind] ?? [])];
    }
    const lacking = missing(inForce, claims.revoked);
    if (lacking > 0)
      refuse(
        'ERR_REVOCATIONS_LOOSEN',
        `the revocation update revokes less than is in force here (${lacking} revocation(s) missing); a revocation update can only add`,
      );
    const record: StoredUpdate = {
      token: text,
      serial: claims.serial,
      jti: claims.jti,
      site_id: claims.sub,
      installed_at: now,
    };
    if (await store.compareAndSetState(REVOCATION_UPDATE_STATE, before, JSON.stringify(record)))
      return { update: compile(text, claims, now), outcome: 'installed' };
  }
  throw new CharterError('conflict', 'ERR_STATE_RACE', 'the revocation state kept changing; try again');
}

/** An engine's copy of the installed revocation update, merged into the license it hands the hot path. */
export class RevocationUpdates {
  #text: string | undefined;
  #failed: string | undefined;
  #update: RevocationUpdate | undefined;
  #merged: { base: SiteLicense; update: RevocationUpdate; license: SiteLicense } | undefined;

  /** The installed update (whether or not a newer license has superseded it). */
  get update(): RevocationUpdate | undefined {
    return this.#update;
  }

  /**
   * Reload from the store; true when the update changed. A stored update that fails to verify throws
   * once (then is skipped quietly until the state changes) and the one in force here stays: an edited
   * store can only keep this engine at least as tight as it was.
   */
  async refresh(store: GatewayStore, trust: VendorTrust): Promise<boolean> {
    const text = await store.getState(REVOCATION_UPDATE_STATE);
    if (text === this.#text || (text !== undefined && text === this.#failed)) return false;
    if (text === undefined) {
      // The state was removed (a wiped or edited store): keep what is in force in this process.
      this.#text = text;
      return false;
    }
    try {
      const next = await readRevocationUpdate(store, trust);
      // The store is the operator's: one written past the install checks may not loosen here either.
      const cur = this.#update;
      if (cur && next && (next.serial < cur.serial || !revokesAll(next, cur)))
        throw new CharterError(
          'license_invalid',
          'ERR_REVOCATIONS_LOOSEN',
          'the stored revocation update is older or revokes less than the one in force here; it is not applied',
        );
      this.#update = next;
    } catch (e) {
      this.#failed = text;
      throw e;
    }
    this.#text = text;
    return true;
  }

  /** True when the update applies on top of `license` (it is newer than it). */
  appliesTo(license: SiteLicense): boolean {
    const u = this.#update;
    return u !== undefined && u.serial > license.serial && u.siteId === license.siteId;
  }

  /** The license with the update's revocations added, when the update is newer (the same object otherwise). */
  apply(license: SiteLicense): SiteLicense {
    const u = this.#update;
    if (!u || !this.appliesTo(license)) return license;
    const m = this.#merged;
    if (m && m.base === license && m.update === u) return m.license;
    const merged: SiteLicense = {
      ...license,
      revoked: {
        charters: new Set([...license.revoked.charters, ...u.revoked.charters]),
        apps: new Set([...license.revoked.apps, ...u.revoked.apps]),
        instances: new Set([...license.revoked.instances, ...u.revoked.instances]),
      },
    };
    this.#merged = { base: license, update: u, license: merged };
    return merged;
  }
}
