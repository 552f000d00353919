/**
 * Library mode for Node's http server, Express and Connect: a `(req, res, next)` middleware written
 * against node:http types only, so the package needs no Express dependency. The Charter endpoints
 * are answered here; other requests are admitted (the app lands on `req.charter`) or refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from './bodies.ts';
import type { AdmittedApp } from './context.ts';
import { corsOnWrite, isCorsPath, isPreflight } from './cors.ts';
import type { UserCredential } from './credentials.ts';
import { stripCharterHeaders } from './forward-headers.ts';
import type { Admission, Gateway } from './gateway.ts';
import { readBody } from './node-body.ts';
import type { GatewayReply } from './reply.ts';
import type { CharterRequest } from './request.ts';

/** A request after the middleware: `charter` is the admitted app (null only when monitor mode let an unproven request through). */
export type CharterIncomingMessage = IncomingMessage & {
  charter?: AdmittedApp | null;
  charterAdmission?: Admission;
  /** The user's own credential of a dual-form request (Charter-Token beside the user's Authorization), untouched. */
  userCredential?: UserCredential | null;
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

/** The Node/Express/Connect middleware of a gateway engine. */
export function charterMiddleware(
  gateway: Gateway,
): (req: CharterIncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    void (async () => {
      // The engine reads the client's own Charter credentials (`Charter-Token`, `Charter-DPoP`) from a
      // copy taken first; then a client's `Charter_Scope` (any spelling that folds to a Charter
      // header) is removed, so it never reaches the host.
      const headers = { ...req.headers };
      stripCharterHeaders(req);
      const url = req.url ?? '/';
      const neutral: CharterRequest = { method: req.method ?? 'GET', url, headers };
      // A CORS preflight is the gateway's to answer: never admitted, never handed to the host.
      if (isPreflight(neutral)) {
        const answer = gateway.preflight(neutral);
        corsOnWrite(res, answer.headers, true);
        writeNodeReply(res, answer);
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
        headers,
        body,
        ...(req.socket.remoteAddress ? { ip: req.socket.remoteAddress } : {}),
      });
      if (result.kind === 'reply') {
        writeNodeReply(res, result);
        return;
      }
      req.charter = result.app ?? null;
      req.charterAdmission = {
        app: result.app,
        monitored: result.monitored,
        ...(result.user ? { user: result.user } : {}),
      };
      req.userCredential = result.user ?? null;
      next();
    })().catch(next);
  };
}
