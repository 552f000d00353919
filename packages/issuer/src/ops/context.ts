/**
 * What every operation needs: the database and who is acting. The `Vendor` facade is itself a
 * context, so its methods hand `this` to the operation files. Also the few helpers all of them share.
 */
import { CharterError, ID } from '@charter/core';
import type { VendorDb } from '../db.ts';
import { getMeta, insertEvent } from '../store/meta.ts';
import type { Actor } from '../types.ts';

export interface VendorContext {
  readonly db: VendorDb;
  readonly actor: Actor;
}

export const now = (): number => Math.floor(Date.now() / 1000);

/**
 * A refusal of bad input: a missing or malformed field, whatever the vendor's state. `conflict` is
 * kept for refusals that depend on that state (already decided, already revoked, no license yet).
 */
export function invalid(detail: string, why: string): never {
  throw new CharterError('invalid_request', detail, why);
}

/** An id as the caller typed it; one that cannot be an id is reported like an unknown one. */
export function reqId(value: string, what: string): string {
  if (!ID.test(value))
    throw new CharterError(
      'not_found',
      'ERR_ID',
      `${what} ${JSON.stringify(value.slice(0, 60))} is not a valid id`,
    );
  return value;
}

/** The vendor id, or throws when `vendor init` has not run. */
export function vendorIdOf(ctx: VendorContext): string {
  const id = getMeta(ctx.db, 'vendor_id');
  if (id === undefined)
    throw new CharterError(
      'not_found',
      'ERR_NOT_INITIALISED',
      'this home has no vendor yet: run `charter vendor init` first',
    );
  return id;
}

/** Append to the decision record as the acting user; call inside the change's transaction. */
export function record(
  ctx: VendorContext,
  action: string,
  subject: string,
  detail: Record<string, unknown> = {},
): void {
  insertEvent(ctx.db, { at: now(), actor: ctx.actor.name, action, subject, detail });
}
