/** Charter signing: approving a pending submission signs its charter with the active charter key. */
import { type CharterClaims, CharterError, newId, signCharter } from '@charter/core';
import { decideSubmission } from '../store/catalogue.ts';
import * as store from '../store/charters.ts';
import { now, record, type VendorContext, vendorIdOf } from './context.ts';
import { activeKey } from './keys.ts';
import { publisher, requirePending, submission } from './submissions.ts';

/** A signed charter as the CLI writes it out. */
export interface SignedCharter {
  charter_id: string;
  app_id: string;
  exp: number;
  charter: string;
}

/** Approve a pending submission and sign its charter. */
export async function approve(
  ctx: VendorContext,
  input: { submissionId: string; ttlS: number },
): Promise<SignedCharter> {
  const vendorId = vendorIdOf(ctx);
  const sub = submission(ctx, input.submissionId);
  requirePending(sub);
  const key = activeKey(ctx, 'charter');
  const iat = now();
  const exp = iat + input.ttlS;
  if (exp > key.exp) {
    throw new CharterError(
      'key_unavailable',
      'ERR_KEY_TOO_SHORT',
      'the charter would outlive its signing key: choose a shorter --ttl or run `charter vendor keys rotate`',
    );
  }
  const pub = publisher(ctx, sub.publisher_id);
  const claims: CharterClaims = {
    iss: vendorId,
    sub: sub.app_id,
    jti: newId('chr'),
    iat,
    nbf: iat,
    exp,
    publisher: { id: pub.id, name: pub.name },
    client_name: sub.name,
    software_id: sub.app_id,
    software_version: sub.version,
    scopes: sub.scopes,
    platforms: sub.platforms,
    ...(sub.attestation ? { attestation: sub.attestation } : {}),
  };
  const charter = await signCharter(claims, key);
  // Signing is async: another reviewer may have decided meanwhile, and only one decision may stand.
  ctx.db.transaction(() => {
    const changed = decideSubmission(ctx.db, { id: sub.id, status: 'approved', by: ctx.actor.name, at: iat });
    if (changed !== 1)
      throw new CharterError('conflict', 'ERR_DECIDED', `submission ${sub.id} was decided meanwhile`);
    store.insertCharter(ctx.db, {
      id: claims.jti,
      appId: sub.app_id,
      submissionId: sub.id,
      kid: key.kid,
      iat,
      exp,
      token: charter,
      approvedBy: ctx.actor.name,
    });
    record(ctx, 'app.approve', sub.id, { app_id: sub.app_id, charter_id: claims.jti, exp });
  })();
  return { charter_id: claims.jti, app_id: sub.app_id, exp, charter };
}

/** The charter signed when a submission was approved (the compact JWS), or not_found. */
export function charterOfSubmission(ctx: VendorContext, submissionId: string): SignedCharter {
  const sub = submission(ctx, submissionId);
  const row = store.charterOfSubmission(ctx.db, sub.id);
  if (!row)
    throw new CharterError(
      'not_found',
      'ERR_NO_CHARTER',
      `submission ${sub.id} has no charter (status ${sub.status})`,
    );
  return { charter_id: row.id, app_id: row.app_id, exp: row.exp, charter: row.token };
}
