/**
 * Local revocations: instances the site's operator has revoked from the admin console. They only
 * tighten: the engine refuses them with `instance_revoked` on top of what the license revokes, and
 * nothing here can un-revoke what the license says. The set lives in the store (one named state,
 * moved by compare-and-set, so replicas agree) and each engine keeps a copy refreshed with the
 * license poll, so the hot path stays a set lookup.
 */
import { CharterError } from '@charter/core';
import type { SiteLicense } from './license.ts';
import type { GatewayStore } from './store.ts';

/** The store state holding the local revocations. */
export const LOCAL_REVOCATIONS_STATE = 'local-revocations';

/** One local revocation: who revoked the instance, when and why. */
export interface LocalRevocation {
  instance_id: string;
  at: number;
  by: string;
  reason: string;
}

/** Most local revocations kept (the license is the place for long lists). */
export const MAX_LOCAL_REVOCATIONS = 10_000;

/** The local revocations in the store, oldest first. */
export async function readLocalRevocations(store: GatewayStore): Promise<LocalRevocation[]> {
  const text = await store.getState(LOCAL_REVOCATIONS_STATE);
  if (text === undefined) return [];
  const parsed = JSON.parse(text) as { revoked?: LocalRevocation[] };
  return Array.isArray(parsed.revoked) ? parsed.revoked : [];
}

/** Add a local revocation (a no-op when the instance is already revoked here), atomically across replicas. */
export async function addLocalRevocation(
  store: GatewayStore,
  revocation: LocalRevocation,
): Promise<{ added: boolean }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const text = await store.getState(LOCAL_REVOCATIONS_STATE);
    const list =
      text === undefined ? [] : ((JSON.parse(text) as { revoked: LocalRevocation[] }).revoked ?? []);
    if (list.some((r) => r.instance_id === revocation.instance_id)) return { added: false };
    if (list.length >= MAX_LOCAL_REVOCATIONS)
      throw new CharterError(
        'conflict',
        'ERR_LOCAL_REVOCATIONS_FULL',
        'too many local revocations: ask the vendor to revoke these instances in the next license',
      );
    const next = JSON.stringify({ revoked: [...list, revocation] });
    if (await store.compareAndSetState(LOCAL_REVOCATIONS_STATE, text, next)) return { added: true };
  }
  throw new CharterError('conflict', 'ERR_STATE_RACE', 'the revocation list kept changing; try again');
}

/** An engine's copy of the local revocations, merged into the license it hands the hot path. */
export class LocalRevocations {
  #ids: ReadonlySet<string> = new Set();
  #merged: { base: SiteLicense; ids: ReadonlySet<string>; license: SiteLicense } | undefined;

  /** The instance ids revoked here. */
  get ids(): ReadonlySet<string> {
    return this.#ids;
  }

  /** Reload the set from the store; true when it changed. */
  async refresh(store: GatewayStore): Promise<boolean> {
    const list = await readLocalRevocations(store);
    if (list.length === this.#ids.size && list.every((r) => this.#ids.has(r.instance_id))) return false;
    this.#ids = new Set(list.map((r) => r.instance_id));
    return true;
  }

  /** The license with the local revocations added to its revoked instances (the same object when none). */
  apply(license: SiteLicense): SiteLicense {
    const ids = this.#ids;
    if (ids.size === 0) return license;
    const m = this.#merged;
    if (m && m.base === license && m.ids === ids) return m.license;
    const merged: SiteLicense = {
      ...license,
      revoked: { ...license.revoked, instances: new Set([...license.revoked.instances, ...ids]) },
    };
    this.#merged = { base: license, ids, license: merged };
    return merged;
  }
}
