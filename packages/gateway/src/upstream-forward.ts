/**
 * One forwarded request on undici's dispatch interface: the upstream's answer streamed straight into
 * node's response. It does what `pool.stream()` did for the proxy path (measured in
 * docs/benchmarks.md) without what that wrapper adds per request and the proxy path does not need:
 * an AsyncResource and its scopes, `finished()` and its listeners on the response, an abort signal
 * object, a promise, and a header object rebuilt twice (parsed, then filtered): here the raw
 * headers are read once into the client's headers.
 */
import type { ServerResponse } from 'node:http';
import { connectionListed, isHopByHop } from './forward-headers.ts';

/** The client's headers from an upstream response's raw header list: hop-by-hop ones left out. */
export function clientHeadersOfRaw(raw: readonly Buffer[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  let connection: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
    if (isHopByHop(name) || name === '__proto__') continue;
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else if (typeof prior === 'string') out[name] = [prior, value];
    else prior.push(value);
  }
  // Names the upstream's Connection header lists are hop-by-hop for this hop too: the same rule
  // (and folding) as clientResponseHeaders, the Fastify path's.
  const listed = connectionListed(connection);
  if (listed.size > 0) for (const n in out) if (listed.has(n)) delete out[n];
  return out;
}

/**
 * What the forward tells its caller: the upstream's status line and headers, then the end. One
 * object serves every request (the request's own data is `context`), so no closure is made per request.
 */
export interface ForwardEvents<C> {
  /** The upstream's final status and the client's headers: write the response head. */
  head(res: ServerResponse, context: C, statusCode: number, headers: Record<string, string | string[]>): void;
  /** The answer was streamed whole (no error) or the forward failed (`error`; `clientGone` when the client left first). */
  done(res: ServerResponse, context: C, error: Error | undefined, clientGone: boolean): void;
}

/** An undici dispatch handler (the interface `Pool.dispatch` takes) writing into `res`. */
export class UpstreamForward<C> {
  readonly #res: ServerResponse;
  readonly #events: ForwardEvents<C>;
  readonly #context: C;
  #abort: ((reason?: Error) => void) | undefined;
  #clientGone = false;
  #ended = false;

  constructor(res: ServerResponse, events: ForwardEvents<C>, context: C) {
    this.#res = res;
    this.#events = events;
    this.#context = context;
    // A client gone before the answer is whole stops the upstream request. (A property of ours on
    // the response, to share one listener, would change the shape of node's response objects.)
    res.once('close', () => this.closed());
  }

  /** The response closed: if before the answer was whole, the client left. */
  closed(): void {
    if (this.#ended || this.#res.writableFinished) return;
    this.#clientGone = true;
    this.#abort?.();
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    if (this.#clientGone) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // An interim answer (100 Continue, 103 Early Hints) is not passed on, as stream() did not.
    if (statusCode < 200) return true;
    this.#events.head(this.#res, this.#context, statusCode, clientHeadersOfRaw(rawHeaders));
    this.#res.on('drain', resume);
    return !this.#res.writableNeedDrain;
  }

  onData(chunk: Buffer): boolean {
    return this.#res.write(chunk);
  }

  onComplete(): void {
    this.#ended = true;
    this.#res.end();
    this.#events.done(this.#res, this.#context, undefined, false);
  }

  onError(error: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#events.done(this.#res, this.#context, error, this.#clientGone);
  }
}
