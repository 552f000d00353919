/** One HTTP exchange of the soak, timed, with the refusal code read from the body. */

/** What came back: status 0 for a connection that failed or timed out. */
export interface Answer {
  status: number;
  /** `ok` for 2xx; the body's `error`; `network` or `timeout` when no answer came. */
  code: string;
  body: Record<string, unknown>;
  ms: number;
}

export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = {};
    }
    const ok = res.status >= 200 && res.status < 300;
    const code = ok ? 'ok' : typeof body.error === 'string' ? body.error : `http_${res.status}`;
    return { status: res.status, code, body, ms: performance.now() - started };
  } catch (e) {
    const timeout = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    return { status: 0, code: timeout ? 'timeout' : 'network', body: {}, ms: performance.now() - started };
  }
}
