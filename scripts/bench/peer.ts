/**
 * The hand-written peer of `npm run bench`: what a user would write to protect an API with DPoP-bound
 * tokens from their own authorization server, without Charter. The bare proxy (Fastify + undici Pool)
 * plus, per request: jose `jwtVerify` of the ES256 access token, jose `jwtVerify` of the ES256 proof
 * with its embedded key, `htm`/`htu`/`iat`/`ath` and the `cnf.jkt` thumbprint compared, and the `jti`
 * kept in a Map until it could no longer pass the `iat` check.
 */
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { calculateJwkThumbprint, EmbeddedJWK, importJWK, type JWK, jwtVerify } from 'jose';
import { Pool } from 'undici';

/** What the peer checks against. */
export interface PeerSetup {
  asJwk: JWK;
  audience: string;
  publicUrl: string;
  skewS: number;
}

/** Start the peer; resolves to its URL. */
export async function startPeer(upstream: string, setup: PeerSetup): Promise<string> {
  const asKey = await importJWK(setup.asJwk, 'ES256');
  const pool = new Pool(upstream, { connections: 128 });
  const seen = new Map<string, number>();
  let writes = 0;
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.addHook('onRequest', async (req, reply) => {
    const auth = req.headers.authorization;
    const proof = req.headers.dpop;
    if (!auth?.startsWith('DPoP ') || typeof proof !== 'string') return reply.code(401).send();
    const token = auth.slice(5);
    try {
      const { payload: claims } = await jwtVerify(token, asKey, {
        algorithms: ['ES256'],
        audience: setup.audience,
      });
      const { payload: p, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256'],
      });
      const now = Math.floor(Date.now() / 1000);
      const ath = createHash('sha256').update(token).digest('base64url');
      const jkt = await calculateJwkThumbprint(protectedHeader.jwk as JWK);
      if (
        p.htm !== req.method ||
        p.htu !== `${setup.publicUrl}${req.url.split('?')[0]}` ||
        typeof p.iat !== 'number' ||
        Math.abs(p.iat - now) > setup.skewS ||
        p.ath !== ath ||
        (claims.cnf as { jkt?: string } | undefined)?.jkt !== jkt ||
        typeof p.jti !== 'string' ||
        !String(claims.scope).split(' ').includes('orders:read')
      )
        return reply.code(401).send();
      const key = `${jkt}:${p.jti}`;
      if ((seen.get(key) ?? 0) > now) return reply.code(401).send();
      seen.set(key, now + 2 * setup.skewS + 1);
      if (++writes % 4096 === 0) for (const [k, exp] of seen) if (exp <= now) seen.delete(k);
    } catch {
      return reply.code(401).send();
    }
  });
  app.all('/*', async (req, reply) => {
    const { authorization: _a, dpop: _d, host: _h, connection: _c, ...headers } = req.headers;
    const res = await pool.request({
      method: req.method as 'GET',
      path: req.url,
      headers,
      body: req.method === 'GET' ? null : (req.body as never),
    });
    reply.code(res.statusCode).headers(res.headers as never);
    return reply.send(res.body);
  });
  return app.listen({ host: '127.0.0.1', port: 0 });
}
