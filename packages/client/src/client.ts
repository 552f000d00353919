/**
 * The Charter client: challenge → register → token, then DPoP-signed requests. One instance per
 * (gateway, charter) pair; it is safe to call concurrently (registration and token refresh are
 * single-flight).
 */

import { type AttestationProvider, attestationBinding } from './attestation.ts';
import { CharterError, type ErrorCode, PLATFORMS, type Platform } from './core.ts';
import { createDpopProof } from './dpop.ts';
import { base64url, utf8 } from './encoding.ts';
import { type InstanceAlg, jwkThumbprint, type ProofSigner } from './keys.ts';
import {
  type Endpoint,
  errorFromResponse,
  interpretResponse,
  isUseDpopNonce,
  MAX_RESPONSE_BYTES,
  readBodyText,
  validNonce,
} from './response.ts';
import { sha256 } from './sha256.ts';
import { type InstanceKeySource, type InstanceRecord, type KeyStore, keySourceFromStore } from './store.ts';

/** The fetch signature the client needs (the global `fetch` fits). */
export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** How to reach a gateway and who this app is. */
export interface CharterClientOptions {
  /** The gateway's public URL, e.g. `https://api.hospital-a.example/`; `charter/v1/…` is resolved against it. */
  baseUrl: string | URL;
  /** The app's charter: the compact JWS of its `.charter` file. */
  charter: string;
  /** The platform to register as; one of the charter's platforms. */
  platform: Platform;
  /** Where the WebCrypto instance key lives; required unless the attestation provider owns the key. */
  keyStore?: KeyStore;
  /** Algorithm of a newly generated WebCrypto instance key; default ES256. */
  keyAlgorithm?: InstanceAlg;
  /** Platform attestation (Android, iOS); none on web and server. */
  attestationProvider?: AttestationProvider;
  /** The fetch to use; default the global one. */
  fetch?: FetchLike;
  /** Milliseconds since the epoch; default `Date.now`. Injected by tests. */
  clock?: () => number;
  /** Timeout of each challenge/register/token call, in ms; default 15000. */
  timeoutMs?: number;
  /** Fraction of `expires_in` after which a token is renewed; default 0.8. */
  refreshRatio?: number;
  /**
   * The vendor's online attester, for a site whose license requires it (docs/vendor-attester.md):
   * before registering, the client sends its evidence there and registers with the token.
   */
  attester?: VendorAttesterOptions;
}

/** Where the vendor attester is and which site the token is for. */
export interface VendorAttesterOptions {
  /** The attester's base URL (`/attester/v1/…` is resolved under it). */
  url: string | URL;
  /** The site id of the gateway's license. */
  siteId: string;
  /** Attempts per call when the attester cannot be reached or is busy (5xx, 429); default 3. */
  attempts?: number;
  /** Milliseconds before the first retry, doubling; default 250. */
  retryDelayMs?: number;
}

/** The access token the client holds, with its timing in clock milliseconds. */
export interface AccessTokenState {
  access_token: string;
  scope: string;
  /** When the client renews it (refreshRatio of the lifetime). */
  refresh_at: number;
  /** When the gateway stops accepting it. */
  expires_at: number;
}

/** The user's own credential from the customer's identity provider, sent beside the Charter token. */
export interface UserToken {
  /** `DPoP` for a token bound to this instance's key (one proof then serves both), else `Bearer`. */
  scheme: 'DPoP' | 'Bearer';
  token: string;
}

/** Where the client gets the user's current token (a sign-in session); undefined: no user. */
export type UserTokenSource = () => Promise<UserToken | undefined>;

/** A Client Attestation JWT from the gateway, for the customer's OAuth server. */
export interface ClientAttestationState {
  client_attestation: string;
  /** The app's client id at the OAuth server (the attestation's `sub`). */
  client_id: string;
  /** Clock milliseconds after which a new one is fetched. */
  refresh_at: number;
}

/** Codes after which a protected response means the instance itself is refused, not one request. */
const INSTANCE_FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'instance_revoked',
  'charter_revoked',
  'charter_expired',
  'invalid_charter',
  'app_not_admitted',
  'platform_mismatch',
  'attestation_required',
  'invalid_attestation',
]);

const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function optionsError(reason: string): CharterError {
  return new CharterError('invalid_request', 'ERR_CLIENT_OPTIONS', reason);
}

interface Sent {
  status: number;
  headers: Headers;
  text: string;
}

/** A client of one Charter gateway. */
export class CharterClient {
  /** The gateway base URL, normalised to end with `/`. */
  readonly baseUrl: URL;
  readonly #charter: string;
  readonly #platform: Platform;
  readonly #keys: InstanceKeySource;
  readonly #provider: AttestationProvider | undefined;
  readonly #fetch: FetchLike;
  readonly #clock: () => number;
  readonly #timeoutMs: number;
  readonly #refreshRatio: number;

  #charterHash: Promise<string> | undefined;
  #signer: ProofSigner | undefined;
  #record: InstanceRecord | undefined;
  #token: AccessTokenState | undefined;
  #dpopNonce: string | undefined;
  #registering: Promise<InstanceRecord> | undefined;
  #refreshing: Promise<AccessTokenState> | undefined;
  #user: UserTokenSource | undefined;
  #attestation: ClientAttestationState | undefined;
  #attester: (Required<Omit<VendorAttesterOptions, 'url'>> & { url: string }) | undefined;
  /** Bumped by register/reset so an in-flight token for an older instance is not kept. */
  #epoch = 0;

  /** Check the options (throws `invalid_request`, `ERR_CLIENT_OPTIONS`); no network or storage yet. */
  constructor(options: CharterClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw optionsError('baseUrl is not an absolute URL');
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:')
      throw optionsError('baseUrl must be http(s)');
    if (base.search || base.hash || base.username || base.password)
      throw optionsError('baseUrl must not carry a query, fragment or credentials');
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.baseUrl = base;
    const charter = typeof options.charter === 'string' ? options.charter.trim() : '';
    if (!JWS.test(charter)) throw optionsError('charter must be the compact JWS of a .charter file');
    this.#charter = charter;
    if (!PLATFORMS.includes(options.platform))
      throw optionsError(`platform must be one of ${PLATFORMS.join(', ')}`);
    this.#platform = options.platform;
    const provider = options.attestationProvider;
    if (provider && provider.platform !== options.platform)
      throw optionsError('the attestation provider is for another platform');
    this.#provider = provider;
    if (provider?.keys) this.#keys = provider.keys;
    else if (options.keyStore)
      this.#keys = keySourceFromStore(options.keyStore, options.keyAlgorithm ?? 'ES256');
    else throw optionsError('a keyStore is required (or an attestation provider that owns the key)');
    // Call through globalThis: browsers throw "Illegal invocation" on a detached `fetch`.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#clock = options.clock ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    const ratio = options.refreshRatio ?? 0.8;
    if (!(ratio > 0 && ratio <= 1)) throw optionsError('refreshRatio must be in (0, 1]');
    this.#refreshRatio = ratio;
    if (options.attester) {
      let url: URL;
      try {
        url = new URL(options.attester.url);
      } catch {
        throw optionsError('attester.url is not an absolute URL');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw optionsError('attester.url must be http(s)');
      if (!/^[A-Za-z0-9._:~-]{1,128}$/.test(options.attester.siteId))
        throw optionsError('attester.siteId is not an id');
      this.#attester = {
        url: url.href.replace(/\/+$/, ''),
        siteId: options.attester.siteId,
        attempts: Math.min(Math.max(options.attester.attempts ?? 3, 1), 10),
        retryDelayMs: Math.max(options.attester.retryDelayMs ?? 250, 0),
      };
    }
  }

  /** The current registration, once known. */
  get instance(): InstanceRecord | undefined {
    return this.#record;
  }

  /**
   * Send the user's token (from the customer's identity provider) with every {@link CharterClient.fetch}:
   * the Charter token then travels in `Charter-Token`, the user's in `Authorization`, and one DPoP
   * proof serves both when the user token is DPoP-bound to the instance key. `undefined` stops it.
   */
  useUserToken(source: UserTokenSource | undefined): void {
    this.#user = source;
  }

  /** The instance key's signer (registering first if needed): for proofs to the customer's OAuth server. */
  async instanceSigner(): Promise<ProofSigner> {
    await this.ensureRegistered();
    return this.#currentSigner();
  }

  /**
   * A Client Attestation JWT for the customer's OAuth server (draft-ietf-oauth-attestation-based-
   * client-auth), from the gateway's `client-attestation` endpoint; cached for most of its life.
   */
  async clientAttestation(): Promise<ClientAttestationState> {
    const cached = this.#attestation;
    if (cached && this.#clock() < cached.refresh_at) return cached;
    const url = this.#endpoint('client-attestation');
    let tokenRetried = false;
    for (;;) {
      const token = await this.accessToken();
      const proof = await this.#proof(
        this.#currentSigner(),
        'POST',
        url,
        this.#dpopNonce,
        token.access_token,
      );
      const sentAt = this.#clock();
      const sent = await this.#post('client-attestation', url, {}, proof, `DPoP ${token.access_token}`);
      if (sent.status === 401 && !tokenRetried) {
        const error = errorFromResponse(sent.status, sent.headers, sent.text);
        if (error.code === 'invalid_token' || error.code === 'use_dpop_nonce') {
          tokenRetried = true;
          if (error.code === 'invalid_token') this.#token = undefined;
          continue;
        }
      }
      if (sent.status !== 200) {
        const error = errorFromResponse(sent.status, sent.headers, sent.text);
        this.#onFatal(error);
        throw error;
      }
      let body: { client_attestation?: unknown; client_id?: unknown; expires_in?: unknown };
      try {
        body = JSON.parse(sent.text);
      } catch {
        body = {};
      }
      const { client_attestation, client_id, expires_in } = body;
      if (
        typeof client_attestation !== 'string' ||
        !JWS.test(client_attestation) ||
        typeof client_id !== 'string' ||
        typeof expires_in !== 'number' ||
        !(expires_in > 0)
      )
        throw new CharterError(
          'unavailable',
          'ERR_CLIENT_BAD_RESPONSE',
          'unexpected gateway response: client attestation',
        );
      this.#attestation = {
        client_attestation,
        client_id,
        refresh_at: sentAt + expires_in * 1000 * this.#refreshRatio,
      };
      return this.#attestation;
    }
  }

  /** The latest `DPoP-Nonce` the gateway sent, if any. */
  get dpopNonce(): string | undefined {
    return this.#dpopNonce;
  }

  /** The registration, loading it from the key store or registering as needed. */
  ensureRegistered(): Promise<InstanceRecord> {
    if (this.#record && this.#signer) return Promise.resolve(this.#record);
    return this.#singleRegistration(async () => {
      const loaded = await this.#keys.load();
      if (loaded?.record && (await this.#recordFits(loaded.record, loaded.signer))) {
        this.#signer = loaded.signer;
        this.#record = loaded.record;
        return loaded.record;
      }
      return this.#register();
    });
  }

  /**
   * Register now, even if a registration exists (after a new charter is installed, or when the gateway
   * lost its records). Keeps the instance key unless the key source needs a new one per registration.
   */
  register(): Promise<InstanceRecord> {
    return this.#singleRegistration(() => this.#register());
  }

  /** A valid access token, renewed when past its refresh point. */
  async accessToken(): Promise<AccessTokenState> {
    const now = this.#clock();
    const current = this.#token;
    if (current && now < current.refresh_at) return current;
    if (current && now < current.expires_at) {
      try {
        return await this.#refresh();
      } catch (e) {
        // Early renewal is an optimisation: while the gateway is unreachable the old token still works.
        if (e instanceof CharterError && e.code === 'unavailable') return current;
        throw e;
      }
    }
    return this.#refresh();
  }

  /**
   * Headers for one protected request over a transport other than {@link CharterClient.fetch}
   * (XHR, WebSocket upgrade, another HTTP library). The caller handles retries.
   */
  async authorize(method: string, url: string | URL): Promise<{ authorization: string; dpop: string }> {
    const target = this.#resolve(url);
    const token = await this.accessToken();
    const dpop = await this.#proof(
      this.#currentSigner(),
      method,
      target,
      this.#dpopNonce,
      token.access_token,
    );
    return { authorization: `DPoP ${token.access_token}`, dpop };
  }

  /**
   * `fetch` through the gateway: adds `Authorization: DPoP …` and a fresh proof bound to the token,
   * retries once on `use_dpop_nonce` and once on `invalid_token` (with a new token). Relative URLs
   * resolve against baseUrl; other origins are refused so the token never leaves the gateway.
   *
   * Throws CharterError when the gateway refuses the instance (a 401 after the retries, or a 403 such
   * as `instance_revoked` or `charter_expired`) or cannot be reached (`unavailable`). Per-request
   * answers (`insufficient_scope`, `rate_limited`, anything from the upstream API) come back as the
   * Response, as with fetch.
   */
  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let original: Request;
    if (input instanceof Request) {
      this.#checkOrigin(new URL(input.url));
      original = new Request(input, init);
    } else {
      original = new Request(this.#resolve(input), init);
    }
    let nonceRetried = false;
    let tokenRetried = false;
    for (;;) {
      const token = await this.accessToken();
      const user = await this.#user?.();
      const headers = new Headers(original.headers);
      let proof: string;
      if (user) {
        // Both identities: the user's token where the API expects it, the app's beside it.
        const shared = user.scheme === 'DPoP';
        proof = await createDpopProof(this.#currentSigner(), {
          method: original.method,
          url: original.url,
          iat: Math.floor(this.#clock() / 1000),
          ...(this.#dpopNonce !== undefined && { nonce: this.#dpopNonce }),
          accessToken: shared ? user.token : token.access_token,
          ...(shared && { charterToken: token.access_token }),
        });
        headers.set('authorization', `${user.scheme} ${user.token}`);
        headers.set('charter-token', token.access_token);
      } else {
        proof = await this.#proof(
          this.#currentSigner(),
          original.method,
          original.url,
          this.#dpopNonce,
          token.access_token,
        );
        headers.set('authorization', `DPoP ${token.access_token}`);
      }
      headers.set('dpop', proof);
      let response: Response;
      try {
        response = await this.#fetch(new Request(original.clone(), { headers }));
      } catch (cause) {
        if (original.signal.aborted) throw cause; // the caller's own abort: theirs to handle
        throw new CharterError('unavailable', 'ERR_CLIENT_NETWORK', `cannot reach ${original.url}`, {
          cause,
        });
      }
      const freshNonce = this.#remember(response.headers);
      const challenge = response.headers.get('www-authenticate') ?? '';
      // With a user token the API's own 401s say DPoP too: only the gateway marks its refusals.
      const gatewayMarked = !user || response.headers.has('charter-refusal');
      const fromGateway = response.status === 401 && gatewayMarked && /^\s*dpop\b/i.test(challenge);
      if (response.status === 400 || response.status === 401) {
        const text = await this.#peek(response);
        if (
          !nonceRetried &&
          freshNonce &&
          gatewayMarked &&
          isUseDpopNonce(response.status, response.headers, text)
        ) {
          nonceRetried = true;
          await response.body?.cancel().catch(() => undefined);
          continue;
        }
        if (fromGateway) {
          const error = errorFromResponse(response.status, response.headers, text ?? '');
          if (error.code === 'invalid_token' && !tokenRetried) {
            tokenRetried = true;
            if (this.#token?.access_token === token.access_token) this.#token = undefined;
            await response.body?.cancel().catch(() => undefined);
            continue;
          }
          this.#onFatal(error);
          throw error;
        }
      }
      if (response.status === 403) {
        const text = await this.#peek(response);
        const error = text === undefined ? undefined : errorFromResponse(403, response.headers, text);
        if (gatewayMarked && error?.detail === 'ERR_SERVER' && INSTANCE_FATAL.has(error.code)) {
          this.#onFatal(error);
          throw error;
        }
      }
      return response;
    }
  }

  /** Forget the token, the registration and the instance key (the next call registers a new instance). */
  async reset(): Promise<void> {
    this.#epoch++;
    this.#token = undefined;
    this.#attestation = undefined;
    this.#record = undefined;
    this.#signer = undefined;
    await this.#keys.clear();
  }

  // ---- internals -------------------------------------------------------------------------------

  #currentSigner(): ProofSigner {
    // Only a reset() racing with a request gets here without a signer.
    if (!this.#signer)
      throw new CharterError(
        'invalid_request',
        'ERR_CLIENT_RESET',
        'the client was reset during the request',
      );
    return this.#signer;
  }

  #singleRegistration(run: () => Promise<InstanceRecord>): Promise<InstanceRecord> {
    if (!this.#registering) {
      this.#registering = run().finally(() => {
        this.#registering = undefined;
      });
    }
    return this.#registering;
  }

  async #recordFits(record: InstanceRecord, signer: ProofSigner): Promise<boolean> {
    return (
      record.gateway === this.baseUrl.href &&
      record.platform === this.#platform &&
      record.charter_sha256 === (await this.#charterSha256()) &&
      record.jkt === (await jwkThumbprint(signer.jwk))
    );
  }

  #charterSha256(): Promise<string> {
    this.#charterHash ??= sha256(utf8(this.#charter)).then(base64url);
    return this.#charterHash;
  }

  async #register(): Promise<InstanceRecord> {
    this.#epoch++;
    this.#token = undefined;
    const url = this.#endpoint('register');
    if (this.#attester) return this.#registerWithAttester(url, this.#attester);
    try {
      return await this.#registerOnDevice(url);
    } catch (e) {
      // A site whose license requires the vendor attester says so in /.well-known/charter (the
      // vendor-signed source and URL): registration then goes through the attester, once.
      if (!(e instanceof CharterError) || e.code !== 'attestation_required') throw e;
      const discovered = await this.#discoverAttester();
      if (!discovered) throw e;
      this.#attester = discovered;
      return this.#registerWithAttester(url, discovered);
    }
  }

  /** The attester the gateway's well-known document names, if any. */
  async #discoverAttester(): Promise<
    (Required<Omit<VendorAttesterOptions, 'url'>> & { url: string }) | undefined
  > {
    try {
      const r = await this.#fetch(new URL('.well-known/charter', this.baseUrl), {
        headers: { accept: 'application/json' },
      });
      if (r.status !== 200) return undefined;
      const o = JSON.parse(await readBodyText(r, MAX_RESPONSE_BYTES)) as {
        site_id?: unknown;
        attestation?: { source?: unknown; attester_url?: unknown };
      };
      const url = o.attestation?.attester_url;
      if (typeof url !== 'string' || !/^https?:\/\//.test(url) || typeof o.site_id !== 'string')
        return undefined;
      if (!/^[A-Za-z0-9._:~-]{1,128}$/.test(o.site_id)) return undefined;
      return { url: url.replace(/\/+$/, ''), siteId: o.site_id, attempts: 3, retryDelayMs: 250 };
    } catch {
      return undefined;
    }
  }

  async #registerOnDevice(url: URL): Promise<InstanceRecord> {
    let nonce = (await this.#challenge()).nonce;
    const existing = this.#keys.newKeyPerRegistration ? undefined : await this.#keys.load();
    let signer = existing?.signer ?? (await this.#keys.create({ nonce }));
    for (let attempt = 0; ; attempt++) {
      const jkt = await jwkThumbprint(signer.jwk);
      const attestation = await this.#attest(nonce, jkt);
      const body = {
        charter: this.#charter,
        platform: this.#platform,
        ...(attestation !== undefined && { attestation }),
      };
      const proof = await this.#proof(signer, 'POST', url, nonce);
      const sent = await this.#post('register', url, body, proof);
      if (attempt === 0 && isUseDpopNonce(sent.status, sent.headers, sent.text)) {
        // The challenge nonce was spent or expired: take the one offered, else ask for a new one.
        nonce = validNonce(sent.headers.get('dpop-nonce')) ?? (await this.#challenge()).nonce;
        if (this.#keys.newKeyPerRegistration) signer = await this.#keys.create({ nonce });
        continue;
      }
      return this.#keepRegistration(
        interpretResponse('register', sent.status, sent.headers, sent.text),
        jkt,
        signer,
      );
    }
  }

  /** Keep a registration the gateway answered: the record beside the key, and both in use from now. */
  async #keepRegistration(
    answer: { instance_id: string; app_id: string; scopes: string[] },
    jkt: string,
    signer: ProofSigner,
  ): Promise<InstanceRecord> {
    const record: InstanceRecord = {
      instance_id: answer.instance_id,
      app_id: answer.app_id,
      scopes: answer.scopes,
      jkt,
      gateway: this.baseUrl.href,
      charter_sha256: await this.#charterSha256(),
      platform: this.#platform,
    };
    await this.#keys.saveRecord(record);
    this.#signer = signer;
    this.#record = record;
    return record;
  }

  /**
   * Registration through the vendor attester: its challenge, a key made (Android) for that challenge,
   * the platform evidence bound to it, the attester token, then the gateway's challenge and the
   * registration carrying the token instead of the evidence.
   */
  async #registerWithAttester(
    url: URL,
    a: Required<Omit<VendorAttesterOptions, 'url'>> & { url: string },
  ): Promise<InstanceRecord> {
    const challengeUrl = new URL(`${a.url}/attester/v1/challenge`);
    const attestUrl = new URL(`${a.url}/attester/v1/attest`);
    const challenge = asAttesterAnswer(await this.#callAttester(challengeUrl, a, {}), 'nonce');
    const attesterNonce = challenge.nonce as string;
    const existing = this.#keys.newKeyPerRegistration ? undefined : await this.#keys.load();
    const signer = existing?.signer ?? (await this.#keys.create({ nonce: attesterNonce }));
    const jkt = await jwkThumbprint(signer.jwk);
    const attestation = await this.#attest(attesterNonce, jkt);
    const proof = await this.#proof(signer, 'POST', attestUrl, attesterNonce);
    const answer = asAttesterAnswer(
      await this.#callAttester(
        attestUrl,
        a,
        {
          charter: this.#charter,
          site_id: a.siteId,
          platform: this.#platform,
          ...(attestation !== undefined && { attestation }),
        },
        proof,
      ),
      'attester_token',
    );
    const attesterToken = answer.attester_token as string;
    let nonce = (await this.#challenge()).nonce;
    for (let attempt = 0; ; attempt++) {
      const body = { charter: this.#charter, platform: this.#platform, attester_token: attesterToken };
      const sent = await this.#post('register', url, body, await this.#proof(signer, 'POST', url, nonce));
      if (attempt === 0 && isUseDpopNonce(sent.status, sent.headers, sent.text)) {
        // The nonce is checked before the token is spent, so the same token may go again.
        nonce = validNonce(sent.headers.get('dpop-nonce')) ?? (await this.#challenge()).nonce;
        continue;
      }
      return this.#keepRegistration(
        interpretResponse('register', sent.status, sent.headers, sent.text),
        jkt,
        signer,
      );
    }
  }

  /**
   * One call to the vendor attester, retried (with a doubling delay) while it cannot be reached or
   * answers 5xx or 429. Its refusals keep their catalogue code; an unreachable attester is
   * `unavailable` with ERR_CLIENT_ATTESTER_UNREACHABLE.
   */
  async #callAttester(
    url: URL,
    a: { attempts: number; retryDelayMs: number },
    body: unknown,
    proof?: string,
  ): Promise<Record<string, unknown>> {
    let last = 'no answer';
    for (let attempt = 1; attempt <= a.attempts; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, a.retryDelayMs * 2 ** (attempt - 2)));
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
      let response: Response;
      let text: string;
      try {
        response = await this.#fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(proof !== undefined && { dpop: proof }),
          },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
        text = await readBodyText(response, MAX_RESPONSE_BYTES);
      } catch {
        last = controller.signal.aborted ? `timed out after ${this.#timeoutMs} ms` : 'network error';
        continue;
      } finally {
        clearTimeout(timer);
      }
      if (response.status >= 500 || response.status === 429) {
        last = `HTTP ${response.status}`;
        continue;
      }
      if (response.status < 200 || response.status > 299) {
        const e = errorFromResponse(response.status, response.headers, text);
        throw new CharterError(
          e.code,
          'ERR_CLIENT_ATTESTER_REFUSED',
          `the vendor attester refused: ${e.message}`,
          {
            cause: e,
          },
        );
      }
      try {
        const o = JSON.parse(text) as unknown;
        if (typeof o === 'object' && o !== null && !Array.isArray(o)) return o as Record<string, unknown>;
      } catch {
        // fall through
      }
      throw new CharterError(
        'unavailable',
        'ERR_CLIENT_ATTESTER_RESPONSE',
        'unexpected vendor attester response',
      );
    }
    throw new CharterError(
      'unavailable',
      'ERR_CLIENT_ATTESTER_UNREACHABLE',
      `cannot reach the vendor attester at ${url.origin} after ${a.attempts} attempt(s) (${last})`,
    );
  }

  async #attest(nonce: string, jkt: string): Promise<object | undefined> {
    if (!this.#provider) return undefined;
    const binding = await attestationBinding(nonce, jkt);
    return this.#callProvider('attestation', () => this.#provider!.attest(binding, { nonce, jkt }));
  }

  async #callProvider<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      if (cause instanceof CharterError) throw cause;
      throw new CharterError('invalid_attestation', 'ERR_CLIENT_ATTESTATION', `the platform ${what} failed`, {
        cause,
      });
    }
  }

  #refresh(): Promise<AccessTokenState> {
    if (!this.#refreshing) {
      this.#refreshing = (async () => {
        await this.ensureRegistered();
        // Taken after registration (which bumps it): only a register/reset during the token call discards it.
        const epoch = this.#epoch;
        try {
          const token = await this.#requestToken();
          if (epoch === this.#epoch) this.#token = token;
          return token;
        } catch (e) {
          if (e instanceof CharterError) this.#onFatal(e);
          throw e;
        }
      })().finally(() => {
        this.#refreshing = undefined;
      });
    }
    return this.#refreshing;
  }

  async #requestToken(): Promise<AccessTokenState> {
    const record = await this.ensureRegistered();
    const signer = this.#currentSigner();
    const url = this.#endpoint('token');
    const assert = this.#provider?.assert?.bind(this.#provider);
    const jkt = record.jkt;
    // An App Attest assertion needs a fresh challenge nonce, which the proof then carries too.
    let nonce = assert ? (await this.#challenge()).nonce : this.#dpopNonce;
    for (let attempt = 0; ; attempt++) {
      let assertion: string | undefined;
      if (assert && nonce !== undefined) {
        const binding = await attestationBinding(nonce, jkt);
        const n = nonce;
        assertion = await this.#callProvider('assertion', () => assert(binding, { nonce: n, jkt }));
      }
      const body = { instance_id: record.instance_id, ...(assertion !== undefined && { assertion }) };
      const proof = await this.#proof(signer, 'POST', url, nonce);
      const sentAt = this.#clock();
      const sent = await this.#post('token', url, body, proof);
      if (attempt === 0 && isUseDpopNonce(sent.status, sent.headers, sent.text)) {
        const offered = validNonce(sent.headers.get('dpop-nonce'));
        nonce = offered ?? (assert ? (await this.#challenge()).nonce : undefined);
        if (nonce !== undefined) continue;
      }
      const answer = interpretResponse('token', sent.status, sent.headers, sent.text);
      // Timed from when the request left, so a slow answer errs toward renewing early.
      const lifetime = answer.expires_in * 1000;
      return {
        access_token: answer.access_token,
        scope: answer.scope,
        refresh_at: sentAt + lifetime * this.#refreshRatio,
        expires_at: sentAt + lifetime,
      };
    }
  }

  #onFatal(error: CharterError): void {
    // The token is worthless now; the registration stays, so the app can show why (and reset() if it wants).
    if (INSTANCE_FATAL.has(error.code) || error.code === 'invalid_token') {
      this.#token = undefined;
      this.#attestation = undefined;
    }
  }

  async #challenge(): Promise<{ nonce: string; expires_in: number }> {
    const url = this.#endpoint('challenge');
    const sent = await this.#post('challenge', url, {}, undefined);
    return interpretResponse('challenge', sent.status, sent.headers, sent.text);
  }

  #endpoint(name: Endpoint | 'client-attestation'): URL {
    return new URL(`charter/v1/${name}`, this.baseUrl);
  }

  #proof(
    signer: ProofSigner,
    method: string,
    url: string | URL,
    nonce: string | undefined,
    accessToken?: string,
  ): Promise<string> {
    return createDpopProof(signer, {
      method,
      url,
      iat: Math.floor(this.#clock() / 1000),
      ...(nonce !== undefined && { nonce }),
      ...(accessToken !== undefined && { accessToken }),
    });
  }

  /** Remember the gateway's latest DPoP-Nonce; returns it when this response carried a valid one. */
  #remember(headers: Headers): string | undefined {
    const nonce = validNonce(headers.get('dpop-nonce'));
    if (nonce !== undefined) this.#dpopNonce = nonce;
    return nonce;
  }

  /** The body of a possibly-Charter error response, read from a clone; undefined when not JSON or too big. */
  async #peek(response: Response): Promise<string | undefined> {
    if (!/json/i.test(response.headers.get('content-type') ?? '')) return undefined;
    try {
      return await readBodyText(response.clone(), MAX_RESPONSE_BYTES);
    } catch {
      return undefined;
    }
  }

  async #post(
    what: Endpoint | 'client-attestation',
    url: URL,
    body: unknown,
    proof: string | undefined,
    authorization?: string,
  ): Promise<Sent> {
    const controller = new AbortController();
    // setTimeout rather than AbortSignal.timeout: React Native lacks the latter.
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json',
      };
      if (proof !== undefined) headers.dpop = proof;
      if (authorization !== undefined) headers.authorization = authorization;
      const response = await this.#fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      this.#remember(response.headers);
      const text = await readBodyText(response);
      return { status: response.status, headers: response.headers, text };
    } catch (cause) {
      if (cause instanceof CharterError && !controller.signal.aborted) throw cause;
      if (controller.signal.aborted) {
        throw new CharterError(
          'unavailable',
          'ERR_CLIENT_TIMEOUT',
          `${what} timed out after ${this.#timeoutMs} ms`,
          { cause },
        );
      }
      throw new CharterError('unavailable', 'ERR_CLIENT_NETWORK', `cannot reach the gateway for ${what}`, {
        cause,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  #resolve(input: string | URL): URL {
    let url: URL;
    try {
      url = new URL(input, this.baseUrl);
    } catch (cause) {
      throw new CharterError('invalid_request', 'ERR_CLIENT_URL', 'the request URL is not valid', { cause });
    }
    this.#checkOrigin(url);
    return url;
  }

  #checkOrigin(url: URL): void {
    if (url.origin !== this.baseUrl.origin) {
      throw new CharterError(
        'invalid_request',
        'ERR_CLIENT_CROSS_ORIGIN',
        `refusing to send the gateway token to ${url.origin}`,
      );
    }
  }
}

/** Create a {@link CharterClient}. */
export function createCharterClient(options: CharterClientOptions): CharterClient {
  return new CharterClient(options);
}

/** The member `name` of an attester answer, checked to be a non-empty string. */
function asAttesterAnswer(o: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = o[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > 65536)
    throw new CharterError(
      'unavailable',
      'ERR_CLIENT_ATTESTER_RESPONSE',
      `the vendor attester answer has no ${name}`,
    );
  return o;
}
