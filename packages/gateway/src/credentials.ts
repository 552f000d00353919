/**
 * Which credential on a request is the app's and which is the user's. Two forms:
 *
 * - **single** (SPEC §3, unchanged): `Authorization: DPoP <charter token>` and `DPoP: <proof, ath of it>`.
 *   Both are Charter's and never reach the upstream.
 * - **dual**, announced by `Charter-Token: <charter token>`: `Authorization` then belongs to the user
 *   (a Bearer or DPoP token from the customer's identity provider) and reaches the upstream as sent.
 *   The Charter token's proof is `Charter-DPoP` when present; otherwise it is the one `DPoP` header,
 *   which then serves both tokens when the user's token is DPoP-bound to the instance key: its `ath` is
 *   the user token's (so the upstream checks it per RFC 9449) and its `charter_ath` the Charter
 *   token's (so the gateway's binding is as strong as in the single form).
 */
import { CharterError } from '@charter/core';
import { MAX_TOKEN_CHARS, parseAuthorization } from './authorization.ts';
import { sha256B64url } from './hash.ts';
import { type CharterRequest, headerOf } from './request.ts';

/** The header carrying the app's Charter access token when `Authorization` is the user's. */
export const CHARTER_TOKEN_HEADER = 'charter-token';
/** The Charter token's own proof, for when the request's `DPoP` belongs to a user token bound to another key. */
export const CHARTER_DPOP_HEADER = 'charter-dpop';
/** The proof claim that binds a shared proof to the Charter token (the `ath` of the dual form). */
export const CHARTER_ATH_CLAIM = 'charter_ath';

/**
 * Request headers a Charter client sends to a gateway, lowercase: what a CORS policy in front of (or
 * inside) the gateway must list in `Access-Control-Allow-Headers`. The client attestation headers
 * are not here: they go to the customer's OAuth server, not the gateway.
 */
export const CHARTER_REQUEST_HEADERS: readonly string[] = [
  'authorization',
  'dpop',
  CHARTER_TOKEN_HEADER,
  CHARTER_DPOP_HEADER,
];

/**
 * The response header on every refusal the engine answers (value: the error code). In the dual form
 * the API behind the gateway answers `401 WWW-Authenticate: DPoP` for the user's token too; this is
 * how a client tells the gateway's refusal from the API's.
 */
export const CHARTER_REFUSAL_HEADER = 'charter-refusal';

/** Response headers a browser client must be able to read (CORS `Access-Control-Expose-Headers`). */
export const CHARTER_RESPONSE_HEADERS: readonly string[] = [
  'dpop-nonce',
  'www-authenticate',
  CHARTER_REFUSAL_HEADER,
];

/** The headers of draft-ietf-oauth-attestation-based-client-auth an app sends to the OAuth server. */
export const CLIENT_ATTESTATION_HEADERS: readonly string[] = [
  'oauth-client-attestation',
  'oauth-client-attestation-pop',
];

/** The user's credential as sent: forwarded upstream byte for byte, and handed to the host in library mode. */
export interface UserCredential {
  /** The `Authorization` value, e.g. `DPoP eyJ…` or `Bearer eyJ…`. */
  authorization: string;
  /** The scheme, lowercase (`dpop`, `bearer`, or whatever the user's system uses). */
  scheme: string;
  /** The user's `DPoP` proof, when the request's `DPoP` header is (also) the user's. */
  dpop?: string;
}

/** What the gateway checks for the app: its token, the proof and what the proof must be bound to. */
export interface CharterCredentials {
  form: 'single' | 'dual';
  token: string;
  /** base64url(SHA-256(token)): the claims cache key. */
  tokenHash: string;
  proof: string | undefined;
  /** The `ath` the proof must carry. */
  ath: string;
  /** The `charter_ath` the proof must carry (a proof shared with a DPoP-bound user token). */
  charterAth?: string;
}

const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * base64url(SHA-256(token)) by the exact token text: an instance sends the same token on every
 * request until it refreshes it, so the hash (the claims cache key and the `ath` a proof must carry)
 * is computed once per token, not per request. A map lookup by the whole string cannot confuse two
 * tokens. Bounded: a flood of fresh tokens empties it rather than growing it.
 */
const tokenHashes = new Map<string, string>();
const MAX_TOKEN_HASHES = 10_000;

function tokenHashOf(token: string): string {
  let hash = tokenHashes.get(token);
  if (hash === undefined) {
    hash = sha256B64url(token);
    if (tokenHashes.size >= MAX_TOKEN_HASHES) tokenHashes.clear();
    tokenHashes.set(token, hash);
  }
  return hash;
}

/**
 * The single form's `Authorization` values already parsed and found well formed, with their token's
 * hash: the same value comes on every request of an instance, so the scheme, the token68 syntax and
 * the hash are checked once per value (a value refused is never kept). Bounded like the hashes.
 */
const checkedAuthorizations = new Map<string, { token: string; hash: string }>();

function checkedAuthorization(authorization: string | undefined): { token: string; hash: string } {
  const token = parseAuthorization(authorization);
  const checked = { token, hash: tokenHashOf(token) };
  if (checkedAuthorizations.size >= MAX_TOKEN_HASHES) checkedAuthorizations.clear();
  checkedAuthorizations.set(authorization as string, checked);
  return checked;
}

function schemeOf(authorization: string): string {
  const space = authorization.indexOf(' ');
  return (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
}

/** The user token of a DPoP Authorization value (for its `ath`), refusing a malformed one. */
function userDpopToken(authorization: string): string {
  const token = authorization.slice(authorization.indexOf(' ') + 1).replace(/^ +/, '');
  if (token.length === 0 || !TOKEN68.test(token))
    throw new CharterError('invalid_request', 'ERR_USER_TOKEN_FORMAT', 'the DPoP user token is malformed');
  return token;
}

/** The app's credentials on a request, refusing malformed or missing ones with the catalogue's codes. */
export function charterCredentials(req: CharterRequest): CharterCredentials {
  const charterToken = headerOf(req, CHARTER_TOKEN_HEADER, 'invalid_token');
  if (charterToken === undefined) {
    const authorization = headerOf(req, 'authorization', 'invalid_token');
    const { token, hash } =
      (authorization !== undefined && checkedAuthorizations.get(authorization)) ||
      checkedAuthorization(authorization);
    return {
      form: 'single',
      token,
      tokenHash: hash,
      proof: headerOf(req, 'dpop', 'invalid_dpop_proof'),
      ath: hash,
    };
  }
  if (charterToken.length === 0 || charterToken.length > MAX_TOKEN_CHARS || !TOKEN68.test(charterToken))
    throw new CharterError('invalid_token', 'ERR_TOKEN_FORMAT', 'the Charter-Token value is malformed');
  const hash = tokenHashOf(charterToken);
  const authorization = headerOf(req, 'authorization');
  // The dual form forwards Authorization: the Charter token in it would reach the upstream.
  if (
    authorization !== undefined &&
    authorization.slice(authorization.indexOf(' ') + 1).trim() === charterToken
  )
    throw new CharterError(
      'invalid_request',
      'ERR_TOKEN_TWICE',
      'the Charter token belongs in Charter-Token only, not in Authorization',
    );
  const own = headerOf(req, CHARTER_DPOP_HEADER, 'invalid_dpop_proof');
  if (own !== undefined) return { form: 'dual', token: charterToken, tokenHash: hash, proof: own, ath: hash };
  const proof = headerOf(req, 'dpop', 'invalid_dpop_proof');
  if (authorization !== undefined && schemeOf(authorization) === 'dpop') {
    // One proof for both tokens: `ath` is the user token's, `charter_ath` the Charter token's.
    return {
      form: 'dual',
      token: charterToken,
      tokenHash: hash,
      proof,
      ath: sha256B64url(userDpopToken(authorization)),
      charterAth: hash,
    };
  }
  return { form: 'dual', token: charterToken, tokenHash: hash, proof, ath: hash };
}

/**
 * The user's credential of a dual-form request (undefined in the single form, where `Authorization`
 * is Charter's). Never throws: it only says which headers are the user's, whatever the admission.
 * `DPoP` is the user's when `Charter-DPoP` carries the app's proof or when the user's scheme is DPoP
 * (a shared proof); with a Bearer user token and no `Charter-DPoP` it is the app's alone.
 */
export function userCredentialOf(req: CharterRequest): UserCredential | undefined {
  const charterToken = req.headers[CHARTER_TOKEN_HEADER];
  if (charterToken === undefined) return undefined;
  const one = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const authorization = one('authorization');
  if (authorization === undefined || authorization === '') return undefined;
  // Never the Charter token itself, even where monitor mode lets the request through.
  if (authorization.slice(authorization.indexOf(' ') + 1).trim() === charterToken) return undefined;
  const scheme = schemeOf(authorization);
  const dpop = one('dpop');
  const userDpop =
    dpop !== undefined && (scheme === 'dpop' || req.headers[CHARTER_DPOP_HEADER] !== undefined);
  return { authorization, scheme, ...(userDpop ? { dpop } : {}) };
}
