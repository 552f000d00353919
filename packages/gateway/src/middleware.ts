/**
 * Library mode for Node's http server, Express and Connect: a `(req, res, next)` middleware written
 * against node:http types only, so the package needs no Express dependency. The Charter endpoints
 * are answered here; other requests are admitted (the app lands on `req.charter`) or refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from './bodies.ts';
import type { AdmittedApp } from './context.ts';
import { isCorsPath, isPreflight, mergeCorsHeaders } from './cors.ts';
import type { Admission, Gateway } from './gateway.ts';
import { readBody } from './node-body.ts';
import type { GatewayReply } from './reply.ts';
import type { CharterRequest } from './request.ts';

/** A request after the middleware: `charter` is the admitted app (null only when monitor mode let an unproven request through). */
export type CharterIncomingMessage = IncomingMessage & {
  charter?: AdmittedApp | null;
  charterAdmission?: Admission;
  body?: unknown;
};

/** Write an engine reply to a node response. */
export function writeNodeReply(res: ServerResponse, reply: GatewayReply): void {
  if (reply.body === undefined) {
    res.writeHead(reply.status, reply.headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Give every response written to `res` the gateway's CORS headers, whoever writes it (the gateway
 * or the host app, and whatever CORS middleware the host runs after this one): `writeHead`, which
 * node also calls implicitly, folds its headers in and then replaces every `Access-Control-*`.
 */
function corsOnWrite(res: ServerResponse, cors: Record<string, string>): void {
  const writeHead = res.writeHead;
  const patched = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    const reason = typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
    const given = rest[0];
    if (Array.isArray(given)) {
      // Raw pairs, flat ([k, v, k, v]) or nested ([[k, v]]).
      const flat = given.length > 0 && Array.isArray(given[0]) ? given.flat() : given;
      for (let i = 0; i + 1 < flat.length; i += 2) this.setHeader(String(flat[i]), flat[i + 1] as string);
    } else if (given && typeof given === 'object') {
      for (const [k, v] of Object.entries(given)) if (v !== undefined) this.setHeader(k, v as string);
    }
    const current = this.getHeaders();
    for (const name of Object.keys(current))
      if (name.startsWith('access-control-') || name === 'vary') this.removeHeader(name);
    for (const [name, value] of Object.entries(mergeCorsHeaders(current, cors)))
      if (name.startsWith('access-control-') || name === 'vary') this.setHeader(name, value);
    return reason === undefined
      ? writeHead.call(this, status)
      : (writeHead as (s: number, r: string) => ServerResponse).call(this, status, reason);
  };
  res.writeHead = patched as ServerResponse['writeHead'];
}

/** The Node/Express/Connect middleware of a gateway engine. */
export function charterMiddleware(
  gateway: Gateway,
): (req: CharterIncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    void (async () => {
      const url = req.url ?? '/';
      const neutral: CharterRequest = { method: req.method ?? 'GET', url, headers: req.headers };
      // A CORS preflight is the gateway's to answer: never admitted, never handed to the host.
      if (isPreflight(neutral)) {
        writeNodeReply(res, gateway.preflight(neutral));
        return;
      }
      if (isCorsPath(url)) corsOnWrite(res, gateway.corsHeaders(neutral));
      let body: unknown = req.body;
      if (gateway.isCharterPath(url) && req.method === 'POST' && body === undefined) {
        try {
          body = await readBody(req, MAX_BODY_BYTES);
        } catch (e) {
          res.setHeader('connection', 'close');
          writeNodeReply(res, gateway.errorReply(e));
          return;
        }
      }
      const result = await gateway.handle({
        method: req.method ?? 'GET',
        url,
        headers: req.headers,
        body,
        ...(req.socket.remoteAddress ? { ip: req.socket.remoteAddress } : {}),
      });
      if (result.kind === 'reply') {
        writeNodeReply(res, result);
        return;
      }
      req.charter = result.app ?? null;
      req.charterAdmission = { app: result.app, monitored: result.monitored };
      next();
    })().catch(next);
  };
}
