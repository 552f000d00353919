/**
 * The gateway's HTTP surface, driven over real loopback sockets to a real proxy-mode gateway (real
 * engine, a real SQLite file in a temp dir, a real upstream on loopback), so every input meets node's
 * HTTP parser and the gateway's request listener as a client's does, the lean proxy path included
 * (`inject` calls the Fastify app directly and never reaches it): registration, token,
 * protected requests and client attestation, and every other endpoint, method and path. An input is
 * a request with its DPoP proof either written out (and mutated like any JWS) or described (key,
 * claims to change) and signed when it runs, with a nonce fetched then, so mutated bodies get past the
 * proof check and reach the body parsers and the checks behind them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '@charter/gateway';
import { type RunningGateway, startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { nastyString } from '../bytes.ts';
import { type HttpInput, inject, mutateBody, mutateHeaders, mutatePath, send, wireAgent } from '../http.ts';
import { mutateJws } from '../jose.ts';
import { randomValue, toJsonText } from '../json.ts';
import type { Rng } from '../rng.ts';
import { Finding, type Harness, type Target } from '../target.ts';
import {
  BUNDLE,
  DIGEST,
  instanceKey,
  jws,
  jwsSign,
  makeWorld,
  now,
  PACKAGE,
  sha256b64u,
  TEAM,
  type World,
} from '../world.ts';

/** A DPoP proof to sign when the input runs. */
interface ProofSpec {
  key: number;
  htm?: string;
  htu?: string;
  iatOffset?: number;
  nonce?: 'fresh' | 'none' | string;
  jti?: string;
  ath?: 'token' | 'none' | string;
  extra?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Sign with another key than the header's. */
  wrongKey?: boolean;
}

export interface GatewayInput {
  req: HttpInput;
  proof?: ProofSpec;
  /** Index of the access token whose hash is `ath` (protected requests). */
  token?: number;
}

/** What every gateway target shares: one running gateway with registered instances and tokens. */
export interface GatewayWorld {
  w: World;
  gw: RunningGateway;
  store: SqliteStore;
  keys: ReturnType<typeof instanceKey>[];
  instances: { id: string; key: number }[];
  tokens: string[];
  lastError: { text: string };
  run(input: GatewayInput): Promise<string>;
  close(): Promise<void>;
}

/**
 * Start the gateway; `plugin` is mounted on its listener as the console is (`plugins` of startGateway).
 * Inputs go over a socket (`send`) unless `via` is `inject`.
 */
export async function startGatewayWorld(
  seed: number,
  plugin?: (app: FastifyInstance, gateway: Promise<Gateway>, store: SqliteStore) => Promise<void>,
  via: 'socket' | 'inject' = 'socket',
): Promise<GatewayWorld> {
  const w = await makeWorld(seed);
  const dir = mkdtempSync(join(tmpdir(), 'charter-fuzz-gw-'));
  const store = new SqliteStore(join(dir, 'gateway.db'));
  const upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  // The sample upstream never closes an idle connection itself (node's default is after 5 s): the
  // gateway's pool does, first. Otherwise a starved machine can let the upstream's timer win the race
  // with a request the pool is writing on that connection, and the gateway rightly answers
  // `unavailable` for an upstream that hung up: a fault of the harness's upstream, not a finding.
  upstream.keepAliveTimeout = 0;
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const lastError = { text: '' };
  // The engine logs every unexpected failure before answering `unavailable`: kept for the finding.
  const logger = pino(
    { level: 'error' },
    {
      write: (line: string) => {
        lastError.text = line;
      },
    },
  );
  const gw = await startGateway({
    trust: w.trust,
    store,
    license: w.license,
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    licensePollMs: 0,
    usageFlushMs: 0,
    oauthClients: { app_beta: 'client-beta', app_server: 'client-server' },
    logger,
    ...(plugin
      ? { plugins: [(app: FastifyInstance, gateway: Promise<Gateway>) => plugin(app, gateway, store)] }
      : {}),
  } as never);
  const keys = [instanceKey('ES256'), instanceKey('EdDSA'), instanceKey('ES256')];
  const base = gw.url;
  const agent = wireAgent();

  const sign = (p: ProofSpec, token: string | undefined): string => {
    const k = keys[p.key % keys.length] as (typeof keys)[number];
    const claims: Record<string, unknown> = {
      jti: p.jti ?? randomUUID(),
      htm: p.htm ?? 'POST',
      htu: p.htu ?? `${base}/charter/v1/register`,
      iat: now() + (p.iatOffset ?? 0),
      ...p.extra,
    };
    if (p.nonce === 'fresh' || p.nonce === undefined) {
      if (p.nonce === 'fresh') claims.nonce = gw.gateway.challenge().nonce;
    } else if (p.nonce !== 'none') claims.nonce = p.nonce;
    if (p.ath === 'token' && token) claims.ath = sha256b64u(token);
    else if (p.ath && p.ath !== 'none' && p.ath !== 'token') claims.ath = p.ath;
    const header = { typ: 'dpop+jwt', alg: k.alg, jwk: k.jwk, ...p.header };
    const signer = p.wrongKey
      ? (keys[(p.key + 1) % keys.length] as (typeof keys)[number]).privateKey
      : k.privateKey;
    return jws(header, claims, signer);
  };

  const world: GatewayWorld = {
    w,
    gw,
    store,
    keys,
    instances: [],
    tokens: [],
    lastError,
    async run(input) {
      const req = { ...input.req, headers: { ...input.req.headers } };
      if (input.proof)
        req.headers.dpop = sign(
          input.proof,
          input.token === undefined ? undefined : world.tokens[input.token % world.tokens.length],
        );
      if (input.token !== undefined && req.headers.authorization === '$token')
        req.headers.authorization = `DPoP ${world.tokens[input.token % world.tokens.length]}`;
      lastError.text = '';
      try {
        return via === 'socket' ? await send(agent, base, req) : await inject(gw.server, req);
      } catch (e) {
        if (e instanceof Finding && lastError.text)
          throw new Finding(e.kind, `${e.message}; gateway logged ${lastError.text.slice(0, 600)}`);
        throw e;
      }
    },
    async close() {
      agent.destroy();
      await gw.close();
      await store.close();
      await new Promise((r) => upstream.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  // Instances registered and tokens issued as a client would, through the same requests.
  const registrations: [string, string, number][] = [
    [w.charters.server, 'server', 0],
    [w.charters.all, 'server', 1],
    [w.charters.android, 'android', 2],
  ];
  for (const [charter, platform, key] of registrations) {
    const r = await gw.server.inject({
      method: 'POST',
      url: '/charter/v1/register',
      headers: { 'content-type': 'application/json', dpop: sign({ key, nonce: 'fresh' }, undefined) },
      payload: JSON.stringify({ charter, platform }),
    });
    const id = (JSON.parse(r.body) as { instance_id?: string }).instance_id;
    if (r.statusCode !== 200 || !id)
      throw new Error(`fuzz setup: registration failed: ${r.statusCode} ${r.body}`);
    world.instances.push({ id, key });
    const t = await gw.server.inject({
      method: 'POST',
      url: '/charter/v1/token',
      headers: {
        'content-type': 'application/json',
        dpop: sign({ key, htu: `${base}/charter/v1/token` }, undefined),
      },
      payload: JSON.stringify({ instance_id: id }),
    });
    const token = (JSON.parse(t.body) as { access_token?: string }).access_token;
    if (t.statusCode !== 200 || !token)
      throw new Error(`fuzz setup: token failed: ${t.statusCode} ${t.body}`);
    world.tokens.push(token);
  }
  return world;
}

/** A proof spec mutated: wrong method, URL, time, nonce, replayed jti, odd header fields, another key. */
function mutateProofSpec(rng: Rng, p: ProofSpec, base: string): ProofSpec | undefined {
  const out: ProofSpec = { ...p };
  switch (rng.int(12)) {
    case 0:
      out.htm = rng.pick(['GET', 'post', 'PUT', '', 'POST ', nastyString(rng)]);
      break;
    case 1:
      out.htu = rng.pick([
        `${base}/charter/v1/token`,
        `${base}/charter/v1/register?x=1`,
        `${base.replace('http:', 'https:')}/charter/v1/register`,
        'https://evil.example/charter/v1/register',
        `${base}/CHARTER/v1/register`,
        `${base}//charter/v1/register`,
        nastyString(rng),
      ]);
      break;
    case 2:
      out.iatOffset = rng.pick([-100_000, -301, -299, 299, 301, 100_000, 2 ** 40]);
      break;
    case 3:
      out.nonce = rng.pick(['none', 'stale-nonce', '', nastyString(rng)]);
      break;
    case 4:
      out.jti = rng.pick(['fixed-jti', '', 'x'.repeat(5000), nastyString(rng)]);
      break;
    case 5:
      out.extra = {
        [rng.pick(['jti', 'htm', 'htu', 'iat', 'nonce', 'ath', 'charter_ath', 'exp', 'nbf'])]:
          randomValue(rng),
      };
      break;
    case 6:
      out.header = { [rng.pick(['alg', 'typ', 'jwk', 'kid', 'crit', 'b64', 'x5c'])]: randomValue(rng) };
      break;
    case 7:
      out.wrongKey = true;
      break;
    case 8:
      out.key = rng.int(3);
      break;
    case 9:
      out.ath = rng.pick(['none', 'wrong', sha256b64u('x')]);
      break;
    case 10:
      return undefined;
    default:
      break;
  }
  return out;
}

/** Either a fresh proof (most inputs), a literal mutated proof string, or none. */
function withProof(
  rng: Rng,
  input: GatewayInput,
  literalSeeds: readonly string[],
  base: string,
): GatewayInput {
  if (!input.proof) return input;
  const r = rng.int(100);
  if (r < 55) return { ...input, proof: input.proof };
  if (r < 80) {
    const p = mutateProofSpec(rng, input.proof, base);
    return p ? { ...input, proof: p } : { ...input, proof: undefined };
  }
  const { proof: _p, ...rest } = input;
  return {
    ...rest,
    req: {
      ...rest.req,
      headers: { ...rest.req.headers, dpop: mutateJws(rng, rng.pick(literalSeeds), literalSeeds) },
    },
  };
}

/** A request mutated at the HTTP level: headers, path, method. */
function httpDamage(rng: Rng, req: HttpInput): HttpInput {
  const r = rng.int(100);
  if (r < 70) return req;
  if (r < 85) return { ...req, headers: mutateHeaders(rng, req.headers) };
  if (r < 95) return { ...req, url: mutatePath(rng, req.url) };
  return {
    ...req,
    method: rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'post', 'PROPFIND', 'CONNECT']),
  };
}

/** JSON text parsed, or `fallback` when it is not JSON. */
function parsedOr(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

const binding = (nonce: string, jkt: string) =>
  createHash('sha256').update(`${nonce}.${jkt}`, 'ascii').digest();

export const gatewayRegister: Target = {
  name: 'gateway-register',
  about:
    'POST /charter/v1/register bodies (charter, platform, attestation, attester_token) with fresh and mutated DPoP proofs',
  async setup(seed): Promise<Harness> {
    const g = await startGatewayWorld(seed);
    const { w, gw } = g;
    const htu = `${gw.url}/charter/v1/register`;
    const jkt = 'A'.repeat(43);
    const androidKey = g.keys[0] as (typeof g.keys)[number];
    const androidAtt = {
      fmt: 'android-key',
      x5c: w.android.attest({
        challenge: binding('n', jkt),
        publicKey: androidKey.publicKey,
        packageName: PACKAGE,
        signingCertDigests: [DIGEST],
      }).x5c,
    };
    const a = w.apple.attest({ appId: `${TEAM}.${BUNDLE}`, clientDataHash: binding('n', jkt) });
    const appleAtt = { fmt: 'apple-appattest', key_id: a.keyIdB64, attestation: a.attestationB64 };
    const bodies: Record<string, unknown>[] = [
      { charter: w.charters.server, platform: 'server' },
      { charter: w.charters.all, platform: 'server' },
      { charter: w.charters.web, platform: 'web' },
      { charter: w.charters.android, platform: 'android' },
      { charter: w.charters.android, platform: 'android', attestation: androidAtt },
      { charter: w.charters.ios, platform: 'ios', attestation: appleAtt },
      { charter: w.charters.all, platform: 'android', attester_token: w.charters.server },
    ];
    const literal = [
      jws(
        { typ: 'dpop+jwt', alg: 'ES256', jwk: androidKey.jwk },
        { jti: 'j', htm: 'POST', htu, iat: now(), nonce: 'n' },
        androidKey.privateKey,
      ),
    ];
    const charters = Object.values(w.charters);
    return {
      seeds: bodies,
      generate(rng) {
        const body = rng.pick(bodies);
        const doc = { ...body };
        let text: string;
        let type: string | undefined;
        const r = rng.int(100);
        if (r < 25 && typeof doc.charter === 'string') {
          // The charter mutated as a JWS, signed again by the vendor's key most of the time.
          doc.charter = mutateJws(rng, doc.charter, charters, (input) => jwsSign(input, w.signingKey));
          text = JSON.stringify(doc);
        } else if (r < 35 && doc.attestation) {
          doc.attestation = parsedOr(mutateBody(rng, doc.attestation).body, null);
          text = toJsonText(doc);
        } else if (r < 40) {
          text = JSON.stringify(doc);
        } else {
          const m = mutateBody(rng, doc, bodies);
          text = m.body;
          type = m.type;
        }
        const headers: Record<string, string | string[]> = { 'content-type': type ?? 'application/json' };
        if (rng.chance(0.05))
          headers.origin = rng.pick(['https://beta.example', 'https://evil.example', 'null']);
        const input: GatewayInput = {
          req: httpDamage(rng, { method: 'POST', url: '/charter/v1/register', headers, body: text }),
          proof: { key: rng.int(3), htu, nonce: 'fresh' },
        };
        return withProof(rng, input, literal, gw.url);
      },
      run: (input) => g.run(input as GatewayInput),
      close: () => g.close(),
    };
  },
};

export const gatewayToken: Target = {
  name: 'gateway-token',
  about: 'POST /charter/v1/token bodies (instance_id, assertion) with fresh and mutated DPoP proofs',
  async setup(seed): Promise<Harness> {
    const g = await startGatewayWorld(seed);
    const htu = `${g.gw.url}/charter/v1/token`;
    const bodies = g.instances.map((i) => ({ instance_id: i.id }));
    bodies.push({ instance_id: 'ins_unknown' }, {
      instance_id: (g.instances[0] as { id: string }).id,
      assertion: 'omlzaWduYXR1cmVYRzBF',
    } as never);
    const k = g.keys[0] as (typeof g.keys)[number];
    const literal = [
      jws(
        { typ: 'dpop+jwt', alg: 'ES256', jwk: k.jwk },
        { jti: 'j', htm: 'POST', htu, iat: now() },
        k.privateKey,
      ),
    ];
    return {
      seeds: bodies,
      generate(rng) {
        const i = rng.int(bodies.length);
        const body = bodies[i] as Record<string, unknown>;
        const m = rng.chance(0.15) ? { body: JSON.stringify(body) } : mutateBody(rng, body, bodies);
        const input: GatewayInput = {
          req: httpDamage(rng, {
            method: 'POST',
            url: '/charter/v1/token',
            headers: { 'content-type': m.type ?? 'application/json' },
            body: m.body,
          }),
          // The proof is signed by the instance's own key most of the time.
          proof: {
            key: rng.chance(0.8) ? (g.instances[i]?.key ?? 0) : rng.int(3),
            htu,
            ...(rng.chance(0.1) ? { nonce: 'fresh' as const } : {}),
          },
        };
        return withProof(rng, input, literal, g.gw.url);
      },
      run: (input) => g.run(input as GatewayInput),
      close: () => g.close(),
    };
  },
};

export const gatewayProtected: Target = {
  name: 'gateway-protected',
  about:
    'protected requests and POST /charter/v1/client-attestation: Authorization, DPoP, paths, methods, headers; other endpoints and preflights',
  async setup(seed): Promise<Harness> {
    const g = await startGatewayWorld(seed);
    const base = g.gw.url;
    const paths = [
      '/orders',
      '/orders/1?expand=items',
      '/charter/v1/client-attestation',
      '/charter/v1/orders',
      '/a/b/c',
    ];
    const literalTokens = g.tokens;
    const k = g.keys[0] as (typeof g.keys)[number];
    const literal = [
      jws(
        { typ: 'dpop+jwt', alg: 'ES256', jwk: k.jwk },
        { jti: 'j', htm: 'GET', htu: `${base}/orders`, iat: now(), ath: sha256b64u(g.tokens[0] as string) },
        k.privateKey,
      ),
    ];
    return {
      seeds: paths,
      generate(rng) {
        const r = rng.int(100);
        if (r < 8) {
          // The other endpoints, any method; and CORS preflights.
          const url = rng.pick([
            '/.well-known/charter',
            '/charter/v1/challenge',
            '/charter/v1/attester/jwks',
            '/charter/healthz',
            '/charter/readyz',
            '/charter/metrics',
            '/charter/admin/api/session',
            '/charter/',
            '/',
          ]);
          const headers: Record<string, string | string[]> = rng.chance(0.3)
            ? {
                origin: rng.pick(['https://beta.example', 'https://evil.example', 'null']),
                'access-control-request-method': rng.pick(['POST', 'GET', 'DELETE']),
                'access-control-request-headers': rng.pick(['dpop, authorization', 'x-evil', '*']),
              }
            : {};
          return {
            req: httpDamage(rng, {
              method: rng.pick(['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']),
              url,
              headers,
            }),
          };
        }
        const t = rng.int(g.tokens.length);
        const inst = g.instances[t] as { key: number };
        const path = rng.pick(paths);
        const method = path.includes('client-attestation')
          ? 'POST'
          : rng.pick(['GET', 'GET', 'POST', 'DELETE']);
        const headers: Record<string, string | string[]> = { authorization: '$token' };
        const tr = rng.int(100);
        if (tr < 20) headers.authorization = `DPoP ${mutateJws(rng, g.tokens[t] as string, literalTokens)}`;
        else if (tr < 25)
          headers.authorization = rng.pick([
            `Bearer ${g.tokens[t]}`,
            `DPoP  ${g.tokens[t]}`,
            'DPoP',
            `dpop ${g.tokens[t]}`,
            `DPoP ${g.tokens[t]}, DPoP ${g.tokens[t]}`,
            '',
            nastyString(rng),
          ]);
        if (rng.chance(0.1)) headers['charter-token'] = g.tokens[(t + 1) % g.tokens.length] as string;
        const body = method === 'POST' && rng.chance(0.5) ? mutateBody(rng, { a: 1 }).body : undefined;
        if (body !== undefined) headers['content-type'] = 'application/json';
        const input: GatewayInput = {
          req: httpDamage(rng, { method, url: path, headers, ...(body !== undefined ? { body } : {}) }),
          proof: {
            key: rng.chance(0.85) ? inst.key : rng.int(3),
            htm: method,
            htu: `${base}${path.split('?')[0]}`,
            ath: 'token',
            nonce: 'none',
          },
          token: t,
        };
        return withProof(rng, input, literal, base);
      },
      run: (input) => g.run(input as GatewayInput),
      close: () => g.close(),
    };
  },
};

export const GATEWAY_TARGETS = [gatewayRegister, gatewayToken, gatewayProtected];
