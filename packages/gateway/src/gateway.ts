/**
 * The admission engine: framework-neutral, shared by the proxy (server.ts), the Fastify plugin and
 * the Node/Express middleware; adapters only move bytes. This class is the facade: it is built by
 * bootstrap.ts, judges decisions under the license license-lifecycle.ts keeps, records each decision
 * through decision-record.ts, and shapes answers with http-shaping.ts.
 */
import { CharterError, epochSeconds, type LicenseMode } from '@charter/core';
import { type Logger, pino } from 'pino';
import { admit } from './admit.ts';
import { backendStatusOf } from './backend-status.ts';
import { bootstrap, type EngineParts } from './bootstrap.ts';
import type { EphemeralCache } from './cache.ts';
import { type ClientAttestationResult, clientAttestation } from './client-attestation.ts';
import { ATTESTER_PATHS, type ClientAttester } from './client-attester.ts';
import { type DecisionNotes, type EngineContext, FAIL_CLOSED, PATHS } from './context.ts';
import { answerPreflight, corsResponseHeaders, licenseWebOrigins } from './cors.ts';
import { userCredentialOf } from './credentials.ts';
import { DecisionRecorder } from './decision-record.ts';
import type { DecisionListener } from './decisions.ts';
import type { Admission, GatewayOptions, HandleResult, Integrity, WellKnown } from './gateway-options.ts';
import { createHardwareAttestationVerifier } from './hardware-attestation.ts';
import { errorReplyOf, isCharterPath, okReply, upstreamHeadersOf } from './http-shaping.ts';
import { expectedHtu, type PublicBase } from './htu.ts';
import { InstanceBook } from './instance-check.ts';
import { INSTANCE_ALGS } from './instance-key.ts';
import type { SiteLicense } from './license.ts';
import { LicenseKeeper } from './license-lifecycle.ts';
import type { LocalRevocations } from './local-revocations.ts';
import { GatewayMetrics } from './metrics.ts';
import { type RegisterResult, register } from './register.ts';
import type { GatewayReply } from './reply.ts';
import { type CharterRequest, pathOf } from './request.ts';
import type { RevocationUpdate, RevocationUpdates } from './revocation-update.ts';
import type { GatewayStore } from './store.ts';
import { type TokenResult, token } from './token.ts';
import { COUNTER } from './usage.ts';

export type { Admission, GatewayOptions, HandleResult, Integrity, WellKnown } from './gateway-options.ts';

/** The admission gateway engine. */
export class Gateway {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly store: GatewayStore;
  readonly cache: EphemeralCache;
  readonly integrity: Integrity;
  readonly base: PublicBase;
  readonly #ctx: EngineContext;
  readonly #ownsCache: boolean;
  readonly #keeper: LicenseKeeper;
  readonly #recorder: DecisionRecorder;
  #timer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  /** Instances the operator revoked locally (admin console): refused on top of the license's revocations. */
  readonly localRevocations: LocalRevocations;
  /** The vendor's signed revocation update, in force on top of any older license. */
  readonly revocationUpdates: RevocationUpdates;
  readonly #corsNarrowing: ReadonlySet<string> | undefined;
  /** The CORS origins of the license they were computed for (recomputed when the license changes). */
  #cors: { license: SiteLicense; origins: ReadonlySet<string> } | undefined;
  readonly #attester: ClientAttester;
  readonly #oauthClients: ReadonlyMap<string, string>;

  private constructor(options: GatewayOptions, parts: EngineParts) {
    this.#attester = parts.attester;
    this.#oauthClients = parts.oauthClients;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.metrics = options.metrics ?? new GatewayMetrics();
    this.store = options.store;
    this.cache = parts.cache;
    this.#ownsCache = options.cache === undefined;
    this.integrity = options.integrity ?? 'unsealed';
    this.base = parts.base;
    this.#corsNarrowing = options.corsOrigins ? new Set(options.corsOrigins) : undefined;
    const keeperRef: { mode: () => LicenseMode; now: () => number; serial: () => number } = {
      mode: () => this.mode,
      now: () => this.#keeper.now(),
      serial: () => this.#keeper.installed.serial,
    };
    this.#recorder = new DecisionRecorder({
      logger: this.logger,
      metrics: this.metrics,
      store: options.store,
      mode: keeperRef.mode,
      now: keeperRef.now,
      licenseSerial: keeperRef.serial,
    });
    this.#keeper = new LicenseKeeper({
      license: parts.license,
      trust: options.trust,
      store: options.store,
      localMode: options.localMode,
      guard: parts.guard,
      wall: options.clock ?? (() => epochSeconds()),
      logger: this.logger,
      metrics: this.metrics,
      usage: this.#recorder.usage,
    });
    this.localRevocations = this.#keeper.localRevocations;
    this.revocationUpdates = this.#keeper.revocationUpdates;
    this.#ctx = {
      trust: options.trust,
      store: options.store,
      cache: parts.cache,
      base: parts.base,
      now: this.#keeper.now,
      license: () => this.#keeper.current(),
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
    this.metrics.clockHighWater.set(this.#keeper.highWater);
    this.#keeper.show();
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
    const gateway = new Gateway(options, await bootstrap(options));
    const keeper = gateway.#keeper;
    try {
      keeper.checkClock();
    } catch (e) {
      // Refused at start: the event still reaches the audit chain, the counters and the store.
      await gateway.close();
      throw e;
    }
    if (gateway.integrity === 'unsealed') gateway.#recorder.usage.add(COUNTER.unsealedStart);
    await gateway.localRevocations.refresh(options.store);
    if (!(await keeper.refreshRevocations())) keeper.announceAdmissions();
    keeper.lapseTick();
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
    return this.#keeper.mode;
  }

  /** Observe every decision (the admin console's traffic chart); returns the unsubscribe function. */
  onDecision(listener: DecisionListener): () => void {
    return this.#recorder.onDecision(listener);
  }

  /**
   * The license in force (whatever its validity now), with the revocations of a newer revocation
   * update added; the operator's local revocations are not in it.
   */
  get license(): SiteLicense {
    return this.#keeper.license;
  }

  /** The `/.well-known/charter` document. */
  wellKnown(): WellKnown {
    const l = this.#keeper.installed;
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
    const a = this.#keeper.installed.claims.attestation;
    if (a?.source !== 'attester' && a?.source !== 'either') return {};
    return { attestation: { source: a.source, ...(a.attester_url ? { attester_url: a.attester_url } : {}) } };
  }

  /**
   * The web origins cross-origin browsers may call from now: the `web_origins` of the apps the
   * license in force admits (revoked apps left out), narrowed by the local list if there is one.
   */
  corsOrigins(): ReadonlySet<string> {
    // The license as enforced (its revocations merged with any applied on top), cached by identity.
    const license = this.localRevocations.apply(this.#keeper.installed);
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
      this.#keeper.current();
      origins = this.corsOrigins();
    } catch {
      // No valid license: no app is admitted, so no origin is either.
      origins = new Set();
    }
    const { reply, outcome } = answerPreflight(req, origins);
    const code = outcome.error?.code ?? 'none';
    this.metrics.preflights.inc({ outcome: outcome.allowed ? 'allowed' : 'refused', code });
    if (outcome.error) {
      this.#recorder.usage.add(COUNTER.unknown(outcome.error.code));
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
    return this.#recorder.run('client_attestation', req, (notes) =>
      clientAttestation(this.#ctx, att, req, notes),
    );
  }

  /** A fresh single-use nonce. */
  challenge(): { nonce: string; expires_in: number } {
    return this.#ctx.nonces.issue(this.#ctx.now());
  }

  /** Register an instance, or throw the refusal. */
  async register(req: CharterRequest): Promise<RegisterResult> {
    return this.#recorder.run('register', req, (notes) => register(this.#ctx, req, notes));
  }

  /** Issue an access token, or throw the refusal. */
  async token(req: CharterRequest): Promise<TokenResult> {
    return this.#recorder.run('token', req, (notes) => token(this.#ctx, req, notes));
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
      const app = await this.#recorder.run('protected', req, (n) => admit(this.#ctx, req, n), notes);
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
    return isCharterPath(url);
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
        return okReply(this.wellKnown());
      if (path === PATHS.challenge && method === 'POST') return okReply(this.challenge());
      if (path === PATHS.register && method === 'POST')
        return okReply(await this.register(req), this.challenge().nonce);
      if (path === PATHS.token && method === 'POST')
        return okReply(await this.token(req), this.challenge().nonce);
      if (path === ATTESTER_PATHS.clientAttestation && method === 'POST')
        return okReply(await this.clientAttestation(req), this.challenge().nonce);
      if (path === ATTESTER_PATHS.jwks && (method === 'GET' || method === 'HEAD'))
        return okReply(this.attesterJwks());
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
    return errorReplyOf(e, { logger: this.logger, nonce: () => this.challenge().nonce, now: this.#ctx.now });
  }

  /** Headers to hand upstream for an admitted app (the same names arriving from clients must be removed first). */
  upstreamHeaders(admission: Admission): Record<string, string> {
    return upstreamHeadersOf(admission);
  }

  /** Whether the gateway can decide requests now: a valid license, a reachable store and cache. */
  async ready(): Promise<{ ok: boolean; reason?: string }> {
    try {
      this.#keeper.current();
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
  reloadLicense(): Promise<boolean> {
    return this.#keeper.reload();
  }

  /** Install a license through this engine (same checks as at start) and put it in force at once. */
  installLicense(tokenText: string): Promise<SiteLicense> {
    return this.#keeper.install(tokenText);
  }

  /**
   * Install a revocation update through this engine (same checks as `gateway license install`) and
   * put it in force at once; other replicas have it with their next poll.
   */
  installRevocations(
    tokenText: string,
  ): Promise<{ update: RevocationUpdate; outcome: 'installed' | 'already_installed' }> {
    return this.#keeper.installRevocations(tokenText);
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
    await this.#recorder.writeAnonymousCounts();
    await this.#tick();
    if (this.#ownsCache) await this.cache.close();
  }

  /** Move usage counts and the time high-water mark to the store now (they go every few seconds, and at close). */
  async flushUsage(): Promise<void> {
    await this.#keeper.pendingAudit;
    await this.#recorder.usage.flush(this.store);
    await this.#keeper.persistClock();
  }

  /** The time high-water mark, in epoch seconds. */
  get highWater(): number {
    return this.#keeper.highWater;
  }

  async #tick(): Promise<void> {
    try {
      await this.flushUsage();
      this.metrics.clockHighWater.set(this.#keeper.highWater);
    } catch (e) {
      this.logger.error(
        { reason: e instanceof Error ? e.message : String(e) },
        'usage counts not written (kept for the next try)',
      );
    }
    this.#keeper.lapseTick();
  }
}

/** Create an admission engine; see {@link Gateway.create}. */
export function createGateway(options: GatewayOptions): Promise<Gateway> {
  return Gateway.create(options);
}
