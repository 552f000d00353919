/**
 * The key ring: root keys from the trust anchor, plus delegated signing keys proven by
 * `charter-key+jwt` delegations signed by a root. Delegations are verified once and cached as key
 * objects; only their validity window and `use` are checked per lookup, so no JWK is imported and no
 * signature re-checked on a hot path.
 */
import type { KeyObject } from 'node:crypto';
import type { KeyUse } from './artifact.ts';
import { ClaimReader, ID, JKT } from './claims.ts';
import { CharterError, type ErrorCode } from './errors.ts';
import { importEd25519PublicJwk, thumbprint } from './jwk.ts';
import { decodeJsonSegment } from './jws.ts';
import { isoOf } from './time.ts';
import type { VendorTrust } from './trust.ts';
import { type ResolvedKey, verifyVendorArtifact } from './verify.ts';

/** The claims of a verified `charter-key+jwt`. */
export interface KeyDelegation {
  iss: string;
  sub: string;
  jwk: Record<string, unknown>;
  use: KeyUse[];
  iat?: number;
  nbf: number;
  exp: number;
}

const USES: readonly KeyUse[] = ['charter', 'license', 'attester'];

interface Delegated {
  key: KeyObject;
  claims: KeyDelegation;
}

/** Root keys plus verified delegations, resolving a `kid` to a key allowed for one use at one time. */
export class KeyRing {
  readonly trust: VendorTrust;
  readonly #unverified = new Map<string, string[]>();
  readonly #verified = new Map<string, Delegated[]>();
  readonly #failed = new Map<string, CharterError>();
  readonly #pending = new Map<string, Promise<void>>();

  constructor(trust: VendorTrust, delegations: readonly string[] = []) {
    this.trust = trust;
    this.add(delegations);
  }

  /** Offer more delegation tokens (e.g. a license's `keys`); they are verified when first needed. */
  add(delegations: readonly string[]): void {
    for (const token of delegations) {
      if (typeof token !== 'string') continue;
      // The payload is read unverified only to index the token by the kid it claims to delegate;
      // nothing in it is trusted until the delegation's own signature verifies against a root.
      const sub = decodeJsonSegment(token.split('.')[1] ?? '')?.sub;
      if (typeof sub !== 'string') continue;
      const list = this.#unverified.get(sub) ?? [];
      list.push(token);
      this.#unverified.set(sub, list);
    }
  }

  /**
   * The key for `kid`, if it may sign artifacts of `use` at `now`. Refusals carry `code`, the code of
   * the artifact being verified, so a bad key behind a license reads `license_invalid`.
   */
  async resolve(kid: string, use: KeyUse | 'root', code: ErrorCode, now: number): Promise<ResolvedKey> {
    const root = this.trust.roots.get(kid);
    if (use === 'root') {
      if (!root)
        throw new CharterError(
          code,
          'ERR_KID_UNKNOWN',
          'the key delegation is not signed by a trusted root key',
        );
      return { key: root, nbf: 0, exp: Number.MAX_SAFE_INTEGER, root: true };
    }
    if (root)
      throw new CharterError(code, 'ERR_KEY_USE', 'the root key signs key delegations only, never artifacts');
    await this.#verifyPending(kid);
    const candidates = this.#verified.get(kid);
    if (!candidates || candidates.length === 0) {
      const failure = this.#failed.get(kid);
      if (failure) {
        throw new CharterError(
          code,
          'ERR_KEY_DELEGATION',
          `the delegation of the signing key is invalid: ${failure.message}`,
        );
      }
      throw new CharterError(code, 'ERR_KID_UNKNOWN', 'the signing key is not one the vendor has delegated');
    }
    const forUse = candidates.filter((d) => d.claims.use.includes(use));
    if (forUse.length === 0)
      throw new CharterError(
        code,
        'ERR_KEY_USE',
        `the signing key is not delegated to sign ${use} artifacts`,
      );
    const tolerance = 60;
    const current = forUse.find((d) => d.claims.nbf <= now + tolerance && now - tolerance < d.claims.exp);
    if (!current) {
      const future = forUse.every((d) => d.claims.nbf > now + tolerance);
      if (future)
        throw new CharterError(
          code,
          'ERR_KEY_NOT_YET_VALID',
          'the signing key’s delegation is not valid yet',
        );
      const last = Math.max(...forUse.map((d) => d.claims.exp));
      throw new CharterError(
        code,
        'ERR_KEY_EXPIRED',
        `the signing key’s delegation expired at ${isoOf(last)}`,
      );
    }
    return { key: current.key, nbf: current.claims.nbf, exp: current.claims.exp, root: false };
  }

  /** The verified delegations known to this ring, for display. */
  delegations(): KeyDelegation[] {
    return [...this.#verified.values()].flat().map((d) => d.claims);
  }

  /**
   * Verify the delegations offered for `kid`, once. Concurrent callers share the one verification in
   * flight: without that, the second of two requests arriving together on a fresh ring (the first
   * registrations after a restart) found the tokens taken and nothing verified yet, and was refused
   * with ERR_KID_UNKNOWN.
   */
  #verifyPending(kid: string): Promise<void> {
    const inFlight = this.#pending.get(kid);
    if (inFlight) return inFlight;
    const tokens = this.#unverified.get(kid);
    if (!tokens) return Promise.resolve();
    this.#unverified.delete(kid);
    const done = this.#verifyTokens(kid, tokens).finally(() => this.#pending.delete(kid));
    this.#pending.set(kid, done);
    return done;
  }

  async #verifyTokens(kid: string, tokens: readonly string[]): Promise<void> {
    for (const token of tokens) {
      try {
        const d = await verifyKeyDelegation(token, this);
        if (d.claims.sub !== kid) continue;
        const list = this.#verified.get(kid) ?? [];
        list.push(d);
        this.#verified.set(kid, list);
      } catch (e) {
        if (e instanceof CharterError) this.#failed.set(kid, e);
        else throw e;
      }
    }
  }
}

/**
 * Verify a `charter-key+jwt` against the ring's root keys (steps 1–11 of verify.ts; the validity
 * window is checked at each use by {@link KeyRing.resolve}).
 */
export async function verifyKeyDelegation(token: string, ring: KeyRing): Promise<Delegated> {
  const r = new ClaimReader('invalid_charter');
  let key: KeyObject | undefined;
  const verified = await verifyVendorArtifact('key', token, ring, { skipTimeChecks: true }, (p) => {
    r.string(p.sub, 'sub', JKT);
    r.object(p.jwk, 'jwk');
    key = importEd25519PublicJwk(p.jwk);
    if (!key) r.fail('jwk', 'must be an Ed25519 public key');
    const use = r.strings(p.use, 'use', undefined, { min: 1, max: 3 });
    for (const u of use) if (!(USES as readonly string[]).includes(u)) r.fail('use', `has an unknown use`);
    r.optionalInteger(p.iat, 'iat');
    const nbf = r.integer(p.nbf, 'nbf');
    const exp = r.integer(p.exp, 'exp');
    if (exp <= nbf) r.fail('exp', 'must be after nbf');
    r.string(p.iss, 'iss', ID);
  });
  const claims = verified.payload as unknown as KeyDelegation;
  if ((await thumbprint(claims.jwk as never)) !== claims.sub) {
    throw new CharterError(
      'invalid_charter',
      'ERR_CLAIMS',
      'claim sub is not the thumbprint of the delegated key',
    );
  }
  return { key: key as KeyObject, claims };
}
