/** `POST /charter/v1/token` (SPEC.md §3): an instance proves its key and gets a DPoP-bound access token. */
import { CharterError, newId } from '@charter/core';
import { parseTokenBody } from './bodies.ts';
import { type DecisionNotes, type EngineContext, policy, refusal } from './context.ts';
import { verifyDpopProof } from './dpop.ts';
import { checkInstance, scopesOf } from './instance-check.ts';
import { type CharterRequest, headerOf } from './request.ts';

/** The token response of RFC 9449 §5. */
export interface TokenResult {
  access_token: string;
  token_type: 'DPoP';
  expires_in: number;
  scope: string;
}

/**
 * Issue a token. The proof must come from the instance's own key; a nonce, if the proof carries one
 * (or if the gateway requires one), is spent once. Revocations, admission and charter expiry are
 * checked against the license in force now, and scopes re-narrowed by it.
 */
export async function token(
  ctx: EngineContext,
  req: CharterRequest,
  notes: DecisionNotes,
): Promise<TokenResult> {
  const body = parseTokenBody(req.body, headerOf(req, 'content-type'));
  const now = ctx.now();
  const license = ctx.license();
  const proof = verifyDpopProof(headerOf(req, 'dpop', 'invalid_dpop_proof'), {
    method: 'POST',
    htu: ctx.htu.token,
    now,
    skewS: license.proofSkewS,
  });
  const nonce = proof.claims.nonce;
  if (nonce === undefined && ctx.requireTokenNonce)
    throw refusal('use_dpop_nonce', 'ERR_NONCE_MISSING', 'token requests need a server nonce');
  if (nonce !== undefined && !(await ctx.nonces.spend(nonce, now)))
    throw refusal('use_dpop_nonce', 'ERR_NONCE_INVALID', 'the nonce is unknown, expired or spent');
  // Without a nonce the proof's jti is the only replay guard, exactly as on protected requests.
  if (
    nonce === undefined &&
    !(await ctx.cache.setIfAbsent(`jti:${proof.key.jkt}:${proof.claims.jti}`, 2 * license.proofSkewS + 1))
  ) {
    throw refusal('invalid_dpop_proof', 'ERR_DPOP_REPLAY', 'the proof has been used before');
  }

  // Read from the store (not the cache): a token request is where a re-registration takes effect.
  const verified = await ctx.instances.get(ctx, body.instance_id, 0);
  if (!verified)
    throw refusal('invalid_request', 'ERR_INSTANCE_UNKNOWN', 'no such instance is registered here');
  const instance = verified.record;
  if (instance.jkt !== proof.key.jkt)
    throw refusal('invalid_dpop_proof', 'ERR_DPOP_KEY', 'the proof is not signed by the instance key');
  notes.proof_iat = proof.claims.iat;
  notes.app_id = instance.app_id;
  notes.publisher_id = instance.publisher_id;
  notes.instance_id = instance.instance_id;
  notes.charter_id = instance.charter_id;
  notes.instance_known = true;
  checkInstance(ctx, notes, verified, license, now);

  if (license.revoked.instances.has(instance.instance_id))
    policy(
      ctx,
      notes,
      refusal('instance_revoked', 'ERR_INSTANCE_REVOKED', 'the license revokes this instance'),
    );
  if (license.revoked.charters.has(instance.charter_id))
    policy(ctx, notes, refusal('charter_revoked', 'ERR_CHARTER_REVOKED', 'the license revokes this charter'));
  else if (license.revoked.apps.has(instance.app_id))
    policy(ctx, notes, refusal('charter_revoked', 'ERR_APP_REVOKED', 'the license revokes this app'));
  const licensed = license.apps.get(instance.app_id);
  if (!licensed)
    policy(
      ctx,
      notes,
      refusal('app_not_admitted', 'ERR_APP_NOT_LICENSED', 'the license does not admit this app'),
    );
  if (ctx.attestation?.verifyAssertion) {
    try {
      await ctx.attestation.verifyAssertion({
        instance,
        assertion: body.assertion,
        nonce,
        jkt: proof.key.jkt,
        now,
      });
    } catch (e) {
      policy(
        ctx,
        notes,
        e instanceof CharterError
          ? e
          : refusal('invalid_attestation', 'ERR_ASSERTION', 'the assertion verifier failed'),
      );
    }
  }

  const scopes = scopesOf(verified, license);
  // Never past the charter; a charter only monitor mode lets through gets the plain TTL.
  const exp =
    verified.charter.exp > now
      ? Math.min(now + license.tokenTtlS, verified.charter.exp)
      : now + license.tokenTtlS;
  const scope = scopes.join(' ');
  const access_token = await ctx.tokens.issue({
    sub: instance.instance_id,
    client_id: instance.app_id,
    scope,
    cnf: { jkt: instance.jkt },
    iat: now,
    exp,
    jti: newId('at'),
    app_id: instance.app_id,
    publisher_id: instance.publisher_id,
    charter_id: instance.charter_id,
  });
  return { access_token, token_type: 'DPoP', expires_in: exp - now, scope };
}
