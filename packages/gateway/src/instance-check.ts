/**
 * The instance behind a token. Whoever can read the store can read the site's token key, so a token
 * the gateway's key verifies proves nothing alone: every token request and protected request is also
 * checked against the instance row it names — the row must exist, carry a vendor-signed charter that
 * still verifies and matches the row and the token (app, charter, publisher, key), have passed every
 * check its platform requires (no waiver left from monitor mode, attestation where the charter
 * requires it, no revoked certificate in its attestation chain), and the token's scopes and lifetime
 * must fit what the charter and the license allow. Rows are cached in memory (keyed by instance id,
 * for a bounded time, cleared when the license changes), so the hot path stays a map lookup.
 */
import { RevocationList } from '@charter/attest';
import {
  attestationPolicyOf,
  type CharterClaims,
  CharterError,
  decodeJsonSegment,
  type LicenseClaims,
  verifyCharter,
} from '@charter/core';
import type { AccessClaims } from './access-token.ts';
import { type DecisionNotes, type EngineContext, policy, refusal } from './context.ts';
import type { SiteLicense } from './license.ts';
import { grantedScopes } from './register.ts';
import type { InstanceRecord } from './store.ts';

/** An instance row whose charter verified. */
export interface VerifiedInstance {
  record: InstanceRecord;
  charter: CharterClaims;
}

/**
 * How long a cached row is used before it is read again. A new license clears the cache; a cached
 * row that would refuse or does not fit the token is read again before refusing (a re-registration
 * at another replica), so staleness can only admit what a row already admitted under this license.
 */
const CACHE_MS = 300_000;
const MAX_CACHED = 100_000;
/** The codes a registration can record as waived (register.ts). */
const WAIVABLE: ReadonlySet<string> = new Set([
  'platform_mismatch',
  'attestation_required',
  'invalid_attestation',
]);

/** A cached row that refuses is read again at most this often (a re-registration at another replica). */
export const RECHECK_MS = 2_000;
/** A token may be dated this far ahead of the engine's clock (the signer's clock may run fast). */
const TOKEN_IAT_SKEW_S = 60;

/** Revocation lists (bundled snapshot plus the license's serials), one per license. */
const revocationLists = new WeakMap<LicenseClaims, RevocationList>();
function revocationListOf(license: LicenseClaims): RevocationList {
  let list = revocationLists.get(license);
  if (!list) {
    list = RevocationList.create(license.attestation?.android_revoked ?? []);
    revocationLists.set(license, list);
  }
  return list;
}

/**
 * A charter's claims if its signature and issuer verify. An expired charter still yields its claims
 * (verified as of just before its expiry): expiry is a policy refusal, which monitor mode notes.
 */
async function verifiedCharter(
  token: string,
  ring: SiteLicense['ring'],
  now: number,
): Promise<CharterClaims> {
  try {
    return (await verifyCharter(token, ring, { at: now })).claims;
  } catch (e) {
    if (!(e instanceof CharterError) || e.code !== 'charter_expired') throw e;
    const exp = decodeJsonSegment(token.split('.')[1] ?? '')?.exp;
    if (typeof exp !== 'number') throw e;
    return (await verifyCharter(token, ring, { at: exp - 1 })).claims;
  }
}

/** The engine's cache of instance rows and their verified charters. */
export class InstanceBook {
  readonly #rows = new Map<string, { entry: VerifiedInstance | CharterError; at: number }>();
  /** Verified charters by their token text, for the license they were verified under. */
  #charters = new Map<string, CharterClaims>();
  #ring: SiteLicense['ring'] | undefined;

  /** Forget everything (a new license: other keys, other revocations, maybe another mode). */
  clear(): void {
    this.#rows.clear();
    this.#charters.clear();
  }

  /** Forget one instance (it was registered again here). */
  invalidate(instanceId: string): void {
    this.#rows.delete(instanceId);
  }

  /**
   * The cached instance when its copy is younger than `maxAgeMs`, without a turn of the promise
   * queue (the per-request path); undefined when {@link get} must read the store. Throws a cached refusal.
   */
  known(ctx: EngineContext, instanceId: string, maxAgeMs = CACHE_MS): VerifiedInstance | undefined {
    const license = ctx.license();
    if (this.#ring !== license.ring) {
      this.clear();
      this.#ring = license.ring;
    }
    const cached = this.#rows.get(instanceId);
    if (cached === undefined || Date.now() - cached.at >= maxAgeMs) return undefined;
    if (cached.entry instanceof CharterError) throw cached.entry;
    return cached.entry;
  }

  /**
   * The instance `instanceId` with its verified charter; undefined when the store has no such row.
   * A cached copy older than `maxAgeMs` is read again from the store (0: always read). A row without a charter, or whose charter
   * does not verify, is refused with `invalid_token` (the row was not written by a registration).
   */
  async get(
    ctx: EngineContext,
    instanceId: string,
    maxAgeMs = CACHE_MS,
  ): Promise<VerifiedInstance | undefined> {
    const fresh = this.known(ctx, instanceId, maxAgeMs);
    if (fresh) return fresh;
    const cached = this.#rows.get(instanceId);
    const t = Date.now();
    let record: InstanceRecord | undefined;
    try {
      record = await ctx.store.getInstance(instanceId);
    } catch (e) {
      // Store down: a row this license already verified keeps serving protected requests (as the
      // license and token key do); a token request (maxAgeMs 0) fails closed.
      if (maxAgeMs > 0 && cached && !(cached.entry instanceof CharterError)) return cached.entry;
      throw e;
    }
    if (!record) {
      this.#rows.delete(instanceId);
      return undefined;
    }
    let entry: VerifiedInstance | CharterError;
    try {
      entry = { record, charter: await this.#charterOf(ctx, record) };
    } catch (e) {
      if (!(e instanceof CharterError)) throw e;
      entry = e;
    }
    if (this.#rows.size >= MAX_CACHED) this.#rows.clear();
    this.#rows.set(instanceId, { entry, at: t });
    if (entry instanceof CharterError) throw entry;
    return entry;
  }

  async #charterOf(ctx: EngineContext, record: InstanceRecord): Promise<CharterClaims> {
    if (record.charter === undefined)
      throw refusal(
        'invalid_token',
        'ERR_INSTANCE_UNVERIFIABLE',
        'the instance has no charter on record here; register it again',
      );
    let claims = this.#charters.get(record.charter);
    if (!claims) {
      try {
        claims = await verifiedCharter(record.charter, ctx.license().ring, ctx.now());
      } catch {
        throw refusal(
          'invalid_token',
          'ERR_INSTANCE_CHARTER',
          'the charter on record for this instance does not verify',
        );
      }
      if (this.#charters.size >= MAX_CACHED) this.#charters.clear();
      this.#charters.set(record.charter, claims);
    }
    if (
      claims.sub !== record.app_id ||
      claims.jti !== record.charter_id ||
      claims.publisher.id !== record.publisher_id
    )
      throw refusal(
        'invalid_token',
        'ERR_INSTANCE_CHARTER',
        'the instance record does not match the charter it registered with',
      );
    return claims;
  }
}

/** Apply {@link instanceProblems} as policy refusals (monitor mode notes them). */
export function checkInstance(
  ctx: EngineContext,
  notes: DecisionNotes,
  instance: VerifiedInstance,
  license: SiteLicense,
  now: number,
): void {
  for (const e of instanceProblems(instance, license, now)) policy(ctx, notes, e);
}

/**
 * What the instance itself must satisfy, at token and protected requests alike: a platform its
 * charter approves, a charter not expired, no check left waived by monitor mode, the attestation its
 * platform requires (with its evidence on record), and no revoked certificate in its Android chain.
 */
export function instanceProblems(
  instance: VerifiedInstance,
  license: SiteLicense,
  now: number,
): CharterError[] {
  const problems: CharterError[] = [];
  const { record, charter } = instance;
  if (!charter.platforms[record.platform])
    problems.push(
      refusal(
        'platform_mismatch',
        'ERR_PLATFORM',
        `the charter does not approve the ${record.platform} platform`,
      ),
    );
  if (charter.exp <= now)
    problems.push(
      refusal('charter_expired', 'ERR_CHARTER_EXPIRED', 'the charter of this instance has expired'),
    );
  const waived = record.waived ?? [];
  if (waived.length > 0) {
    const [code = '', detail] = String(waived[0]).split(':');
    problems.push(
      new CharterError(
        // The row is store data: only the codes registration waives are echoed, anything else is
        // not a row a registration wrote.
        WAIVABLE.has(code) ? (code as CharterError['code']) : 'invalid_token',
        'ERR_WAIVED_AT_REGISTRATION',
        `this instance registered while the license said monitor without passing every check (${(detail ?? code).slice(0, 64)}); register it again`,
      ),
    );
  }
  if (record.platform === 'android' || record.platform === 'ios') {
    if (attestationPolicyOf(charter, record.platform) === 'required') {
      if (!record.attested)
        problems.push(
          refusal(
            'attestation_required',
            'ERR_INSTANCE_UNATTESTED',
            `this instance did not attest, and the charter requires ${record.platform} attestation`,
          ),
        );
      else if (record.evidence === undefined)
        problems.push(
          refusal('invalid_attestation', 'ERR_EVIDENCE_MISSING', 'the instance has no attestation on record'),
        );
    }
    const serials = record.attestation_state?.serials;
    if (record.platform === 'android' && Array.isArray(serials) && serials.length > 0) {
      const revoked = revocationListOf(license.claims);
      for (const s of serials) {
        if (typeof s !== 'string') continue;
        let decimal: string | undefined;
        try {
          decimal = BigInt(`0x${s}`).toString(10);
        } catch {
          decimal = undefined;
        }
        if (revoked.has(s, decimal)) {
          problems.push(
            refusal(
              'invalid_attestation',
              'ERR_ATTEST_REVOKED',
              'a certificate of this instance’s attestation chain has been revoked',
            ),
          );
          break;
        }
      }
    }
  }
  return problems;
}

/** The scopes an instance may hold now: its charter's, narrowed by the license in force. */
export function scopesOf(instance: VerifiedInstance, license: SiteLicense): string[] {
  return grantedScopes(instance.charter.scopes, license.apps.get(instance.record.app_id)?.scopes);
}

/**
 * The token's claims against the instance it names: same app, charter, publisher and key; scopes at
 * most those the instance may hold now; a lifetime no longer than the license's token TTL. Any
 * mismatch is `invalid_token`: this token was not issued by this gateway for this instance.
 */
export function tokenFitsInstance(
  claims: AccessClaims,
  instance: VerifiedInstance,
  license: SiteLicense,
  now: number,
): CharterError | undefined {
  const r = instance.record;
  const scopes = scopesOf(instance, license);
  if (
    claims.sub !== r.instance_id ||
    claims.app_id !== r.app_id ||
    claims.client_id !== r.app_id ||
    claims.charter_id !== r.charter_id ||
    claims.publisher_id !== r.publisher_id ||
    claims.cnf.jkt !== r.jkt
  )
    return refusal('invalid_token', 'ERR_TOKEN_INSTANCE', 'the access token does not match its instance');
  const allowed = new Set(scopes);
  if (
    typeof claims.scope !== 'string' ||
    (claims.scope !== '' && claims.scope.split(' ').some((s) => !allowed.has(s)))
  )
    return refusal(
      'invalid_token',
      'ERR_TOKEN_SCOPE',
      'the access token carries scopes its instance does not hold',
    );
  if (
    typeof claims.iat !== 'number' ||
    typeof claims.exp !== 'number' ||
    claims.exp - claims.iat > license.tokenTtlS ||
    claims.iat > now + TOKEN_IAT_SKEW_S
  )
    return refusal(
      'invalid_token',
      'ERR_TOKEN_LIFETIME',
      'the access token outlives what the license allows',
    );
  return undefined;
}
