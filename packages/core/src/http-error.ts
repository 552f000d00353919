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
 *   (a 4xx `statusCode` such as 400, 413 or 415, or a schema `validation` failure) is the client's
 *   fault: `invalid_request` (with the framework's status when `frameworkStatus` asks for it).
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

const clip = (text: unknown): string => String(text).slice(0, 200);

/**
 * A framework's refusal of a request it could not parse, as ours, with the status it chose (400,
 * 413, 415, …); undefined for anything else. Its reason names what was wrong (Fastify's schema
 * message says which property, never its value), shown only under `expose: 'reason'`.
 */
function frameworkRefusal(e: unknown): { error: CharterError; status: number } | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const { statusCode, validation, message } = e as {
    statusCode?: unknown;
    validation?: unknown;
    message?: unknown;
  };
  const status =
    typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : undefined;
  if (validation)
    return {
      error: new CharterError('invalid_request', 'ERR_BODY', `invalid input: ${clip(message)}`),
      status: status ?? 400,
    };
  if (status === 413)
    return {
      error: new CharterError('invalid_request', 'ERR_BODY_SIZE', 'the request body is too large'),
      status,
    };
  if (status === 415)
    return {
      error: new CharterError('invalid_request', 'ERR_CONTENT_TYPE', 'unsupported content type'),
      status,
    };
  if (status !== undefined)
    return {
      error: new CharterError('invalid_request', 'ERR_BODY', `invalid request: ${clip(message)}`),
      status,
    };
  return undefined;
}

/** Map anything thrown to the HTTP answer a client may see and the record only logs get. */
export function httpErrorOf(
  e: unknown,
  options: {
    expose: Exposure;
    /** Read a web framework's own 400/413/415 as `invalid_request` (servers on Fastify); default false. */
    framework?: boolean;
    /**
     * Answer a framework refusal with the framework's own 4xx (413 for a body too large, 415 for a
     * media type) instead of invalid_request's 400; default false (the gateway's and attester's wire).
     */
    frameworkStatus?: boolean;
  },
): HttpError {
  let error: CharterError;
  let fault = false;
  let status: number | undefined;
  if (e instanceof CharterError) error = e;
  else {
    const refused = options.framework ? frameworkRefusal(e) : undefined;
    if (refused) {
      error = refused.error;
      if (options.frameworkStatus) status = refused.status;
    } else {
      fault = true;
      error = new CharterError('unavailable', 'ERR_INTERNAL', 'unexpected failure', { cause: e });
    }
  }
  const description =
    options.expose === 'reason' && !fault ? error.message : error.toClient().error_description;
  return {
    status: status ?? error.status,
    body: { error: error.code, error_description: description },
    log: { code: error.code, detail: error.detail, reason: error.message },
    error,
    fault,
  };
}
