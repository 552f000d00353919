/**
 * The admission engine: framework-neutral, shared by the proxy (server.ts), the Fastify plugin and
 * the Node/Express middleware. It owns the license in force, the site's keys, and the per-request
 * decision record (log line, metrics, audit entry); adapters only move bytes.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { CharterError, epochSeconds, type LicenseMode, type VendorTrust } from '@charter/core';
import { type Logger, pino } from 'pino';
import { TokenAuthority } from './access-token.ts';
import { admit } from './admit.ts';
import { AnonymousSampler, PROVEN_ROWS_BEFORE_SAMPLING } from './anonymous-audit.ts';
import type { AttestationVerifier } from './attestation.ts';
import { backendStatusOf } from './backend-status.ts';
import type { EphemeralCache } from './cache.ts';
import { type ClientAttestationResult, clientAttestation } from './client-attestation.ts';
import { ATTESTER_PATHS, ClientAttester, oauthClientMap } from './client-attester.ts';
import { TimeGuard } from './clock.ts';
import { type AdmittedApp, type DecisionNotes, type EngineContext, FAIL_CLOSED, PATHS } from './context.ts';
import { answerPreflight, checkCorsNarrowing, corsResponseHeaders, licenseWebOrigins } from './cors.ts';
import { CHARTER_REFUSAL_HEADER, type UserCredential, userCredentialOf } from './credentials.ts';
import type { DecisionListener } from './decisions.ts';
import { androidRevocationStatus, createHardwareAttestationVerifier } from './hardware-attestation.ts';
import { expectedHtu, type PublicBase, publicBaseOf } from './htu.ts';
import { InstanceBook } from './instance-check.ts';
import { INSTANCE_ALGS } from './instance-key.ts';
import { installLicense, loadLicense, type SiteLicense } from './license.ts';
import { LocalRevocations } from './local-revocations.ts';
import { MemoryCache } from './memory-cache.ts';
import { GatewayMetrics } from './metrics.ts';
import { NonceIssuer } from './nonce.ts';
import { type RegisterResult, register } from './register.ts';
import { StoreReplayCache } from './replay-cache.ts';
import { type GatewayReply, refusalReply } from './reply.ts';
import { type CharterRequest, pathOf } from './request.ts';
import { installRevocations, type RevocationUpdate, RevocationUpdates } from './revocation-update.ts';
import { type CompiledRoute, compileRoutes, type RouteRule } from './routes.ts';
import type { GatewayStore } from './store.ts';
import { type TokenResult, token } from './token.ts';
import { COUNTER, UsageCounters } from './usage.ts';

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
   * Present when the license names the vendor attester (README, "The vendor attester"): who must
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

type Endpoint = 'challenge' | 'register' | 'token' | 'protected' | 'client_attestation';

const DAY = 86400;
const TOKEN_KEY = 'token-key';
const NONCE_KEY = 'nonce-key';

/** The admission gateway engine. */
export class Gateway {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly store: GatewayStore;
  readonly cache: EphemeralCache;
  readonly integrity: Integrity;
  readonly base: PublicBase;
  readonly #ctx: EngineContext;
  readonly #trust: VendorTrust;
  readonly #localMode: LicenseMode | undefined;
  readonly #ownsCache: boolean;
  #license: SiteLicense;
  #timer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #polling = false;
  readonly #wall: () => number;
  readonly #guard: TimeGuard;
  readonly #usage = new UsageCounters();
  readonly #anonymous = new AnonymousSampler();
  /** Refusals of proven instances: a row each for the first ones, then sampled (anonymous-audit.ts). */
  readonly #proven = new AnonymousSampler(PROVEN_ROWS_BEFORE_SAMPLING);
  /** Inside a clock rollback episode: the event is recorded once per episode, not per request. */
  #rolledBack = false;
  #lapseWarnedDay = -1;
  #pendingAudit: Promise<unknown> = Promise.resolve();
  /** Instances the operator revoked locally (admin console): refused on top of the license's revocations. */
  readonly localRevocations = new LocalRevocations();
  /** The vendor's signed revocation update, in force on top of any older license. */
  readonly revocationUpdates = new RevocationUpdates();
  readonly #decisionListeners = new Set<DecisionListener>();
  readonly #corsNarrowing: ReadonlySet<string> | undefined;
  /** The CORS origins of the license they were computed for (recomputed when the license changes). */
  #cors: { license: SiteLicense; origins: ReadonlySet<string> } | undefined;
  readonly #attester: ClientAttester;
  readonly #oauthClients: ReadonlyMap<string, string>;

  private constructor(
    options: GatewayOptions,
    parts: {
      license: SiteLicense;
      tokens: TokenAuthority;
      nonces: NonceIssuer;
      cache: EphemeralCache;
      base: PublicBase;
      routes: CompiledRoute[];
      guard: TimeGuard;
      attester: ClientAttester;
      oauthClients: ReadonlyMap<string, string>;
    },
  ) {
    this.#attester = parts.attester;
    this.#oauthClients = parts.oauthClients;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.metrics = options.metrics ?? new GatewayMetrics();
    this.store = options.store;
    this.cache = parts.cache;
    this.#ownsCache = options.cache === undefined;
    this.integrity = options.integrity ?? 'unsealed';
    this.base = parts.base;
    this.#trust = options.trust;
    this.#localMode = options.localMode;
    this.#corsNarrowing = options.corsOrigins ? new Set(options.corsOrigins) : undefined;
    this.#license = parts.license;
    this.#wall = options.clock ?? (() => epochSeconds());
    this.#guard = parts.guard;
    // The engine's time is never earlier than the high-water mark: setting the clock back cannot
    // make an expired license, charter or token valid again.
    const now = () => Math.max(this.#wall(), this.#guard.highWater());
    this.#ctx = {
      trust: options.trust,
      store: options.store,
      cache: parts.cache,
      base: parts.base,
      now,
      license: () => this.#currentLicense(),
      mode: () => this.mode,
      routes: parts.routes,
      nonces: parts.nonces,
      tokens: parts.tokens,
      instances: new InstanceBook(),
      // Hardware attestation is on unless the host passes its own verifier (or null, for no verifier).
      attestation:
        options.attestationVerifier === null
          ? undefined
          : (options.attestationVerifier ?? createHardwareAttestationVerifier({ store: options.store })),
      requireTokenNonce: options.requireTokenNonce ?? false,
      htu: {
        register: expectedHtu(parts.base, PATHS.register) as string,
        token: expectedHtu(parts.base, PATHS.token) as string,
      },
    };
    this.metrics.integrity.set({ integrity: this.integrity }, 1);
    this.metrics.clockHighWater.set(this.#guard.highWater());
    this.#showLicense();
    for (const part of [options.store, parts.cache]) {
      const status = backendStatusOf(part);
      if (status) this.metrics.watchBackend(status);
    }
  }

  /**
   * Start an engine: install or load the license (refusing with `license_invalid` one that does not
   * verify, has expired or rolls the serial back), check the local mode only tightens (else
   * `invalid_request`), and load or create the site's token and nonce keys.
   */
  static async create(options: GatewayOptions): Promise<Gateway> {
    if (options.store.sharedByReplicas && options.cache === undefined)
      // A used proof or nonce must be refused at every replica; a cache of this process's own would
      // let a second replica accept it again (and each replica would count rates alone).
      throw new CharterError(
        'invalid_request',
        'ERR_CACHE_NOT_SHARED',
        'the store is shared by replicas (PostgreSQL) but the replay cache would be this process’s own: ' +
          'add --redis redis://HOST:6379, the same for every replica (library mode: pass a RedisCache as `cache`)',
      );
    const base = publicBaseOf(options.publicUrl);
    const routes = compileRoutes(options.routes ?? []);
    if (options.corsOrigins) checkCorsNarrowing(options.corsOrigins);
    // Checked before anything is opened: a bad map refuses the start (invalid_request).
    const oauthClients = oauthClientMap(
      options.oauthClients instanceof Map
        ? Object.fromEntries(options.oauthClients)
        : (options.oauthClients ?? {}),
    );
    const guard = await TimeGuard.load(options.store, options.clock?.() ?? epochSeconds());
    const now = Math.max(options.clock?.() ?? epochSeconds(), guard.highWater());
    let license: SiteLicense;
    if (options.license !== undefined) {
      license = (await installLicense(options.license, options.trust, options.store, now)).license;
    } else {
      const record = await options.store.currentLicense();
      if (!record)
        throw new CharterError(
          'license_invalid',
          'ERR_LICENSE_NONE',
          'no license is installed; pass one with --license',
        );
      license = await loadLicense(record.token, options.trust, options.store, now);
    }
    guard.raise(license.claims.iat);
    if (options.localMode === 'monitor' && license.mode === 'enforce') {
      throw new CharterError(
        'invalid_request',
        'ERR_MODE_LOOSENS',
        'the local mode may only tighten: monitor over an enforce license is refused',
      );
    }
    const tokenKey = await options.store.secret(TOKEN_KEY, () =>
      generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }),
    );
    const nonceKey = await options.store.secret(NONCE_KEY, () => randomBytes(32));
    // Embedded: used proofs and nonces in the store, so a restart forgets none of them.
    const cache =
      options.cache ??
      (options.store.useOnce
        ? new StoreReplayCache(
            options.store as GatewayStore & Required<Pick<GatewayStore, 'useOnce'>>,
            // The engine's time, as in the constructor: the clock proofs are checked against.
            () => Math.max(options.clock?.() ?? epochSeconds(), guard.highWater()),
          )
        : new MemoryCache());
    const tokens = await TokenAuthority.create(tokenKey, base.href, `urn:charter:site:${license.siteId}`);
    const nonces = new NonceIssuer(nonceKey, cache, options.nonceTtlS);
    const attester = await ClientAttester.open(options.store);
    const gateway = new Gateway(options, {
      license,
      tokens,
      nonces,
      cache,
      base,
      routes,
      guard,
      attester,
      oauthClients,
    });
    try {
      gateway.#checkClock();
    } catch (e) {
      // Refused at start: the event still reaches the audit chain, the counters and the store.
      await gateway.close();
      throw e;
    }
    if (gateway.integrity === 'unsealed') gateway.#usage.add(COUNTER.unsealedStart);
    await gateway.localRevocations.refresh(options.store);
    if (!(await gateway.#refreshRevocations())) gateway.#announceAdmissions();
    gateway.#lapseTick();
    const flush = options.usageFlushMs ?? 5000;
    gateway.#flushTimer = setInterval(() => void gateway.#tick(), flush);
    gateway.#flushTimer.unref();
    const poll = options.licensePollMs ?? 1000;
    if (poll > 0) {
      gateway.#timer = setInterval(() => void gateway.reloadLicense(), poll);
      gateway.#timer.unref();
    }
    return gateway;
  }

  /** The mode in force: enforce if either the license or the local setting says so. */
  get mode(): LicenseMode {
    return this.#license.mode === 'enforce' || this.#localMode === 'enforce' ? 'enforce' : 'monitor';
  }

  /** Observe every decision (the admin console's traffic chart); returns the unsubscribe function. */
  onDecision(listener: DecisionListener): () => void {
    this.#decisionListeners.add(listener);
    return () => this.#decisionListeners.delete(listener);
  }

  /**
   * The license in force (whatever its validity now), with the revocations of a newer revocation
   * update added; the operator's local revocations are not in it.
   */
  get license(): SiteLicense {
    return this.revocationUpdates.apply(this.#license);
  }

  /** The `/.well-known/charter` document. */
  wellKnown(): WellKnown {
    const l = this.#license;
    const href = this.base.href;
    return {
      site_id: l.siteId,
      issuer: href,
      license_serial: l.serial,
      mode: this.mode,
      integrity: this.integrity,
      algs: [...INSTANCE_ALGS],
      endpoints: {
        challenge: href + PATHS.challenge,
        register: href + PATHS.register,
        token: href + PATHS.token,
        client_attestation: href + ATTESTER_PATHS.clientAttestation,
        attester_jwks: href + ATTESTER_PATHS.jwks,
      },
      ...this.#attesterDescription(),
    };
  }

  #attesterDescription(): Pick<WellKnown, 'attestation'> {
    const a = this.#license.claims.attestation;
    if (a?.source !== 'attester' && a?.source !== 'either') return {};
    return { attestation: { source: a.source, ...(a.attester_url ? { attester_url: a.attester_url } : {}) } };
  }

  /**
   * The web origins cross-origin browsers may call from now: the `web_origins` of the apps the
   * license in force admits (revoked apps left out), narrowed by the local list if there is one.
   */
  corsOrigins(): ReadonlySet<string> {
    // The license as enforced (its revocations merged with any applied on top), cached by identity.
    const license = this.localRevocations.apply(this.#license);
    if (this.#cors?.license !== license) {
      const fromLicense = licenseWebOrigins(license);
      const narrowing = this.#corsNarrowing;
      const origins = narrowing ? new Set([...fromLicense].filter((o) => narrowing.has(o))) : fromLicense;
      this.#cors = { license, origins };
    }
    return this.#cors.origins;
  }

  /**
   * Answer a CORS preflight (the caller checked {@link isPreflight}): never admission, never
   * upstream. A refusal is counted (`charter_cors_preflights_total`, the usage report's `unknown`)
   * and logged, but not written to the audit chain: a flood of them must not queue on its head.
   */
  preflight(req: CharterRequest): GatewayReply {
    let origins: ReadonlySet<string>;
    try {
      this.#currentLicense();
      origins = this.corsOrigins();
    } catch {
      // No valid license: no app is admitted, so no origin is either.
      origins = new Set();
    }
    const { reply, outcome } = answerPreflight(req, origins);
    const code = outcome.error?.code ?? 'none';
    this.metrics.preflights.inc({ outcome: outcome.allowed ? 'allowed' : 'refused', code });
    if (outcome.error) {
      this.#usage.add(COUNTER.unknown(outcome.error.code));
      const origin = req.headers.origin;
      this.logger.warn(
        {
          endpoint: 'preflight',
          method: req.method,
          path: (pathOf(req.url) ?? '').slice(0, 256),
          origin: (Array.isArray(origin) ? origin.join(', ') : (origin ?? '')).slice(0, 256),
          outcome: 'refused',
          code: outcome.error.code,
          detail: outcome.error.detail,
          reason: outcome.error.message,
        },
        'refused',
      );
    }
    return reply;
  }

  /** The CORS headers for an actual response to `req` (see cors.ts); merge them with {@link mergeCorsHeaders}. */
  corsHeaders(req: CharterRequest): Record<string, string> {
    return corsResponseHeaders(req, this.corsOrigins());
  }

  /** The public key of the site's client attester, as a JWK Set, for the customer's OAuth server. */
  attesterJwks(): ReturnType<ClientAttester['jwks']> {
    return this.#attester.jwks();
  }

  /** Issue a Client Attestation JWT to an admitted instance, or throw the refusal. */
  async clientAttestation(req: CharterRequest): Promise<ClientAttestationResult> {
    const att = { attester: this.#attester, clients: this.#oauthClients, issuer: this.base.href };
    return this.#run('client_attestation', req, (notes) => clientAttestation(this.#ctx, att, req, notes));
  }

  /** A fresh single-use nonce. */
  challenge(): { nonce: string; expires_in: number } {
    return this.#ctx.nonces.issue(this.#ctx.now());
  }

  /** Register an instance, or throw the refusal. */
  async register(req: CharterRequest): Promise<RegisterResult> {
    return this.#run('register', req, (notes) => register(this.#ctx, req, notes));
  }

  /** Issue an access token, or throw the refusal. */
  async token(req: CharterRequest): Promise<TokenResult> {
    return this.#run('token', req, (notes) => token(this.#ctx, req, notes));
  }

  /**
   * Admit a protected request, or throw the refusal. In monitor mode nothing but `license_invalid`
   * and `unavailable` is thrown: the refusals come back in `monitored`, with the app when the token
   * and proof were good.
   */
  async admit(req: CharterRequest): Promise<Admission> {
    const notes: DecisionNotes = { monitored: [] };
    const userCredential = userCredentialOf(req);
    const user = userCredential ? { user: userCredential } : {};
    try {
      const app = await this.#run('protected', req, (n) => admit(this.#ctx, req, n), notes);
      return { app, monitored: notes.monitored, ...user };
    } catch (e) {
      if (e instanceof CharterError && this.mode === 'monitor' && !FAIL_CLOSED.has(e.code)) {
        return { app: undefined, monitored: [e], ...user };
      }
      throw e;
    }
  }

  /**
   * True for exactly the paths the engine itself answers (the well-known document, challenge,
   * register, token), byte for byte. Nothing else skips admission: a host's `/:tenant/v1/:resource`
   * serving `/charter/v1/orders` is a protected route like any other.
   */
  isCharterPath(url: string): boolean {
    const path = pathOf(url);
    return (
      path === PATHS.wellKnown ||
      path === PATHS.challenge ||
      path === PATHS.register ||
      path === PATHS.token ||
      path === ATTESTER_PATHS.clientAttestation ||
      path === ATTESTER_PATHS.jwks
    );
  }

  /**
   * Everything in one call, for adapters: the Charter endpoints (exact path and method) become
   * replies, anything else is admitted (or refused), whatever it looks like. Unexpected failures are
   * logged and answered `unavailable`, never with a stack trace.
   */
  async handle(req: CharterRequest): Promise<HandleResult> {
    const path = pathOf(req.url);
    const method = req.method.toUpperCase();
    try {
      if (path === PATHS.wellKnown && (method === 'GET' || method === 'HEAD'))
        return this.#ok(this.wellKnown(), false);
      if (path === PATHS.challenge && method === 'POST') return this.#ok(this.challenge(), false);
      if (path === PATHS.register && method === 'POST') return this.#ok(await this.register(req), true);
      if (path === PATHS.token && method === 'POST') return this.#ok(await this.token(req), true);
      if (path === ATTESTER_PATHS.clientAttestation && method === 'POST')
        return this.#ok(await this.clientAttestation(req), true);
      if (path === ATTESTER_PATHS.jwks && (method === 'GET' || method === 'HEAD'))
        return this.#ok(this.attesterJwks(), false);
      return { kind: 'admitted', ...(await this.admit(req)) };
    } catch (e) {
      return this.errorReply(e);
    }
  }

  /**
   * The reply for a refusal: `{error, error_description}` with the catalogue status; on 401 a
   * `WWW-Authenticate: DPoP` challenge; a fresh `DPoP-Nonce` with `use_dpop_nonce`; `Retry-After`
   * with `rate_limited`. Anything that is not a CharterError is logged and becomes `unavailable`.
   */
  errorReply(e: unknown): GatewayReply {
    let error: CharterError;
    if (e instanceof CharterError) error = e;
    else {
      this.logger.error({ err: e }, 'unexpected failure');
      error = new CharterError('unavailable', 'ERR_INTERNAL', 'unexpected failure');
    }
    const reply = refusalReply(error);
    reply.headers[CHARTER_REFUSAL_HEADER] = error.code;
    if (error.code === 'use_dpop_nonce') reply.headers['dpop-nonce'] = this.challenge().nonce;
    if (error.code === 'rate_limited') reply.headers['retry-after'] = String(60 - (this.#ctx.now() % 60));
    return reply;
  }

  /** Headers to hand upstream for an admitted app (the same names arriving from clients must be removed first). */
  upstreamHeaders(admission: Admission): Record<string, string> {
    const h: Record<string, string> = {};
    if (admission.app) {
      h['charter-app-id'] = admission.app.app_id;
      h['charter-publisher-id'] = admission.app.publisher_id;
      h['charter-instance-id'] = admission.app.instance_id;
      h['charter-scope'] = admission.app.scopes.join(' ');
    }
    if (admission.monitored.length > 0)
      h['charter-monitor'] = admission.monitored.map((m) => m.code).join(' ');
    // The user's credential goes on as sent (the client's Authorization and DPoP are removed first).
    if (admission.user) {
      h.authorization = admission.user.authorization;
      if (admission.user.dpop !== undefined) h.dpop = admission.user.dpop;
    }
    return h;
  }

  /** Whether the gateway can decide requests now: a valid license, a reachable store and cache. */
  async ready(): Promise<{ ok: boolean; reason?: string }> {
    try {
      this.#currentLicense();
      await this.store.currentLicense();
      await this.cache.ping?.();
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: e instanceof CharterError ? e.code : 'unavailable' };
    }
  }

  /**
   * Pick up a newer license from the store (installed by `gateway license install`, possibly from
   * another process). A license that fails to verify is logged and ignored; the current one stays.
   */
  async reloadLicense(): Promise<boolean> {
    if (this.#polling) return false;
    this.#polling = true;
    try {
      await this.localRevocations.refresh(this.store);
      const updated = await this.#refreshRevocations();
      const record = await this.store.currentLicense();
      if (!record || record.serial <= this.#license.serial) return updated;
      this.#license = await loadLicense(record.token, this.#trust, this.store, this.#ctx.now());
      this.#guard.raise(this.#license.claims.iat);
      this.#showLicense();
      this.logger.info({ license_serial: this.#license.serial, mode: this.mode }, 'license reloaded');
      this.#announceAdmissions();
      return true;
    } catch (e) {
      this.logger.error(
        {
          code: e instanceof CharterError ? e.code : undefined,
          reason: e instanceof Error ? e.message : String(e),
        },
        'newer license not loaded',
      );
      return false;
    } finally {
      this.#polling = false;
    }
  }

  /** Install a license through this engine (same checks as at start) and put it in force at once. */
  async installLicense(tokenText: string): Promise<SiteLicense> {
    const { license } = await installLicense(tokenText, this.#trust, this.store, this.#ctx.now());
    this.#guard.raise(license.claims.iat);
    if (license.serial > this.#license.serial) {
      this.#license = license;
      this.#showLicense();
      this.#announceAdmissions();
    }
    return license;
  }

  /**
   * Install a revocation update through this engine (same checks as `gateway license install`) and
   * put it in force at once; other replicas have it with their next poll.
   */
  async installRevocations(
    tokenText: string,
  ): Promise<{ update: RevocationUpdate; outcome: 'installed' | 'already_installed' }> {
    const r = await installRevocations(tokenText, this.#trust, this.store, this.#ctx.now());
    await this.#refreshRevocations();
    return r;
  }

  /** Re-read the installed revocation update; a stored one that fails to verify is logged and kept out. */
  async #refreshRevocations(): Promise<boolean> {
    try {
      if (!(await this.revocationUpdates.refresh(this.store, this.#trust))) return false;
    } catch (e) {
      this.logger.error(
        {
          code: e instanceof CharterError ? e.code : undefined,
          reason: e instanceof Error ? e.message : String(e),
        },
        'the installed revocation update does not verify; it is not applied',
      );
      return false;
    }
    const u = this.revocationUpdates.update;
    if (u && this.revocationUpdates.appliesTo(this.#license))
      this.logger.info(
        {
          revocations_serial: u.serial,
          license_serial: this.#license.serial,
          revoked: {
            charters: u.revoked.charters.size,
            apps: u.revoked.apps.size,
            instances: u.revoked.instances.size,
          },
        },
        'revocation update in force',
      );
    this.#announceAdmissions();
    this.metrics.revocationsSerial.set(u?.serial ?? 0);
    return true;
  }

  /** A license that admits no app is legal (a site wound down, or whose only app was revoked): say so. */
  #announceAdmissions(): void {
    const l = this.license;
    const admitted = [...l.apps.keys()].filter((id) => !l.revoked.apps.has(id));
    if (admitted.length === 0)
      this.logger.warn(
        { license_serial: this.#license.serial },
        'the license in force admits no apps: every app is refused (app_not_admitted)',
      );
  }

  /**
   * Stop polling, write the last usage counts and the time high-water mark to the store, and release
   * the cache the engine created (the store belongs to the caller).
   */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#flushTimer) clearInterval(this.#flushTimer);
    this.#timer = undefined;
    this.#flushTimer = undefined;
    await this.#writeAnonymousCounts();
    await this.#tick();
    if (this.#ownsCache) await this.cache.close();
  }

  /** Move usage counts and the time high-water mark to the store now (they go every few seconds, and at close). */
  async flushUsage(): Promise<void> {
    await this.#pendingAudit;
    await this.#usage.flush(this.store);
    await this.#guard.persist();
  }

  /** The time high-water mark, in epoch seconds. */
  get highWater(): number {
    return this.#guard.highWater();
  }

  /** At shutdown: one audit row per kind of anonymous refusal that no sampled row stands for yet. */
  async #writeAnonymousCounts(): Promise<void> {
    const at = this.#ctx.now();
    for (const [key, count] of [...this.#anonymous.drain(), ...this.#proven.drain()]) {
      const [kind, endpoint, code, app, instance] = key.split(' ') as [
        'refusal' | 'monitor',
        string,
        string,
        string,
        string | undefined,
      ];
      try {
        await this.store.appendAudit({
          at,
          kind,
          endpoint,
          code,
          ...(app ? { app_id: app } : {}),
          ...(instance ? { instance_id: instance } : {}),
          count,
        });
      } catch (e) {
        this.logger.error({ reason: e instanceof Error ? e.message : String(e) }, 'audit entry not written');
      }
    }
  }

  async #tick(): Promise<void> {
    try {
      await this.flushUsage();
      this.metrics.clockHighWater.set(this.#guard.highWater());
    } catch (e) {
      this.logger.error(
        { reason: e instanceof Error ? e.message : String(e) },
        'usage counts not written (kept for the next try)',
      );
    }
    this.#lapseTick();
  }

  /**
   * Lapse warnings: once a day from 14 days before the license expires, and every day of a grace
   * period, so a running site is never stopped by surprise; the days-left gauge always.
   */
  #lapseTick(): void {
    const l = this.#license;
    const now = this.#ctx.now();
    const left = l.exp - now;
    this.metrics.licenseDaysLeft.set(Math.floor((left / DAY) * 10) / 10);
    const day = Math.floor(now / DAY);
    if (left > 14 * DAY || day === this.#lapseWarnedDay) return;
    this.#lapseWarnedDay = day;
    const info = { license_serial: l.serial, exp: l.exp, grace_s: l.graceS };
    if (left > 0) {
      const days = Math.ceil(left / DAY);
      this.logger.warn(
        info,
        days <= 1
          ? 'the license expires within a day: install the renewal (charter gateway license install)'
          : `the license expires in ${days} days: ask the vendor for the renewal`,
      );
    } else if (now < l.exp + l.graceS) {
      this.logger.warn(
        info,
        `the license has expired; its grace period ends in ${Math.ceil((l.exp + l.graceS - now) / DAY)} day(s), then requests are refused`,
      );
    } else this.logger.error(info, 'the license has expired: requests are refused (license_invalid)');
  }

  /**
   * The clock against the high-water mark: behind by more than the license tolerates is a rollback,
   * recorded once per episode (log, metric, usage counter, audit chain); under `on_clock_rollback:
   * refuse` every decision is `license_invalid` until the clock is fixed.
   */
  #checkClock(): void {
    const l = this.#license;
    const wall = this.#wall();
    const behind = this.#guard.behind(wall);
    if (behind <= l.clockToleranceS) {
      this.#rolledBack = false;
      return;
    }
    if (!this.#rolledBack) {
      this.#rolledBack = true;
      const highWater = this.#guard.highWater();
      this.metrics.clockRollbacks.inc();
      this.#usage.add(COUNTER.rollback);
      this.logger.warn(
        { clock: wall, high_water: highWater, behind_s: behind, policy: l.onClockRollback },
        'the clock is behind the time this gateway has already seen',
      );
      this.#pendingAudit = this.store
        .appendAudit({
          at: highWater,
          kind: 'clock',
          detail: 'ERR_CLOCK_ROLLBACK',
          ...(l.onClockRollback === 'refuse' ? { code: 'license_invalid' } : {}),
          clock: wall,
          high_water: highWater,
          license_serial: l.serial,
        })
        .catch((e: unknown) =>
          this.logger.error(
            { reason: e instanceof Error ? e.message : String(e) },
            'audit entry not written',
          ),
        );
    }
    if (l.onClockRollback === 'refuse')
      throw new CharterError(
        'license_invalid',
        'ERR_CLOCK_ROLLBACK',
        `the clock is ${behind} s behind the latest time this gateway has seen; the license refuses service until the clock is set right`,
      );
  }

  #currentLicense(): SiteLicense {
    this.#checkClock();
    const l = this.#license;
    const now = this.#ctx.now();
    if (now >= l.exp + l.graceS)
      throw new CharterError(
        'license_invalid',
        'ERR_LICENSE_EXPIRED',
        l.graceS > 0
          ? 'the license in force has expired and its grace period has ended'
          : 'the license in force has expired',
      );
    if (now < l.nbf - 60)
      throw new CharterError(
        'license_invalid',
        'ERR_LICENSE_NOT_YET_VALID',
        'the license in force is not valid yet',
      );
    return this.localRevocations.apply(this.revocationUpdates.apply(l));
  }

  #showLicense(): void {
    this.metrics.licenseSerial.set(this.#license.serial);
    this.metrics.licenseExpiry.set(this.#license.exp);
    const revocation = androidRevocationStatus(this.#license.claims, this.#ctx.now());
    this.metrics.androidRevokedSerials.set({ source: 'snapshot' }, revocation.snapshot_serials);
    this.metrics.androidRevokedSerials.set({ source: 'license' }, revocation.license_serials);
  }

  #ok(body: unknown, withNonce: boolean): GatewayReply {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'cache-control': 'no-store',
    };
    // RFC 9449 §8.2: hand the client its next nonce with the answer, saving a round trip.
    if (withNonce) headers['dpop-nonce'] = this.challenge().nonce;
    return { kind: 'reply', status: 200, headers, body };
  }

  async #run<T>(
    endpoint: Endpoint,
    req: CharterRequest,
    op: (notes: DecisionNotes) => Promise<T>,
    notes: DecisionNotes = { monitored: [] },
  ): Promise<T> {
    const started = process.hrtime.bigint();
    let error: CharterError | undefined;
    try {
      return await op(notes);
    } catch (e) {
      error =
        e instanceof CharterError
          ? e
          : new CharterError('unavailable', 'ERR_INTERNAL', 'unexpected failure', { cause: e });
      if (!(e instanceof CharterError)) this.logger.error({ err: e, endpoint }, 'unexpected failure');
      throw error;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await this.#record(endpoint, req, notes, error, seconds);
    }
  }

  /** Usage for reports: synchronous map updates only, flushed to the store by the timer. */
  #count(
    endpoint: Endpoint,
    notes: DecisionNotes,
    refused: CharterError | undefined,
    monitored: readonly CharterError[],
    outcome: string,
  ): void {
    const app = notes.app_id;
    const u = this.#usage;
    if (endpoint === 'protected' && outcome !== 'refused' && app) u.add(COUNTER.admitted(app));
    for (const e of refused ? [refused, ...monitored] : monitored)
      u.add(app ? COUNTER.denied(app, e.code) : COUNTER.unknown(e.code));
    if (!refused && endpoint === 'register' && app && notes.instance_id) {
      u.add(COUNTER.instances(app));
      if (notes.attested !== true) u.add(COUNTER.unattested(app));
    }
    // Every instance registered or used (or refused) in the period goes in the report with its
    // evidence, so a row written into the store by hand reaches the vendor too.
    if (app && notes.instance_id && notes.charter_id && notes.instance_known)
      u.add(COUNTER.instance(notes.instance_id, app, notes.charter_id));
  }

  async #record(
    endpoint: Endpoint,
    req: CharterRequest,
    notes: DecisionNotes,
    error: CharterError | undefined,
    seconds: number,
  ): Promise<void> {
    const monitorPass =
      error !== undefined &&
      this.mode === 'monitor' &&
      endpoint === 'protected' &&
      !FAIL_CLOSED.has(error.code);
    const monitored = error && monitorPass ? [error] : notes.monitored;
    const outcome = error && !monitorPass ? 'refused' : monitored.length > 0 ? 'monitored' : 'admitted';
    const appLabel = notes.app_id ?? 'unknown';
    this.metrics.duration.observe({ endpoint }, seconds);
    this.metrics.admissions.inc({ app_id: appLabel, outcome });
    if (error && !monitorPass) this.metrics.refusals.inc({ app_id: appLabel, code: error.code });
    if (!error && endpoint === 'register') {
      this.metrics.registrations.inc({
        app_id: appLabel,
        platform: notes.platform ?? 'unknown',
        attested: String(notes.attested === true),
      });
    }
    for (const m of monitored) this.metrics.refusals.inc({ app_id: appLabel, code: m.code });
    if (this.#decisionListeners.size > 0) {
      const event = {
        at: this.#ctx.now(),
        endpoint,
        app_id: notes.app_id,
        instance_id: notes.instance_id,
        outcome: outcome as 'admitted' | 'monitored' | 'refused',
        codes: [...(error && !monitorPass ? [error.code] : []), ...monitored.map((m) => m.code)],
      };
      for (const listener of this.#decisionListeners) listener(event);
    }
    this.#count(endpoint, notes, error && !monitorPass ? error : undefined, monitored, outcome);

    const path = (pathOf(req.url) ?? '').slice(0, 256);
    const ids = {
      ...(notes.app_id ? { app_id: notes.app_id } : {}),
      ...(notes.publisher_id ? { publisher_id: notes.publisher_id } : {}),
      ...(notes.instance_id ? { instance_id: notes.instance_id } : {}),
      ...(notes.charter_id ? { charter_id: notes.charter_id } : {}),
      ...(notes.platform ? { platform: notes.platform, attested: notes.attested === true } : {}),
    };
    const line = {
      endpoint,
      method: req.method,
      path,
      outcome,
      ms: Math.round(seconds * 1e6) / 1e3,
      ...ids,
      ...(error && !monitorPass ? { code: error.code, detail: error.detail, reason: error.message } : {}),
      ...(monitored.length > 0
        ? { monitored: monitored.map((m) => ({ code: m.code, detail: m.detail, reason: m.message })) }
        : {}),
    };
    if (outcome === 'admitted') this.logger.info(line, 'admitted');
    else this.logger.warn(line, outcome);

    const at = this.#ctx.now();
    try {
      // No proven instance (a charter is a public artifact, so a genuine one proves no caller):
      // counted above, sampled here, by app when a charter named one; a flood must not write a row
      // per request.
      // A proven instance's refusals get a row each up to a bound, then are sampled the same way.
      const anonymous = notes.instance_id === undefined;
      const rows = (kind: 'refusal' | 'monitor', code: string): number | undefined =>
        anonymous
          ? this.#anonymous.take(`${kind} ${endpoint} ${code} ${notes.app_id ?? ''}`)
          : this.#proven.take(`${kind} ${endpoint} ${code} ${notes.app_id ?? ''} ${notes.instance_id}`);
      const refusedRows = error && !monitorPass ? rows('refusal', error.code) : undefined;
      if (error && refusedRows !== undefined)
        await this.store.appendAudit({
          at,
          kind: 'refusal',
          endpoint,
          code: error.code,
          detail: error.detail,
          ...ids,
          ...(anonymous || refusedRows > 1 ? { count: refusedRows } : {}),
        });
      for (const m of monitored) {
        const count = rows('monitor', m.code);
        if (count === undefined) continue;
        await this.store.appendAudit({
          at,
          kind: 'monitor',
          endpoint,
          code: m.code,
          detail: m.detail,
          ...ids,
          ...(anonymous || count > 1 ? { count } : {}),
        });
      }
      if (!error && endpoint === 'register')
        await this.store.appendAudit({
          at,
          kind: 'register',
          endpoint,
          ...ids,
          license_serial: this.#license.serial,
        });
    } catch (e) {
      this.logger.error({ reason: e instanceof Error ? e.message : String(e) }, 'audit entry not written');
    }
  }
}

/** Create an admission engine; see {@link Gateway.create}. */
export function createGateway(options: GatewayOptions): Promise<Gateway> {
  return Gateway.create(options);
}
