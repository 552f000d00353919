/**
 * A protocol stub of the gateway (SPEC §3) for the SDK's unit tests: real HTTP, real DPoP
 * verification with jose, scripted refusals. Not the gateway; the end-to-end test uses the real one.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from 'jose';

/** One request as the stub saw it, with its verified proof. */
export interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  proof?: { header: { jwk?: JWK; alg?: string }; payload: Record<string, unknown>; jkt: string };
}

/** A scripted answer that overrides the normal one for the next matching request. */
export interface Scripted {
  path: string;
  status: number;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export class StubGateway {
  server: Server;
  url = '';
  seen: Seen[] = [];
  script: Scripted[] = [];
  nonces = new Set<string>();
  instances = new Map<string, { jkt: string; revoked: boolean }>();
  tokens = new Map<string, { instance_id: string; jkt: string; valid: boolean }>();
  tokenTtl = 300;
  /** When set, token requests must carry this DPoP nonce (RFC 9449 §8 server-provided nonce). */
  requiredDpopNonce: string | undefined;

  constructor() {
    this.server = createServer((req, res) => {
      this.#handle(req, res).catch((e: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'unavailable', error_description: String(e) }));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  count(path: string): number {
    return this.seen.filter((s) => s.path === path).length;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const seen: Seen = { method: req.method ?? '', path: url.pathname, headers: req.headers, body };
    this.seen.push(seen);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    const refuse = (status: number, error: string, headers: Record<string, string> = {}): void => {
      const h = status === 401 ? { 'www-authenticate': `DPoP error="${error}"`, ...headers } : headers;
      send(status, { error, error_description: `stub: ${error}` }, h);
    };

    const scripted = this.script.findIndex((s) => s.path === url.pathname);
    if (scripted >= 0) {
      const s = this.script.splice(scripted, 1)[0]!;
      res.writeHead(s.status, { 'content-type': 'application/json', ...s.headers });
      res.end(s.raw ?? JSON.stringify(s.body));
      return;
    }

    if (url.pathname === '/charter/v1/challenge') {
      const nonce = randomUUID();
      this.nonces.add(nonce);
      return send(200, { nonce, expires_in: 60 });
    }

    // Everything else needs a valid DPoP proof for this very request.
    const proofHeader = req.headers.dpop;
    if (typeof proofHeader !== 'string') return refuse(401, 'invalid_dpop_proof');
    let verified: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      verified = await jwtVerify(proofHeader, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256', 'EdDSA'],
      });
    } catch {
      return refuse(401, 'invalid_dpop_proof');
    }
    const p = verified.payload as Record<string, unknown>;
    const jwk = verified.protectedHeader.jwk as JWK;
    const jkt = await calculateJwkThumbprint(jwk, 'sha256');
    seen.proof = { header: verified.protectedHeader as { jwk?: JWK; alg?: string }, payload: p, jkt };
    if (p.htm !== req.method || p.htu !== `${url.origin}${url.pathname}` || typeof p.jti !== 'string') {
      return refuse(401, 'invalid_dpop_proof');
    }

    if (url.pathname === '/charter/v1/register') {
      const nonce = p.nonce;
      if (typeof nonce !== 'string' || !this.nonces.delete(nonce)) {
        const fresh = randomUUID();
        this.nonces.add(fresh);
        return refuse(400, 'use_dpop_nonce', { 'dpop-nonce': fresh });
      }
      const b = body as { charter?: string; platform?: string };
      if (typeof b?.charter !== 'string') return refuse(400, 'invalid_request');
      const instance_id = `inst_${this.instances.size + 1}`;
      this.instances.set(instance_id, { jkt, revoked: false });
      return send(200, { instance_id, app_id: 'app_orders', scopes: ['orders:read'] });
    }

    if (url.pathname === '/charter/v1/token') {
      if (this.requiredDpopNonce !== undefined && p.nonce !== this.requiredDpopNonce) {
        return refuse(400, 'use_dpop_nonce', { 'dpop-nonce': this.requiredDpopNonce });
      }
      const b = body as { instance_id?: string };
      const inst = this.instances.get(b?.instance_id ?? '');
      if (!inst || inst.jkt !== jkt) return refuse(400, 'invalid_request');
      if (inst.revoked) return refuse(403, 'instance_revoked');
      const access_token = base64url.encode(crypto.getRandomValues(new Uint8Array(24)));
      this.tokens.set(access_token, { instance_id: b.instance_id!, jkt, valid: true });
      return send(200, { access_token, token_type: 'DPoP', expires_in: this.tokenTtl, scope: 'orders:read' });
    }

    // Protected resource.
    const auth = req.headers.authorization ?? '';
    const m = /^DPoP (.+)$/.exec(auth);
    const token = m ? this.tokens.get(m[1]!) : undefined;
    if (!m || !token?.valid) return refuse(401, 'invalid_token');
    if (token.jkt !== jkt) return refuse(401, 'invalid_dpop_proof');
    const ath = createHash('sha256').update(m[1]!).digest('base64url');
    if (p.ath !== ath) return refuse(401, 'invalid_dpop_proof');
    if (this.instances.get(token.instance_id)?.revoked) return refuse(403, 'instance_revoked');
    if (this.requiredDpopNonce !== undefined && p.nonce !== this.requiredDpopNonce) {
      return refuse(401, 'use_dpop_nonce', { 'dpop-nonce': this.requiredDpopNonce });
    }
    return send(200, { ok: true, path: url.pathname, query: url.search, method: req.method, body });
  }
}
