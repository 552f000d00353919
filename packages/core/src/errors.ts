/**
 * The error catalogue of SPEC.md §3, plus the codes the vendor's tools use for refused input.
 *
 * What a client sees (`error`, `error_description`) comes only from this catalogue; the `reason` and
 * `detail` of a {@link CharterError} are internal and go to logs and audit only. Neither ever holds a
 * token or a key.
 */

/** Codes a gateway may send over the network (SPEC.md §3). */
export const PROTOCOL_ERRORS = {
  invalid_request: { status: 400, description: 'The request is malformed.' },
  use_dpop_nonce: { status: 401, description: 'A DPoP proof with a server-provided nonce is required.' },
  invalid_dpop_proof: { status: 401, description: 'The DPoP proof is missing or invalid.' },
  invalid_token: { status: 401, description: 'The access token is missing, invalid or expired.' },
  invalid_charter: { status: 403, description: 'The charter is not valid.' },
  charter_expired: { status: 403, description: 'The charter has expired.' },
  charter_revoked: { status: 403, description: 'The charter has been revoked.' },
  app_not_admitted: { status: 403, description: 'This app is not admitted at this site.' },
  platform_mismatch: { status: 403, description: 'The platform is not one the charter approves.' },
  attestation_required: { status: 403, description: 'This platform requires hardware attestation.' },
  invalid_attestation: { status: 403, description: 'The attestation is not valid.' },
  instance_revoked: { status: 403, description: 'This app instance has been revoked.' },
  insufficient_scope: { status: 403, description: 'The app is not approved for this operation.' },
  rate_limited: { status: 429, description: 'Too many requests.' },
  license_invalid: { status: 503, description: 'The site license is not valid.' },
  unavailable: { status: 503, description: 'The service is temporarily unavailable.' },
} as const;

/** Codes the vendor's and operator's tools use for refused input (exit 1); never sent by a gateway. */
export const TOOL_ERRORS = {
  not_found: { status: 404, description: 'No such record.' },
  conflict: { status: 409, description: 'The record is not in a state that allows this.' },
  key_unavailable: { status: 409, description: 'The key needed for this operation is not available.' },
  passphrase_required: { status: 400, description: 'A passphrase is needed (CHARTER_PASSPHRASE).' },
  wrong_passphrase: { status: 400, description: 'The passphrase does not open this key.' },
  unauthorized: { status: 401, description: 'Sign-in is required.' },
  forbidden: { status: 403, description: 'This account may not do this.' },
} as const;

/** The codes of SPEC.md §3: the only ones a gateway puts on its wire. */
export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS;
export type ToolErrorCode = keyof typeof TOOL_ERRORS;
/** Every code a {@link CharterError} may carry. */
export type ErrorCode = ProtocolErrorCode | ToolErrorCode;

const CATALOGUE: Record<ErrorCode, { status: number; description: string }> = {
  ...PROTOCOL_ERRORS,
  ...TOOL_ERRORS,
};

/** True when `code` is one of the SPEC's gateway codes (never a vendor tool's). */
export function isProtocolErrorCode(code: unknown): code is ProtocolErrorCode {
  return typeof code === 'string' && Object.hasOwn(PROTOCOL_ERRORS, code);
}

/** True when `code` is in the catalogue. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(CATALOGUE, code);
}

/** HTTP status of a catalogued code. */
export function statusOf(code: ErrorCode): number {
  return CATALOGUE[code].status;
}

/** The client-facing description of a catalogued code. */
export function descriptionOf(code: ErrorCode): string {
  return CATALOGUE[code].description;
}

/**
 * The one error type every Charter verifier throws. Callers `switch` on `code`; `detail` is a stable
 * machine sub-code (e.g. `ERR_ALG`) for tests, logs and audit; `message` is a human reason for
 * the operator. Neither `detail` nor `message` ever contains the token or key being judged. Every
 * detail code is registered, with its meaning, in error-details.ts (and docs/errors.md).
 *
 * `C` narrows the code where a type must admit only some codes: a gateway's refusal is a
 * `CharterError<ProtocolErrorCode>`, so a vendor tool's `conflict` cannot reach its wire.
 */
export class CharterError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'CharterError';
  readonly code: C;
  readonly detail: string;
  readonly status: number;

  constructor(code: C, detail: string, reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.code = code;
    this.detail = detail;
    this.status = CATALOGUE[code].status;
  }

  /** The body a client may see: the code and the catalogue's description, nothing internal. */
  toClient(): ClientError<C> {
    return { error: this.code, error_description: CATALOGUE[this.code].description };
  }
}

/** What a client sees of a refusal: a catalogued code and a description, nothing internal. */
export interface ClientError<C extends ErrorCode = ErrorCode> {
  error: C;
  error_description: string;
}

/** Throws a refusal; see {@link refuser}. */
export type Refuse = (detail: string, reason: string) => never;

/**
 * A thrower for one code, for a module whose refusals all share it (`const refuse: Refuse =
 * refuser('invalid_dpop_proof')`, then `refuse('ERR_DPOP_ALG', 'the proof alg is …')`). The
 * `Refuse` annotation is what lets TypeScript see that a call never returns.
 */
export function refuser<C extends ErrorCode>(code: C): Refuse {
  return (detail, reason) => {
    throw new CharterError(code, detail, reason);
  };
}

export {
  ERROR_DETAILS,
  type ErrorDetailCode,
  type ErrorDetailEntry,
  isErrorDetailCode,
} from './error-details.ts';
export { type Exposure, type HttpError, httpErrorOf } from './http-error.ts';

/** Narrow an unknown thrown value to a {@link CharterError}. */
export function isCharterError(e: unknown): e is CharterError {
  return e instanceof CharterError;
}
