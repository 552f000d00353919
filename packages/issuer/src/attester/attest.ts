/**
 * One attestation at the vendor's attester: a device's evidence, its charter and the site id become
 * a short-lived attester token (core/attester.ts), or a catalogued refusal. Checks, in order: body,
 * proof of possession of the instance key (a DPoP proof naming this endpoint and a challenge of this
 * attester, spent once), site and its current license, charter signature, revocations and
 * admission, platform, device evidence (@charter/attest with the site's current attestation policy).
 * What is checked comes only from the vendor's own records, never from the request.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AttesterEvidence,
  attestationPolicyOf,
  CharterError,
  ID,
  KeyRing,
  newId,
  type Refuse,
  refuser,
  signAttesterToken,
  trustFromDocument,
  verifyCharter,
} from '@charter/core';
import {
  attestationBinding,
  createHardwareAttestationVerifier,
  expectedHtu,
  type PublicBase,
  verifyDpopProof,
} from '@charter/gateway';
import { exportJWK } from 'jose';
import type { Vendor } from '../vendor.ts';
import type { AttesterRecords } from './records.ts';

/** Paths of the attester. */
export const ATTESTER_ROUTES = {
  challenge: '/attester/v1/challenge',
  attest: '/attester/v1/attest',
  jwks: '/attester/v1/jwks',
} as const;

/** Default and longest lifetime of a token, seconds. */
export const DEFAULT_TOKEN_TTL_S = 120;
/** Lifetime of a challenge nonce, seconds. */
export const CHALLENGE_TTL_S = 300;

const PLATFORMS = ['android', 'ios', 'web', 'server'] as const;

/** The attest request body. */
export interface AttestBody {
  charter: string;
  site_id: string;
  platform: (typeof PLATFORMS)[number];
  attestation?: Record<string, unknown>;
}

/** What the service needs. */
export interface AttesterContext {
  vendor: Vendor;
  records: AttesterRecords;
  base: PublicBase;
  tokenTtlS: number;
  now(): number;
  /** Replace the bundled Google and Apple roots (tests only; the license's roots are added anyway). */
  androidRoots?: string[];
  appleRoots?: string[];
}

const bad: Refuse = refuser('invalid_request');

/** Check the attest body's shape. */
export function parseAttestBody(body: unknown): AttestBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    bad('ERR_BODY', 'the body must be a JSON object');
  const o = body as Record<string, unknown>;
  if (typeof o.charter !== 'string' || o.charter.length === 0 || o.charter.length > 65536)
    bad('ERR_BODY_CHARTER', 'charter must be a string');
  if (typeof o.site_id !== 'string' || !ID.test(o.site_id)) bad('ERR_BODY_SITE', 'site_id must be an id');
  if (typeof o.platform !== 'string' || !(PLATFORMS as readonly string[]).includes(o.platform))
    bad('ERR_BODY_PLATFORM', 'platform must be a platform name');
  if (
    o.attestation !== undefined &&
    (typeof o.attestation !== 'object' || o.attestation === null || Array.isArray(o.attestation))
  )
    bad('ERR_BODY_ATTESTATION', 'attestation must be an object');
  return o as unknown as AttestBody;
}

/** Stateless challenges: random || expiry, MACed with the records' shared secret; spent in the records. */
export class Challenges {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    this.#key = key;
  }

  issue(now: number): { nonce: string; expires_in: number } {
    const body = Buffer.alloc(20);
    randomBytes(16).copy(body);
    body.writeUInt32BE((now + CHALLENGE_TTL_S) >>> 0, 16);
    const mac = createHmac('sha256', this.#key).update(body).digest().subarray(0, 16);
    return { nonce: Buffer.concat([body, mac]).toString('base64url'), expires_in: CHALLENGE_TTL_S };
  }

  /** The nonce's expiry when it is one of ours and unexpired, else undefined. */
  check(nonce: string, now: number): number | undefined {
    if (!/^[A-Za-z0-9_-]{48}$/.test(nonce)) return undefined;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 36) return undefined;
    const body = raw.subarray(0, 20);
    const mac = createHmac('sha256', this.#key).update(body).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, raw.subarray(20))) return undefined;
    const exp = body.readUInt32BE(16);
    return exp >= now ? exp : undefined;
  }
}

/** What one attestation yields: the token and its lifetime, or a refusal (thrown). */
export interface AttestResult {
  attester_token: string;
  expires_in: number;
}

/** What the service learnt before a refusal, for its record. */
export interface AttestNotes {
  site_id?: string;
  app_id?: string;
  charter_id?: string;
  platform?: string;
  jkt?: string;
}

/** Run one attestation. */
export async function attest(
  ctx: AttesterContext,
  challenges: Challenges,
  body: unknown,
  dpop: string | undefined,
  notes: AttestNotes,
): Promise<AttestResult> {
  const b = parseAttestBody(body);
  notes.site_id = b.site_id;
  notes.platform = b.platform;
  const now = ctx.now();
  const htu = expectedHtu(ctx.base, ATTESTER_ROUTES.attest) as string;
  const proof = verifyDpopProof(dpop, { method: 'POST', htu, now, skewS: 60 });
  notes.jkt = proof.key.jkt;
  const nonce = proof.claims.nonce;
  if (nonce === undefined)
    throw new CharterError(
      'use_dpop_nonce',
      'ERR_NONCE_MISSING',
      'the proof needs an attester challenge nonce',
    );
  const nonceExp = challenges.check(nonce, now);
  if (nonceExp === undefined || !(await ctx.records.spendNonce(nonce, nonceExp)))
    throw new CharterError('use_dpop_nonce', 'ERR_NONCE_INVALID', 'the nonce is unknown, expired or spent');

  // The vendor's current word on the site: its latest license (apps, revocations, attestation policy).
  const license = ctx.vendor.latestLicense(b.site_id);
  if (!license)
    throw new CharterError(
      'app_not_admitted',
      'ERR_UNKNOWN_SITE',
      'no license of the vendor names this site',
    );
  // A lapsed license admits no app any more. Not `license_invalid`: its 503 says this service cannot
  // decide (a gateway without a valid license), and a client retries a 5xx as a busy attester, with
  // the nonce already spent. The attester is fine; the request names a site it will not vouch for.
  if (license.exp + (license.policy.grace_s ?? 0) < now)
    throw new CharterError(
      'app_not_admitted',
      'ERR_LICENSE_EXPIRED',
      'the site’s latest license has expired',
    );
  const ring = new KeyRing(await trustFromDocument(ctx.vendor.trustDocument()), ctx.vendor.delegations());
  const { claims: charter } = await verifyCharter(b.charter, ring, { at: now });
  notes.app_id = charter.sub;
  notes.charter_id = charter.jti;
  const revocations = ctx.vendor.listRevocations();
  const revoked = (kind: string, target: string) =>
    revocations.some((r) => r.kind === kind && r.target === target);
  if (revoked('charter', charter.jti))
    throw new CharterError('charter_revoked', 'ERR_CHARTER_REVOKED', 'the vendor revoked this charter');
  if (revoked('app', charter.sub))
    throw new CharterError('charter_revoked', 'ERR_APP_REVOKED', 'the vendor revoked this app');
  if (!license.apps.some((a) => a.app_id === charter.sub))
    throw new CharterError(
      'app_not_admitted',
      'ERR_APP_NOT_LICENSED',
      'the site’s license does not admit this app',
    );
  if (!charter.platforms[b.platform])
    throw new CharterError(
      'platform_mismatch',
      'ERR_PLATFORM',
      `the charter does not approve the ${b.platform} platform`,
    );

  let evidence: AttesterEvidence = 'key';
  if (b.platform === 'android' || b.platform === 'ios') {
    if (!b.attestation) {
      // A clone with a copied charter has no attested key: it gets no token where attestation is required.
      if (attestationPolicyOf(charter, b.platform) === 'required')
        throw new CharterError(
          'attestation_required',
          'ERR_ATTESTATION_MISSING',
          `the charter requires ${b.platform} attestation`,
        );
    } else {
      const verifier = createHardwareAttestationVerifier({
        // Only App Attest assertions (token requests at the gateway) use the store; attestation does not.
        store: undefined as never,
        ...(ctx.androidRoots ? { androidRoots: ctx.androidRoots } : {}),
        ...(ctx.appleRoots ? { appleRoots: ctx.appleRoots } : {}),
      });
      await verifier.verifyAttestation({
        platform: b.platform,
        attestation: b.attestation,
        binding: attestationBinding(nonce, proof.key.jkt),
        nonce,
        jkt: proof.key.jkt,
        instanceKey: proof.key.key,
        charter,
        license,
        now,
      });
      evidence = b.platform === 'android' ? 'android-key' : 'apple-appattest';
    }
  }

  const key = ctx.vendor.attesterKey();
  const exp = Math.min(now + ctx.tokenTtlS, key.exp);
  const jwk = await exportJWK(proof.key.key);
  const jti = newId('att');
  const token = await signAttesterToken(
    {
      iss: license.iss,
      sub: charter.sub,
      jti,
      iat: now,
      nbf: now,
      exp,
      cnf: { jwk },
      charter: {
        site_id: b.site_id,
        charter_id: charter.jti,
        platform: b.platform,
        attested: evidence !== 'key',
        evidence,
      },
    },
    key,
  );
  await ctx.records.add({
    at: now,
    site_id: b.site_id,
    app_id: charter.sub,
    charter_id: charter.jti,
    platform: b.platform,
    jkt: proof.key.jkt,
    verdict: 'issued',
    jti,
    code: null,
    evidence,
  });
  return { attester_token: token, expires_in: exp - now };
}
