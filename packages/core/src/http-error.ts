/**
 * The one error-to-HTTP mapper of every Charter server (gateway, vendor attester, portal, console).
 *
 * The expose rule, in the manner of node-oidc-provider: what a client sees is kept apart from what
 * only logs and audit get.
 * - `body` is `{ error, error_description }` and nothing else. `error` is a catalogued code;
 *   `error_description` is the catalogue's fixed text (`expose: 'catalogue'`, for servers that
 *   unauthenticated devices talk to: the gateway, the attester) or the error's reason
 *   (`expose: 'reason'`, for a signed-in person of the portal or console, who can act on it).
 * - `log` carries the detail code, the reason and the cause: logs and audit only.
 * - Anything that is not a {@link CharterError} is a server fault: `unavailable` with
 *   `ERR_INTERNAL` and the catalogue text, whatever `expose` says, so no exception message (which
 *   may quote input) reaches a client. With `framework`, a web framework's own refusal of a request
 *   (a `statusCode` of 400, 413 or 415, or a schema `validation` failure) is the client's fault:
 *   `invalid_request`.
 * Reasons never hold a token or a key (the contract of CharterError), so exposing one is safe.
 */
import { CharterError, type ErrorCode } from './errors.ts';

/** Which description a client gets. */
export type Exposure = 'catalogue' | 'reason';

/** An error as HTTP: what to send, and what to log. */
export interface HttpError<C extends ErrorCode = ErrorCode> {
  status: number;
  body: { error: C; error_description: string };
  /** For logs and audit only, never for the client. */
  log: { code: C; detail: string; reason: string };
  /** The error as a CharterError (the input itself, or what it was mapped to). */
  error: CharterError<C>;
  /** True when the input was not a refusal but a fault, to be logged as an error. */
  fault: boolean;
}

/** A framework's refusal of a request it could not parse, as ours; undefined for anything else. */
function frameworkRefusal(e: unknown): CharterError | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const { statusCode, validation } = e as { statusCode?: unknown; validation?: unknown };
  if (validation || statusCode === 400)
    return new CharterError('invalid_request', 'ERR_BODY', 'the request does not match the schema');
  if (statusCode === 413)
    return new CharterError('invalid_request', 'ERR_BODY_SIZE', 'the body is too large');
  if (statusCode === 415)
    return new CharterError('invalid_request', 'ERR_CONTENT_TYPE', 'the body must be application/json');
  return undefined;
}

/** Map anything thrown to the HTTP answer a client may see and the record only logs get. */
export function httpErrorOf(
  e: unknown,
  options: {
    expose: Exposure;
    /** Read a web framework's own 400/413/415 as `invalid_request` (servers on Fastify); default false. */
    framework?: boolean;
  },
): HttpError {
  let error: CharterError;
  let fault = false;
  if (e instanceof CharterError) error = e;
  else {
    const refused = options.framework ? frameworkRefusal(e) : undefined;
    if (refused) error = refused;
    else {
      fault = true;
      error = new CharterError('unavailable', 'ERR_INTERNAL', 'unexpected failure', { cause: e });
    }
  }
  const description =
    options.expose === 'reason' && !fault ? error.message : error.toClient().error_description;
  return {
    status: error.status,
    body: { error: error.code, error_description: description },
    log: { code: error.code, detail: error.detail, reason: error.message },
    error,
    fault,
  };
}
