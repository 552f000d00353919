/**
 * The web apps' use of the one error-to-HTTP mapper (`httpErrorOf` in @charter/core), with the
 * exposure a signed-in person gets: a {@link CharterError}'s code and reason (written for the person
 * at the screen, never holding a token or key), and Fastify's own refusal of malformed input (bad
 * JSON, schema, size, media type) as `invalid_request` with Fastify's status. Anything else is a
 * fault of ours: the client reads `unavailable` / `internal error`, the details go to the log alone.
 */
import { httpErrorOf } from '@charter/core';

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
  const mapped = httpErrorOf(err, { expose: 'reason', framework: true, frameworkStatus: true });
  if (!mapped.fault) return { status: mapped.status, body: mapped.body };
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const stack = err instanceof Error ? err.stack : undefined;
  return {
    status: mapped.status,
    body: { error: 'unavailable', error_description: 'internal error' },
    log: {
      reason: clip(e?.message ?? err),
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
      ...(stack ? { stack } : {}),
    },
  };
}
