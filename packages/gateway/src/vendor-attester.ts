/**
 * Registration with a token of the vendor's online attester (docs/vendor-attester.md) in place
 * of on-device attestation. Verified offline: the signing key must be one the license's `keys`
 * delegate for `attester` under the vendor root, so the site's operator, who can read every token,
 * can mint none. The token is bound to the instance (its `cnf.jwk` is the key that signed this
 * registration's proof), to this site, app and charter, and is spent on first use.
 */
import {
  attestationPolicyOf,
  type CharterClaims,
  CharterError,
  type LicenseClaims,
  verifyAttesterToken,
} from '@charter/core';
import type { parseRegisterBody } from './bodies.ts';
import { type DecisionNotes, type EngineContext, policy, refusal } from './context.ts';

/** Seconds of clock skew tolerated on an attester token's times: they live minutes, not days. */
export const ATTESTER_TOKEN_SKEW_S = 10;

/** Verify the register body's `attester_token`; refusals go through `policy` (monitor mode notes them). */
export async function verifyVendorAttesterToken(
  ctx: EngineContext,
  notes: DecisionNotes,
  charter: CharterClaims,
  body: ReturnType<typeof parseRegisterBody>,
  bound: { jkt: string; now: number; license: LicenseClaims },
): Promise<{ state: Record<string, unknown> } | undefined> {
  const license = ctx.license();
  const refuse = (detail: string, reason: string, code: CharterError['code'] = 'invalid_attestation') => {
    policy(ctx, notes, refusal(code, detail, reason));
    return undefined;
  };
  let verified: Awaited<ReturnType<typeof verifyAttesterToken>>;
  try {
    verified = await verifyAttesterToken(body.attester_token, license.ring, {
      at: bound.now,
      clockToleranceS: ATTESTER_TOKEN_SKEW_S,
    });
  } catch (e) {
    if (!(e instanceof CharterError)) throw e;
    // Detail names which check failed (kid unknown, key use, expired, signature); never the token.
    return refuse(e.detail, `the attester token is not valid: ${e.message}`);
  }
  const c = verified.claims;
  if (verified.jkt !== bound.jkt)
    return refuse('ERR_ATTESTER_KEY', 'the attester token is bound to another instance key');
  if (c.charter.site_id !== license.siteId)
    return refuse('ERR_ATTESTER_SITE', 'the attester token was issued for another site');
  if (c.sub !== charter.sub || c.charter.charter_id !== charter.jti)
    return refuse('ERR_ATTESTER_CHARTER', 'the attester token was issued for another app or charter');
  if (c.charter.platform !== body.platform)
    return refuse('ERR_ATTESTER_PLATFORM', 'the attester token was issued for another platform');
  const platform = body.platform;
  if (
    (platform === 'android' || platform === 'ios') &&
    !c.charter.attested &&
    attestationPolicyOf(charter, platform) === 'required'
  )
    return refuse(
      'ERR_ATTESTER_UNATTESTED',
      `the charter requires ${platform} attestation and the attester saw no hardware evidence`,
      'attestation_required',
    );
  // Single use: the jti is spent in the replay store (shared by replicas, kept across restarts) for
  // as long as the token could still verify.
  const ttl = Math.max(1, c.exp - bound.now + ATTESTER_TOKEN_SKEW_S + 1);
  if (!(await ctx.cache.setIfAbsent(`attester-jti:${c.jti}`, ttl)))
    return refuse('ERR_ATTESTER_REPLAY', 'the attester token was already used');
  return {
    state: {
      fmt: 'vendor-attester',
      jti: c.jti,
      evidence: c.charter.evidence,
      attested: c.charter.attested,
      kid: verified.signer.kid,
    },
  };
}
