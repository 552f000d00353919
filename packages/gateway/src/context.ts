/** The internal state the engine's operations share (register.ts, token.ts, admit.ts). */
import { CharterError, type LicenseMode, type VendorTrust } from '@charter/core';
import type { TokenAuthority } from './access-token.ts';
import type { AttestationVerifier } from './attestation.ts';
import type { EphemeralCache } from './cache.ts';
import type { PublicBase } from './htu.ts';
import type { InstanceBook } from './instance-check.ts';
import type { SiteLicense } from './license.ts';
import type { NonceIssuer } from './nonce.ts';
import type { CompiledRoute } from './routes.ts';
import type { GatewayStore } from './store.ts';

/** The app an admitted request comes from; what the host app sees as `request.charter`. */
export interface AdmittedApp {
  app_id: string;
  publisher_id: string;
  instance_id: string;
  scopes: string[];
}

/** What the engine learned about a request, for logs, metrics and audit. */
export interface DecisionNotes {
  app_id?: string;
  publisher_id?: string;
  instance_id?: string;
  charter_id?: string;
  /** Registration only: the platform, and whether hardware attestation proved the instance. */
  platform?: string;
  attested?: boolean;
  /** The instance was found in the store (and its charter verified): it belongs in the usage report. */
  instance_known?: boolean;
  /** Registration only: the instance key thumbprint, for the usage report's instance list. */
  jkt?: string;
  /** The `iat` of the request's DPoP proof once it verified (never a source of the clock mark: clock.ts). */
  proof_iat?: number;
  /** Refusals monitor mode let through. */
  monitored: CharterError[];
}

/** The engine's shared state. */
export interface EngineContext {
  trust: VendorTrust;
  store: GatewayStore;
  cache: EphemeralCache;
  base: PublicBase;
  now(): number;
  /** The license in force, or `license_invalid` when there is none or it is outside its validity. */
  license(): SiteLicense;
  /** The mode in force: the license's, tightened by the local mode. */
  mode(): LicenseMode;
  routes: readonly CompiledRoute[];
  nonces: NonceIssuer;
  tokens: TokenAuthority;
  /** Instance rows behind tokens, cached and checked (instance-check.ts). */
  instances: InstanceBook;
  attestation: AttestationVerifier | undefined;
  requireTokenNonce: boolean;
  /** Normalised `htu` values of the Charter endpoints. */
  htu: { register: string; token: string };
}

/** Endpoint paths of SPEC.md §3. */
export const PATHS = {
  wellKnown: '/.well-known/charter',
  challenge: '/charter/v1/challenge',
  register: '/charter/v1/register',
  token: '/charter/v1/token',
} as const;

/**
 * A policy refusal: thrown in enforce mode; in monitor mode noted and passed. Protocol failures
 * (a bad proof, a forged charter) are thrown directly, since there is nothing to let through.
 */
export function policy(ctx: EngineContext, notes: DecisionNotes, error: CharterError): void {
  if (ctx.mode() === 'monitor') notes.monitored.push(error);
  else throw error;
}

/** Codes that are never merely monitored: without a valid license or a working store nothing is decided. */
export const FAIL_CLOSED = new Set(['license_invalid', 'unavailable', 'use_dpop_nonce']);

/** Shorthand for a refusal. */
export function refusal(code: CharterError['code'], detail: string, reason: string): CharterError {
  return new CharterError(code, detail, reason);
}
