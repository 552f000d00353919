/** `POST /charter/v1/register` (SPEC.md §3): a charter, a platform and a nonce-bound proof become an instance. */
import { attestationPolicyOf, type CharterClaims, CharterError, newId, verifyCharter } from '@charter/core';
import { attestationBinding } from './attestation.ts';
import { parseRegisterBody } from './bodies.ts';
import { type DecisionNotes, type EngineContext, policy, refusal } from './context.ts';
import { verifyDpopProof } from './dpop.ts';
import { type CharterRequest, headerOf } from './request.ts';
import { verifyVendorAttesterToken } from './vendor-attester.ts';

/** The answer to a registration. */
export interface RegisterResult {
  instance_id: string;
  app_id: string;
  scopes: string[];
}

/** Scopes granted: the charter's, narrowed by the license's list for the app when it has one. */
export function grantedScopes(
  charterScopes: readonly string[],
  licensed: readonly string[] | undefined,
): string[] {
  if (!licensed) return [...charterScopes];
  const allowed = new Set(licensed);
  return charterScopes.filter((s) => allowed.has(s));
}

/**
 * Register an instance. Order: body, proof (signature, method, URL), nonce (spent once), license,
 * charter signature, then the policy checks (revocation, admission, platform, origin, attestation),
 * which monitor mode notes instead of refusing.
 */
export async function register(
  ctx: EngineContext,
  req: CharterRequest,
  notes: DecisionNotes,
): Promise<RegisterResult> {
  const body = parseRegisterBody(req.body, headerOf(req, 'content-type'));
  const now = ctx.now();
  const license = ctx.license();
  const proof = verifyDpopProof(headerOf(req, 'dpop', 'invalid_dpop_proof'), {
    method: 'POST',
    htu: ctx.htu.register,
    now,
    skewS: license.proofSkewS,
  });
  const nonce = proof.claims.nonce;
  if (nonce === undefined)
    throw refusal('use_dpop_nonce', 'ERR_NONCE_MISSING', 'registration needs a proof with a challenge nonce');
  if (!(await ctx.nonces.spend(nonce, now)))
    throw refusal('use_dpop_nonce', 'ERR_NONCE_INVALID', 'the nonce is unknown, expired or spent');

  const { claims: charter } = await verifyCharter(body.charter, license.ring, { at: now });
  notes.app_id = charter.sub;
  notes.publisher_id = charter.publisher.id;
  notes.charter_id = charter.jti;

  if (license.revoked.charters.has(charter.jti))
    policy(ctx, notes, refusal('charter_revoked', 'ERR_CHARTER_REVOKED', 'the license revokes this charter'));
  else if (license.revoked.apps.has(charter.sub))
    policy(ctx, notes, refusal('charter_revoked', 'ERR_APP_REVOKED', 'the license revokes this app'));
  const licensed = license.apps.get(charter.sub);
  if (!licensed)
    policy(
      ctx,
      notes,
      refusal('app_not_admitted', 'ERR_APP_NOT_LICENSED', 'the license does not admit this app'),
    );

  // Who attests at this site is the vendor's word (license `attestation.source`), never the operator's.
  const source = license.claims.attestation?.source ?? 'on_prem';
  const bound = { nonce, jkt: proof.key.jkt, key: proof.key.key, now, license: license.claims };
  let attested: { state?: Record<string, unknown> } | undefined;
  if (body.attester_token !== undefined && source === 'on_prem')
    policy(
      ctx,
      notes,
      refusal(
        'invalid_attestation',
        'ERR_ATTESTER_NOT_LICENSED',
        'the license of this site does not accept the vendor attester: attest on the device',
      ),
    );
  const viaAttester = body.attester_token !== undefined && source !== 'on_prem';
  if (!viaAttester && source === 'attester')
    policy(
      ctx,
      notes,
      refusal(
        'attestation_required',
        'ERR_ATTESTER_TOKEN_MISSING',
        'this site requires a token of the vendor attester at registration',
      ),
    );
  // The platform and origin checks stand either way; only who verifies the device evidence changes.
  const onDevice = await checkPlatform(ctx, req, notes, charter, body, bound, viaAttester);
  if (viaAttester) attested = await verifyVendorAttesterToken(ctx, notes, charter, body, bound);
  else if (source !== 'attester') attested = onDevice;

  const record = {
    instance_id: newId('ins'),
    app_id: charter.sub,
    charter_id: charter.jti,
    publisher_id: charter.publisher.id,
    platform: body.platform,
    jkt: proof.key.jkt,
    scopes: grantedScopes(charter.scopes, licensed?.scopes),
    attested: attested !== undefined && attested.state?.attested !== false,
    charter_exp: charter.exp,
    created_at: now,
    ...(attested?.state ? { attestation_state: attested.state } : {}),
  };
  await ctx.store.putInstance(record);
  notes.instance_id = record.instance_id;
  notes.platform = record.platform;
  notes.attested = record.attested;
  notes.jkt = record.jkt;
  return { instance_id: record.instance_id, app_id: record.app_id, scopes: record.scopes };
}

/**
 * Platform checks. `web` needs an `Origin` among the charter's origins; a missing or foreign origin
 * is `platform_mismatch`, since the origin is what binds a charter to the web platform. `android`
 * and `ios` need attestation unless the charter makes it optional. Returns the verifier's result when
 * the instance was attested.
 */
async function checkPlatform(
  ctx: EngineContext,
  req: CharterRequest,
  notes: DecisionNotes,
  charter: CharterClaims,
  body: ReturnType<typeof parseRegisterBody>,
  bound: {
    nonce: string;
    jkt: string;
    key: import('node:crypto').KeyObject;
    now: number;
    license: import('@charter/core').LicenseClaims;
  },
  viaAttester = false,
): Promise<{ state?: Record<string, unknown> } | undefined> {
  const platform = body.platform;
  if (!charter.platforms[platform]) {
    policy(
      ctx,
      notes,
      refusal('platform_mismatch', 'ERR_PLATFORM', `the charter does not approve the ${platform} platform`),
    );
    return undefined;
  }
  if (platform === 'web') {
    const origin = headerOf(req, 'origin');
    if (origin === undefined)
      policy(
        ctx,
        notes,
        refusal('platform_mismatch', 'ERR_ORIGIN_MISSING', 'a web registration needs an Origin header'),
      );
    else if (!charter.platforms.web?.origins.includes(origin)) {
      policy(
        ctx,
        notes,
        refusal('platform_mismatch', 'ERR_ORIGIN', 'the Origin is not one the charter approves'),
      );
    }
    return undefined;
  }
  if (platform !== 'android' && platform !== 'ios') return undefined;
  if (viaAttester) return undefined;
  const required = attestationPolicyOf(charter, platform) === 'required';
  if (!body.attestation) {
    if (required)
      policy(
        ctx,
        notes,
        refusal(
          'attestation_required',
          'ERR_ATTESTATION_MISSING',
          `the charter requires ${platform} attestation`,
        ),
      );
    return undefined;
  }
  if (!ctx.attestation) {
    // An attestation nobody here can check proves nothing: required means refused, optional means unattested.
    if (required)
      policy(
        ctx,
        notes,
        refusal(
          'attestation_required',
          'ERR_ATTESTATION_UNSUPPORTED',
          'this gateway has no attestation verifier',
        ),
      );
    return undefined;
  }
  try {
    return await ctx.attestation.verifyAttestation({
      platform,
      attestation: body.attestation,
      binding: attestationBinding(bound.nonce, bound.jkt),
      nonce: bound.nonce,
      jkt: bound.jkt,
      instanceKey: bound.key,
      charter,
      license: bound.license,
      now: bound.now,
    });
  } catch (e) {
    const err =
      e instanceof CharterError
        ? e
        : refusal('invalid_attestation', 'ERR_ATTESTATION', 'the attestation verifier failed');
    policy(ctx, notes, err);
    return undefined;
  }
}
