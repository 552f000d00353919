/** The engine's public option and result types (gateway.ts is the facade that takes and returns them). */
import type { CharterError, LicenseMode, VendorTrust } from '@charter/core';
import type { Logger } from 'pino';
import type { AttestationVerifier } from './attestation.ts';
import type { EphemeralCache } from './cache.ts';
import type { AdmittedApp } from './context.ts';
import type { UserCredential } from './credentials.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { GatewayReply } from './reply.ts';
import type { RouteRule } from './routes.ts';
import type { GatewayStore } from './store.ts';

/** Whether the trust anchor is sealed into this build or came from a development trust file. */
export type Integrity = 'sealed' | 'unsealed';

/** Options of {@link Gateway.create}. */
export interface GatewayOptions {
  /** The vendor's root keys: compiled into the host (library mode) or sealed into the build. */
  trust: VendorTrust;
  store: GatewayStore;
  /**
   * Default: used proofs and nonces in the store when it can keep them (SQLite: `useOnce`), rate
   * counts in memory; else in memory. Replicas pass a shared one (Redis); a store shared by replicas
   * (PostgreSQL) without it is refused.
   */
  cache?: EphemeralCache;
  /** A license token to install at start; without it the store's highest installed license is used. */
  license?: string;
  /** The URL clients reach the gateway at: the base of `htu` checks and of the endpoints advertised. */
  publicUrl: string;
  /** A local mode may only tighten: `enforce` over a monitor license; `monitor` over an enforce license is refused. */
  localMode?: LicenseMode;
  routes?: readonly RouteRule[];
  /** Epoch seconds; injectable for tests. */
  clock?: () => number;
  logger?: Logger;
  /** Default: Android Key Attestation and Apple App Attest with the bundled roots; null disables it. */
  attestationVerifier?: AttestationVerifier | null;
  integrity?: Integrity;
  /** Require a server nonce on token requests too (RFC 9449 §8); registration always needs one. */
  requireTokenNonce?: boolean;
  /** How often to look for a newer license in the store, in ms; 0 turns polling off. Default 1000. */
  licensePollMs?: number;
  metrics?: GatewayMetrics;
  /** Seconds a challenge nonce lives; default 120. */
  nonceTtlS?: number;
  /** How often usage counters and the time high-water mark go to the store, in ms; default 5000. */
  usageFlushMs?: number;
  /**
   * A local CORS list: it can only narrow the web origins the license allows (the intersection is
   * used); `[]` turns cross-origin access off. Absent: the license's origins.
   */
  corsOrigins?: readonly string[];
  /**
   * Charter app id → client id at the customer's OAuth server, for client attestations
   * (client-attester.ts). An app without an entry gets none; it can still call the API.
   */
  oauthClients?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
}

/** The public description served at `/.well-known/charter`. */
export interface WellKnown {
  site_id: string;
  issuer: string;
  license_serial: number;
  mode: LicenseMode;
  integrity: Integrity;
  algs: string[];
  endpoints: {
    challenge: string;
    register: string;
    token: string;
    client_attestation: string;
    attester_jwks: string;
  };
  /**
   * Present when the license names the vendor attester (docs/vendor-attester.md): who must
   * attest at registration and where devices reach the attester, as the vendor signed them.
   */
  attestation?: { source: 'attester' | 'either'; attester_url?: string };
}

/** The outcome of a protected request: the app (absent when monitor mode let an unproven request through) and what was only monitored. */
export interface Admission {
  app: AdmittedApp | undefined;
  monitored: CharterError[];
  /** The user's own credential (dual form, credentials.ts): forwarded upstream unchanged. */
  user?: UserCredential;
}

/** What {@link Gateway.handle} decided: a reply to write, or a request to pass on. */
export type HandleResult = GatewayReply | ({ kind: 'admitted' } & Admission);

/** The engine's decision points, as labelled in logs, metrics and the audit chain. */
export type Endpoint = 'challenge' | 'register' | 'token' | 'protected' | 'client_attestation';
