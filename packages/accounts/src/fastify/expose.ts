/**
 * The one rule for what a client of the web apps may see of an error. A client gets `error` +
 * `error_description` only for what is catalogued or expected: a {@link CharterError} (its code and
 * its reason, written for the person at the screen and never holding a token or key) or Fastify's own
 * refusal of malformed input (bad JSON, schema, size, media type), reworded without internals.
 * Anything else is a fault of ours: the client reads `unavailable` / `internal error`, and the
 * details go to the log alone.
 */
import { CharterError, statusOf } from '@charter/core';

/** What to answer, and what (if anything) to log. */
export interface Exposed {
  status: number;
  body: { error: string; error_description: string };
  /** Set for unexpected errors only: what the server log gets (never sent to the client). */
  log?: { reason: string; code?: string; stack?: string };
}

const clip = (text: unknown): string => String(text).slice(0, 200);

/** Apply the rule to anything thrown by a route or a hook. */
export function exposeError(err: unknown): Exposed {
  if (err instanceof CharterError)
    return { status: err.status, body: { error: err.code, error_description: err.message } };
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown };
  const status =
    typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 0;
  if (status) {
    const why =
      e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'the request body is too large'
        : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type'
          : e.validation
            ? `invalid input: ${clip(e.message)}`
            : `invalid request: ${clip(e.message)}`;
    return { status, body: { error: 'invalid_request', error_description: why } };
  }
  const stack = err instanceof Error ? err.stack : undefined;
  return {
    status: statusOf('unavailable'),
    body: { error: 'unavailable', error_description: 'internal error' },
    log: {
      reason: clip(e?.message ?? err),
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      ...(stack ? { stack } : {}),
    },
  };
}
