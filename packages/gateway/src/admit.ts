/**
 * Admission of a protected request: `Authorization: DPoP <token>` (or `Charter-Token` beside the
 * user's own `Authorization`, see credentials.ts) plus a proof bound to it. The hot
 * path does one signature check (the proof); the token's claims come from a cache after its first
 * use, and the license checks are set lookups, so revocations bite on the very next request.
 */

import { type AdmittedApp, type DecisionNotes, type EngineContext, policy, refusal } from './context.ts';
import { charterCredentials } from './credentials.ts';
import { verifyDpopProof } from './dpop.ts';
import { expectedHtu } from './htu.ts';
import { instanceProblems, RECHECK_MS, tokenFitsInstance } from './instance-check.ts';
import type { InstanceKey } from './instance-key.ts';
import { type CharterRequest, pathOf } from './request.ts';
import { methodReadings, scopesFor } from './routes.ts';

/** Seconds in a rate-limit window. */
const WINDOW_S = 60;

/**
 * Admit a protected request or throw its refusal. `notes` gains the app once token and proof are
 * proven; policy refusals after that point are only noted in monitor mode. `proven` receives the
 * proof's key (the client attestation's `cnf.jwk`); `charterEndpoint` skips the upstream's route scopes.
 */
export async function admit(
  ctx: EngineContext,
  req: CharterRequest,
  notes: DecisionNotes,
  proven?: { key?: InstanceKey; charterEndpoint?: boolean },
): Promise<AdmittedApp> {
  const rawPath = pathOf(req.url);
  if (rawPath === undefined) throw refusal('invalid_request', 'ERR_PATH', 'the request target is not a path');
  // Every reading of the path an upstream might route on, and the scopes their rules need.
  // routes.json describes the upstream's paths; a Charter endpoint authenticated like one is not among them.
  // Every method it may run as, too: an override header or `_method` names the handler's method.
  const needed = proven?.charterEndpoint
    ? []
    : scopesFor(ctx.routes, methodReadings(req.method, req.headers, req.url, req.body), rawPath);
  const license = ctx.license();
  const now = ctx.now();

  // The single form (Authorization: DPoP <charter token>) or the dual one (Charter-Token, the user's Authorization).
  const presented = charterCredentials(req);
  const claims =
    ctx.tokens.known(presented.tokenHash, now) ??
    (await ctx.tokens.verify(presented.token, presented.tokenHash, now));
  const htu = expectedHtu(ctx.base, rawPath);
  if (htu === undefined) throw refusal('invalid_request', 'ERR_PATH', 'the request path cannot form a URL');
  const proof = verifyDpopProof(presented.proof, {
    method: req.method.toUpperCase(),
    htu,
    now,
    skewS: license.proofSkewS,
    ath: presented.ath,
    ...(presented.charterAth !== undefined ? { charterAth: presented.charterAth } : {}),
  });
  if (proven) proven.key = proof.key;
  if (proof.key.jkt !== claims.cnf.jkt)
    throw refusal('invalid_dpop_proof', 'ERR_DPOP_KEY', 'the proof key is not the key the token is bound to');
  if (
    !(await ctx.cache.setIfAbsent(`jti:${proof.key.jkt}:${proof.claims.jti}`, 2 * license.proofSkewS + 1))
  ) {
    throw refusal('invalid_dpop_proof', 'ERR_DPOP_REPLAY', 'the proof has been used before');
  }
  notes.proof_iat = proof.claims.iat;

  // The token key can be read out of the store, so the token is only believed as far as the
  // instance it names, which must be known, match it, and still pass its own checks.
  let instance = ctx.instances.known(ctx, claims.sub) ?? (await ctx.instances.get(ctx, claims.sub));
  if (!instance)
    throw refusal('invalid_token', 'ERR_INSTANCE_UNKNOWN', 'the token names no instance known here');
  // Each check once per request: the problems found here are the policy refusals applied below.
  let problems = tokenFitsInstance(claims, instance, license, now)
    ? undefined
    : instanceProblems(instance, license, now);
  if (problems === undefined || problems.length > 0) {
    // A cached row may predate a re-registration at another replica: read it again before refusing.
    instance = await ctx.instances.get(ctx, claims.sub, RECHECK_MS);
    if (!instance)
      throw refusal('invalid_token', 'ERR_INSTANCE_UNKNOWN', 'the token names no instance known here');
    const misfit = tokenFitsInstance(claims, instance, license, now);
    if (misfit) throw misfit;
    problems = instanceProblems(instance, license, now);
  }

  const app: AdmittedApp = {
    app_id: claims.app_id,
    publisher_id: claims.publisher_id,
    instance_id: claims.sub,
    scopes: claims.scope === '' ? [] : claims.scope.split(' '),
  };
  notes.app_id = app.app_id;
  notes.publisher_id = app.publisher_id;
  notes.instance_id = app.instance_id;
  notes.charter_id = claims.charter_id;
  notes.instance_known = true;
  for (const e of problems) policy(ctx, notes, e);

  const r = license.revoked;
  if (r.instances.has(app.instance_id))
    policy(
      ctx,
      notes,
      refusal('instance_revoked', 'ERR_INSTANCE_REVOKED', 'the license revokes this instance'),
    );
  else if (r.charters.has(claims.charter_id))
    policy(ctx, notes, refusal('charter_revoked', 'ERR_CHARTER_REVOKED', 'the license revokes this charter'));
  else if (r.apps.has(app.app_id))
    policy(ctx, notes, refusal('charter_revoked', 'ERR_APP_REVOKED', 'the license revokes this app'));
  const licensed = license.apps.get(app.app_id);
  if (!licensed)
    policy(
      ctx,
      notes,
      refusal('app_not_admitted', 'ERR_APP_NOT_LICENSED', 'the license does not admit this app'),
    );
  const missing = needed.filter((scope) => !app.scopes.includes(scope));
  if (missing.length > 0) {
    policy(
      ctx,
      notes,
      refusal('insufficient_scope', 'ERR_SCOPE', `the route needs scope ${missing.join(' ')}`),
    );
  }
  const rate = licensed?.rate;
  if (rate && notes.monitored.length === 0) {
    // Counted only for requests that would be admitted, so refused ones never eat an app's quota.
    const window = Math.floor(now / WINDOW_S);
    if (rate.per_instance_per_min !== undefined) {
      const n = await ctx.cache.incr(`rate:i:${app.instance_id}:${window}`, WINDOW_S + 1);
      if (n > rate.per_instance_per_min)
        policy(ctx, notes, refusal('rate_limited', 'ERR_RATE_INSTANCE', 'the instance exceeded its rate'));
    }
    if (rate.per_app_per_min !== undefined && notes.monitored.length === 0) {
      const n = await ctx.cache.incr(`rate:a:${app.app_id}:${window}`, WINDOW_S + 1);
      if (n > rate.per_app_per_min)
        policy(ctx, notes, refusal('rate_limited', 'ERR_RATE_APP', 'the app exceeded its rate'));
    }
  }
  return app;
}
