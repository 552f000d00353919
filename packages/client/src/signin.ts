/**
 * The user's sign-in with the customer's own identity provider, through an app Charter admitted:
 * authorization code with PKCE (RFC 7636), user tokens DPoP-bound to the instance key (RFC 9449), and
 * the app authenticated at the token endpoint by the gateway's Client Attestation
 * (draft-ietf-oauth-attestation-based-client-auth, `attest_jwt_client_auth`) — so the OAuth server
 * gives user tokens only to instances Charter admitted. The session then hands its token to the
 * {@link CharterClient}, whose fetch carries both identities.
 */
import type { CharterClient, FetchLike, UserToken } from './client.ts';
import { CharterError } from './core.ts';
import { createDpopProof } from './dpop.ts';
import { base64url, jsonSegment, utf8 } from './encoding.ts';
import { jwkThumbprint, type ProofSigner, publicJwkOf } from './keys.ts';
import { readBodyText } from './response.ts';
import { sha256 } from './sha256.ts';

/** How to reach the customer's OAuth server and what to ask it for. */
export interface SignInOptions {
  /** The admitted app's Charter client (it holds the instance key and asks the gateway for attestations). */
  charter: CharterClient;
  /** The OAuth server's issuer; its metadata is read from `/.well-known/openid-configuration` (or `oauth-authorization-server`). */
  issuer: string | URL;
  redirectUri: string;
  scope: string;
  /** RFC 8707 resource indicator of the API, when the OAuth server needs one. */
  resource?: string;
  fetch?: FetchLike;
  /** Milliseconds since the epoch; default `Date.now`. */
  clock?: () => number;
}

/** A sign-in in progress: where to send the user, and what {@link SignInSession.complete} checks. */
export interface PendingSignIn {
  url: URL;
  state: string;
  codeVerifier: string;
}

/** The user's tokens. */
export interface UserTokens {
  access_token: string;
  token_type: 'DPoP' | 'Bearer';
  expires_at: number | undefined;
  scope: string | undefined;
  id_token: string | undefined;
  refresh_token: string | undefined;
}

interface Metadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  challenge_endpoint?: string;
}

function signInError(
  detail: string,
  reason: string,
  code: 'invalid_request' | 'unavailable' = 'invalid_request',
) {
  return new CharterError(code, detail, reason);
}

function random(bytes = 32): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  return base64url(b);
}

/** Sign a compact JWT with the instance key (the attestation PoP). */
async function signJwt(
  signer: ProofSigner,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
) {
  const input = `${jsonSegment({ ...header, alg: signer.alg })}.${jsonSegment(payload)}`;
  return `${input}.${base64url(await signer.sign(utf8(input)))}`;
}

/** One user's session at the customer's OAuth server, through a Charter-admitted app. */
export class SignInSession {
  readonly #o: SignInOptions;
  readonly #fetch: FetchLike;
  readonly #clock: () => number;
  #meta: Metadata | undefined;
  #tokens: UserTokens | undefined;
  #dpopNonce: string | undefined;

  constructor(options: SignInOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#clock = options.clock ?? Date.now;
  }

  /** The user's tokens, once signed in. */
  get tokens(): UserTokens | undefined {
    return this.#tokens;
  }

  /** The authorization URL to open in the user's browser, with PKCE and `dpop_jkt` (the instance key). */
  async begin(): Promise<PendingSignIn> {
    const meta = await this.#metadata();
    const attestation = await this.#o.charter.clientAttestation();
    const signer = await this.#o.charter.instanceSigner();
    const codeVerifier = random();
    const state = random();
    const url = new URL(meta.authorization_endpoint);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: attestation.client_id,
      redirect_uri: this.#o.redirectUri,
      scope: this.#o.scope,
      state,
      code_challenge: base64url(await sha256(utf8(codeVerifier))),
      code_challenge_method: 'S256',
      dpop_jkt: await jwkThumbprintOf(signer),
      ...(this.#o.resource !== undefined && { resource: this.#o.resource }),
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return { url, state, codeVerifier };
  }

  /**
   * Finish the sign-in from the URL the OAuth server redirected to: check `state` (and `iss`, RFC
   * 9207, when sent), then exchange the code at the token endpoint with a DPoP proof and the client
   * attestation and its PoP. Refuses with `invalid_request` (and the OAuth error in the reason).
   */
  async complete(callback: string | URL, pending: PendingSignIn): Promise<UserTokens> {
    const meta = await this.#metadata();
    const cb = new URL(callback);
    if (cb.searchParams.get('state') !== pending.state)
      throw signInError('ERR_SIGNIN_STATE', 'the sign-in answer does not match the sign-in started here');
    const iss = cb.searchParams.get('iss');
    if (iss !== null && iss !== meta.issuer)
      throw signInError('ERR_SIGNIN_ISSUER', 'the sign-in answer comes from another issuer');
    const oauthError = cb.searchParams.get('error');
    if (oauthError)
      throw signInError('ERR_SIGNIN_REFUSED', `the identity provider refused: ${oauthError.slice(0, 64)}`);
    const code = cb.searchParams.get('code');
    if (!code) throw signInError('ERR_SIGNIN_CODE', 'the sign-in answer carries no code');

    const signer = await this.#o.charter.instanceSigner();
    let challenge: string | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const attestation = await this.#o.charter.clientAttestation();
      challenge ??= await this.#challenge(meta);
      const now = Math.floor(this.#clock() / 1000);
      const pop = await signJwt(
        signer,
        { typ: 'oauth-client-attestation-pop+jwt' },
        { aud: meta.issuer, jti: random(16), iat: now, ...(challenge !== undefined && { challenge }) },
      );
      const dpop = await createDpopProof(signer, {
        method: 'POST',
        url: meta.token_endpoint,
        iat: now,
        ...(this.#dpopNonce !== undefined && { nonce: this.#dpopNonce }),
      });
      const body = new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: this.#o.redirectUri,
        code_verifier: pending.codeVerifier,
        client_id: attestation.client_id,
        ...(this.#o.resource !== undefined && { resource: this.#o.resource }),
      });
      const res = await this.#call(meta.token_endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          dpop,
          'oauth-client-attestation': attestation.client_attestation,
          'oauth-client-attestation-pop': pop,
        },
        body: body.toString(),
      });
      const nonce = res.headers.get('dpop-nonce');
      if (nonce) this.#dpopNonce = nonce;
      const nextChallenge = res.headers.get('oauth-client-attestation-challenge');
      const text = await readBodyText(res);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text);
      } catch {}
      if (res.status === 200) {
        const tokenType = String(json.token_type ?? '').toLowerCase();
        if (typeof json.access_token !== 'string' || (tokenType !== 'dpop' && tokenType !== 'bearer'))
          throw signInError('ERR_SIGNIN_TOKEN', 'the token response is malformed', 'unavailable');
        const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : undefined;
        this.#tokens = {
          access_token: json.access_token,
          token_type: tokenType === 'dpop' ? 'DPoP' : 'Bearer',
          expires_at: expiresIn === undefined ? undefined : this.#clock() + expiresIn * 1000,
          scope: typeof json.scope === 'string' ? json.scope : undefined,
          id_token: typeof json.id_token === 'string' ? json.id_token : undefined,
          refresh_token: typeof json.refresh_token === 'string' ? json.refresh_token : undefined,
        };
        this.#o.charter.useUserToken(() => Promise.resolve(this.userToken()));
        return this.#tokens;
      }
      const error = typeof json.error === 'string' ? json.error : `status ${res.status}`;
      if (error === 'use_dpop_nonce' && nonce) continue;
      if (error === 'use_attestation_challenge' && nextChallenge) {
        challenge = nextChallenge;
        continue;
      }
      throw signInError(
        'ERR_SIGNIN_TOKEN',
        `the identity provider refused the token request: ${error.slice(0, 64)}`,
      );
    }
    throw signInError('ERR_SIGNIN_TOKEN', 'the identity provider kept asking for a new nonce or challenge');
  }

  /** The user's token for API calls (undefined once expired or signed out). */
  userToken(): UserToken | undefined {
    const t = this.#tokens;
    if (!t || (t.expires_at !== undefined && this.#clock() >= t.expires_at)) return undefined;
    return { scheme: t.token_type, token: t.access_token };
  }

  /** Forget the user's tokens; API calls go on with the app's identity alone. */
  signOut(): void {
    this.#tokens = undefined;
    this.#o.charter.useUserToken(undefined);
  }

  async #challenge(meta: Metadata): Promise<string | undefined> {
    if (!meta.challenge_endpoint) return undefined;
    const res = await this.#call(meta.challenge_endpoint, {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    const text = await readBodyText(res);
    try {
      const v = (JSON.parse(text) as { attestation_challenge?: unknown }).attestation_challenge;
      return typeof v === 'string' ? v : (res.headers.get('oauth-client-attestation-challenge') ?? undefined);
    } catch {
      return res.headers.get('oauth-client-attestation-challenge') ?? undefined;
    }
  }

  async #metadata(): Promise<Metadata> {
    if (this.#meta) return this.#meta;
    const issuer = new URL(this.#o.issuer).href.replace(/\/$/, '');
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const res = await this.#call(issuer + path, { headers: { accept: 'application/json' } });
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        continue;
      }
      const m = JSON.parse(await readBodyText(res)) as Partial<Metadata>;
      if (
        m.issuer !== issuer ||
        typeof m.authorization_endpoint !== 'string' ||
        typeof m.token_endpoint !== 'string'
      )
        throw signInError(
          'ERR_SIGNIN_METADATA',
          'the identity provider metadata does not match its issuer',
          'unavailable',
        );
      this.#meta = m as Metadata;
      return this.#meta;
    }
    throw signInError('ERR_SIGNIN_METADATA', 'the identity provider publishes no metadata', 'unavailable');
  }

  async #call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(url, init);
    } catch (cause) {
      throw new CharterError('unavailable', 'ERR_CLIENT_NETWORK', 'cannot reach the identity provider', {
        cause,
      });
    }
  }
}

function jwkThumbprintOf(signer: ProofSigner): Promise<string> {
  return jwkThumbprint(publicJwkOf(signer.jwk));
}

/** Create a {@link SignInSession}. */
export function createSignIn(options: SignInOptions): SignInSession {
  return new SignInSession(options);
}
