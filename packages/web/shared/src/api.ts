/** The web apps' API client (portal and console): JSON in and out, the session's CSRF token on every state-changing request. */

/** A refusal from the server, with its catalogued code and a reason to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';

/** Remember the session's CSRF token (from sign-in or GET /api/session). */
export function setCsrf(token: string): void {
  csrf = token;
}

async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  raw?: { data: Blob; name: string },
): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  let payload: BodyInit | undefined;
  if (raw) {
    headers['Content-Type'] = 'application/octet-stream';
    headers['X-Filename'] = encodeURIComponent(raw.name);
    payload = raw.data;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok)
    throw new ApiError(
      res.status,
      String(data.error ?? 'error'),
      String(data.error_description ?? `the server answered ${res.status}`),
    );
  return data as T;
}

/** The API calls, by verb. */
export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body: unknown) => call<T>('POST', path, body),
  del: <T>(path: string) => call<T>('DELETE', path),
  upload: <T>(path: string, file: File) => call<T>('POST', path, undefined, { data: file, name: file.name }),
};

/** Seconds since the epoch as a short local date and time. */
export function when(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The message of anything thrown, for the status line. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
