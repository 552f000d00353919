/** `POST /charter/v1/register` (SPEC.md §3): a charter, a platform and a nonce-bound proof become an instance. */
import { createHash, X509Certificate } from 'node:crypto';
import {
  attestationPolicyOf,
  type CharterClaims,
  CharterError,
  DEFAULT_REGISTER_RATE,
  newId,
  verifyCharter,
} from '@charter/core';
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

/** Seconds in a registration rate window. */
const REGISTER_WINDOW_S = 60;

/**
 * The address a registration counts against: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by its
 * /64, since one host commonly holds a whole /64 and could otherwise rotate addresses at will.
 */
export function rateAddressOf(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4) return v4[1];
  if (!ip.includes(':')) return ip;
  const bare = ip.split('%')[0] as string;
  const [head = '', tail] = bare.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => (g === '' ? '0' : g.toLowerCase().replace(/^0+(?=.)/, '')))
    .join(':')}::/64`;
}

/** Refusals of checks that only registration makes (the platform and what binds an instance to it). */
const REGISTRATION_ONLY: ReadonlySet<string> = new Set([
  'platform_mismatch',
  'attestation_required',
  'invalid_attestation',
]);

/** Checks that only monitor mode let through, as stored with the instance (`code:detail`). */
function waiversOf(notes: DecisionNotes): string[] {
  // Only what is decided once, at registration: revocations, admission and charter expiry are
  // checked again on every request anyway, and a registration over the rate is early, not weaker.
  return notes.monitored.filter((e) => REGISTRATION_ONLY.has(e.code)).map((e) => `${e.code}:${e.detail}`);
}

/** The certificate serials of an attestation chain (lowercase hex without leading zeros). */
function chainSerials(x5c: unknown): string[] {
  if (!Array.isArray(x5c)) return [];
  const serials: string[] = [];
  for (const der of x5c) {
    if (typeof der !== 'string') continue;
    try {
      const hex = new X509Certificate(Buffer.from(der, 'base64')).serialNumber.toLowerCase();
      serials.push(hex.replace(/^0+(?=.)/, ''));
    } catch {
      // The verifier accepted the chain; a certificate node cannot parse has no serial to keep.
    }
  }
  return serials;
}

/**
 * Register an instance. Order: body, registration rate per source address, proof (signature,
 * method, URL), nonce (spent once), license, charter signature, registration rate per charter, then
 * the policy checks (revocation of the instance this key already is, of the charter or app,
 * admission, platform, origin, attestation), which monitor mode notes instead of refusing — and
 * records with the instance as waivers, refused once the license says enforce. One key is one
 * instance per app: registering a known key again refreshes that instance (same id).
 */
export async function register(
  ctx: EngineContext,
  req: CharterRequest,
  notes: DecisionNotes,
): Promise<RegisterResult> {
  const body = parseRegisterBody(req.body, headerOf(req, 'content-type'));
  const now = ctx.now();
  const license = ctx.license();
  const limits = { ...DEFAULT_REGISTER_RATE, ...license.claims.policy.register_rate };
  const window = Math.floor(now / REGISTER_WINDOW_S);
  const address = rateAddressOf(req.ip);
  if (
    address !== undefined &&
    (await ctx.cache.incr(`reg:a:${address}:${window}`, REGISTER_WINDOW_S + 1)) > limits.per_address_per_min
  )
    policy(
      ctx,
      notes,
      refusal('rate_limited', 'ERR_RATE_REGISTER_ADDRESS', 'too many registrations from this address'),
    );
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
  if (
    (await ctx.cache.incr(`reg:c:${charter.jti}:${window}`, REGISTER_WINDOW_S + 1)) >
    limits.per_charter_per_min
  )
    policy(
      ctx,
      notes,
      refusal('rate_limited', 'ERR_RATE_REGISTER_CHARTER', 'too many registrations of this charter'),
    );

  // One key is one instance per app; a revoked instance's key does not come back by registering
  // again, as that app or any other.
  const known = await ctx.store.instanceByKey(charter.sub, proof.key.jkt);
  const sameKey = await ctx.store.instanceIdsByKey(proof.key.jkt);
  if (sameKey.some((id) => license.revoked.instances.has(id)))
    policy(
      ctx,
      notes,
      refusal('instance_revoked', 'ERR_INSTANCE_REVOKED', 'this key belongs to a revoked instance'),
    );
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

  // The bundled verifier gives the serials it read; another (a host's own) may not, and then they
  // are read from the chain here, so a serial revoked later is found either way.
  const attestationState =
    attested?.state && body.platform === 'android' && !Array.isArray(attested.state.serials)
      ? { ...attested.state, serials: chainSerials(body.attestation?.x5c) }
      : attested?.state;
  const proposed = {
    instance_id: known?.instance_id ?? newId('ins'),
    app_id: charter.sub,
    charter_id: charter.jti,
    publisher_id: charter.publisher.id,
    platform: body.platform,
    jkt: proof.key.jkt,
    scopes: grantedScopes(charter.scopes, licensed?.scopes),
    attested: attested !== undefined && attested.state?.attested !== false,
    charter_exp: charter.exp,
    created_at: now,
    ...(attestationState ? { attestation_state: attestationState } : {}),
    charter: body.charter,
    waived: waiversOf(notes),
    // The evidence on record is what was verified here: the device's attestation, or the vendor
    // attester's token that vouched for it (the vendor matches that against its attester's records).
    ...(attested !== undefined && (body.attestation || viaAttester)
      ? {
          evidence: createHash('sha256')
            .update(viaAttester ? String(body.attester_token) : JSON.stringify(body.attestation))
            .digest('base64url'),
        }
      : {}),
  };
  const record = await ctx.store.registerInstance(proposed);
  ctx.instances.invalidate(record.instance_id);
  notes.instance_id = record.instance_id;
  notes.instance_known = true;
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
