/**
 * The customer's own identity system, end to end with real parts: oidc-provider (npm) as the
 * customer's OpenID Connect server, trusting the site's Charter attester for client authentication
 * (`attest_jwt_client_auth`); openid-client (npm) as an independent third-party client; the real
 * `charter gateway start` process in front of a sample API. A user signs in (code + PKCE, DPoP-bound
 * to the instance key) and calls the API with both identities; clones and a revoked instance are
 * refused by the OAuth server and by the gateway.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CharterClient, createSignIn, MemoryKeyStore } from '@charter/client';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import * as client from 'openid-client';
import { type Idp, signInOverHttp, startIdp } from '../../../scripts/first-run/sample-idp.ts';
import { run, type Started, startGatewayProcess } from './processes.ts';
import { charter, makeWorld, type World } from './world.ts';

const REDIRECT = 'https://orders.example/callback';
const API = 'https://api.hospital-a.example';
const ALICE = { login: 'alice', password: 'correct horse battery staple' };
const hash = (s: string) => createHash('sha256').update(s).digest('base64url');

let world: World;
let gw: Started;
let G: string;
let gwUrl: string;
let issuer: string;
let idp: Idp;
let attesterJwks: { keys: JWK[] };

/** An app instance made by hand from SPEC §3 (jose only): key, registration, Charter token. */
interface Instance {
  keys: CryptoKeyPair;
  jwk: JWK;
  jkt: string;
  instance_id?: string;
  token?: string;
}

async function newKeys(): Promise<Instance> {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const { kty, crv, x, y } = await exportJWK(keys.publicKey);
  const jwk = { kty, crv, x, y } as JWK;
  return { keys, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

async function proof(
  inst: Instance,
  method: string,
  url: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ htm: method, htu: url, jti: randomUUID(), ...extra })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: inst.jwk })
    .setIssuedAt()
    .sign(inst.keys.privateKey);
}

async function post(url: string, headers: Record<string, string>, body: unknown = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers checked field by field.
  return { status: res.status, json: (await res.json()) as any };
}

/** Register and get a Charter token, as an approved app does. */
async function registered(charterText: string): Promise<Instance> {
  const inst = await newKeys();
  const { json: c } = await post(`${gwUrl}/charter/v1/challenge`, {});
  const reg = await post(
    `${gwUrl}/charter/v1/register`,
    { dpop: await proof(inst, 'POST', `${gwUrl}/charter/v1/register`, { nonce: c.nonce }) },
    { charter: charterText, platform: 'server' },
  );
  assert.equal(reg.status, 200, JSON.stringify(reg.json));
  inst.instance_id = reg.json.instance_id;
  await refreshToken(inst);
  return inst;
}

async function refreshToken(inst: Instance): Promise<{ status: number; json: { error?: string } }> {
  const tok = await post(
    `${gwUrl}/charter/v1/token`,
    { dpop: await proof(inst, 'POST', `${gwUrl}/charter/v1/token`) },
    { instance_id: inst.instance_id },
  );
  if (tok.status === 200) inst.token = tok.json.access_token;
  return tok;
}

/** Ask the gateway for a client attestation with the instance's Charter token. */
function clientAttestation(inst: Instance, token = inst.token) {
  const url = `${gwUrl}/charter/v1/client-attestation`;
  return (async () =>
    post(url, {
      ...(token ? { authorization: `DPoP ${token}` } : {}),
      dpop: await proof(inst, 'POST', url, token ? { ath: hash(token) } : {}),
    }))();
}

/** The Client Attestation PoP of the draft, with the OAuth server's fresh challenge. */
async function attestationPop(inst: Instance, config: client.Configuration): Promise<string> {
  const endpoint = config.serverMetadata().challenge_endpoint as string;
  assert.ok(endpoint, 'the OAuth server advertises a challenge endpoint');
  const res = await fetch(endpoint, { method: 'POST' });
  const { attestation_challenge } = (await res.json()) as { attestation_challenge: string };
  assert.ok(attestation_challenge);
  return new SignJWT({
    aud: config.serverMetadata().issuer,
    jti: randomUUID(),
    challenge: attestation_challenge,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'oauth-client-attestation-pop+jwt' })
    .setIssuedAt()
    .sign(inst.keys.privateKey);
}

/** openid-client configured for the OAuth server, authenticating with a client attestation. */
async function oauthClient(
  headers: () => { attestation: string; pop: string },
): Promise<client.Configuration> {
  const auth: client.ClientAuth = (_as, _client, _body, h) => {
    const { attestation, pop } = headers();
    h.set('oauth-client-attestation', attestation);
    h.set('oauth-client-attestation-pop', pop);
  };
  return client.discovery(
    new URL(idp.issuer),
    'orders-app',
    { id_token_signed_response_alg: 'ES256' },
    auth,
    {
      execute: [client.allowInsecureRequests],
    },
  );
}

/** A user's sign-in through the app: authorization code + PKCE, then the token request. */
async function signIn(inst: Instance, attestation: string) {
  let current = { attestation, pop: '' };
  const config = await oauthClient(() => current);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid profile orders:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    dpop_jkt: inst.jkt,
  });
  const { callback, steps } = await signInOverHttp(url, ALICE, REDIRECT);
  assert.ok(callback.searchParams.get('code'), JSON.stringify(steps));
  current = { attestation, pop: await attestationPop(inst, config) };
  const DPoP = client.getDPoPHandle(config, inst.keys);
  return {
    config,
    tokens: () =>
      client.authorizationCodeGrant(
        config,
        callback,
        { pkceCodeVerifier: verifier, expectedState: state },
        undefined,
        { DPoP },
      ),
  };
}

/** What the API does with the user's credential it received: the checks of RFC 9068 and RFC 9449 §7. */
async function apiChecksUser(headers: IncomingHttpHeaders, path: string): Promise<Record<string, unknown>> {
  const authorization = headers.authorization ?? '';
  assert.match(authorization, /^DPoP /);
  const token = authorization.slice(5);
  const meta = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
  };
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(meta.jwks_uri)), {
    issuer: idp.issuer,
    audience: API,
    typ: 'at+jwt',
  });
  const dpop = String(headers.dpop);
  const { jwk } = decodeProtectedHeader(dpop) as { jwk: JWK };
  const { payload: p } = await jwtVerify(dpop, await importJWK(jwk, 'ES256'), { typ: 'dpop+jwt' });
  assert.equal(
    (payload.cnf as { jkt: string }).jkt,
    await calculateJwkThumbprint(jwk),
    'the user token is bound to the proof key',
  );
  assert.equal(p.ath, hash(token), 'the proof is bound to the user token');
  assert.equal(p.htu, `${gwUrl}${path}`);
  return payload;
}

before(async () => {
  world = await makeWorld(['orders', 'reports']);
  G = join(world.dir, 'G');
  mkdirSync(G);
  const license = join(world.dir, 'first.license');
  writeFileSync(license, await world.license(['orders', 'reports']));
  const routes = join(world.dir, 'routes.json');
  writeFileSync(routes, JSON.stringify([{ method: 'GET', path: '/orders*', scope: 'orders:read' }]));
  const clients = join(world.dir, 'oauth-clients.json');
  writeFileSync(clients, JSON.stringify({ [world.apps.orders?.app_id as string]: 'orders-app' }));
  // The operator exports the attester key for the OAuth server before the gateway ever ran.
  const exported = run(['gateway', 'attester', 'jwks', '--home', G]);
  assert.equal(exported.code, 0, exported.stderr);
  attesterJwks = exported.json.jwks;
  gw = await startGatewayProcess([
    '--home',
    G,
    '--license',
    license,
    '--trust',
    join(world.dir, 'trust.json'),
    '--upstream',
    world.api.url,
    '--listen',
    '127.0.0.1:0',
    '--routes',
    routes,
    '--oauth-clients',
    clients,
  ]);
  gwUrl = gw.info.url;
  issuer = ((await (await fetch(`${gwUrl}/.well-known/charter`)).json()) as { issuer: string }).issuer;
  idp = await startIdp({
    attesterJwks,
    attesterIssuer: issuer,
    clients: [{ client_id: 'orders-app', redirect_uri: REDIRECT }],
    apiResource: API,
    users: { alice: { password: ALICE.password, name: 'Alice' } },
  });
});
after(async () => {
  await idp?.close();
  await gw?.stop();
  await world?.close();
});

test('the running gateway serves the attester key the operator exported', async () => {
  const served = await (await fetch(`${gwUrl}/charter/v1/attester/jwks`)).json();
  assert.deepEqual(served, attesterJwks);
  const key = attesterJwks.keys[0] as JWK;
  assert.equal(key.kty, 'EC');
  assert.equal(key.alg, 'ES256');
  assert.equal(key.d, undefined, 'no private part');
  const wk = (await (await fetch(`${gwUrl}/.well-known/charter`)).json()) as {
    endpoints: Record<string, string>;
  };
  assert.equal(wk.endpoints.client_attestation, `${gwUrl}/charter/v1/client-attestation`);
});

test('the gateway refuses to start on an OAuth client map that gives two apps one client id', async () => {
  const bad = join(world.dir, 'bad-clients.json');
  writeFileSync(
    bad,
    JSON.stringify({
      [world.apps.orders?.app_id as string]: 'one',
      [world.apps.reports?.app_id as string]: 'one',
    }),
  );
  const license = join(world.dir, 'bad-start.license');
  writeFileSync(license, await world.license(['orders', 'reports']));
  const H = join(world.dir, 'G-bad');
  mkdirSync(H);
  await assert.rejects(
    startGatewayProcess([
      '--home',
      H,
      '--license',
      license,
      '--trust',
      join(world.dir, 'trust.json'),
      '--upstream',
      world.api.url,
      '--listen',
      '127.0.0.1:0',
      '--oauth-clients',
      bad,
    ]),
    (e: { code?: number; stderr?: string }) => e.code === 1 && /invalid_request/.test(e.stderr ?? ''),
  );
});

test('a user signs in through the approved app and calls the API with both identities', async () => {
  const app = await registered(world.apps.orders?.charter as string);
  const att = await clientAttestation(app);
  assert.equal(att.status, 200, JSON.stringify(att.json));
  assert.equal(att.json.client_id, 'orders-app');
  const header = decodeProtectedHeader(att.json.client_attestation);
  assert.equal(header.typ, 'oauth-client-attestation+jwt');
  assert.equal(header.alg, 'ES256');
  const claims = decodeJwt(att.json.client_attestation) as Record<string, unknown> & { cnf: { jwk: JWK } };
  assert.equal(claims.sub, 'orders-app');
  assert.equal(claims.iss, issuer);
  assert.equal(await calculateJwkThumbprint(claims.cnf.jwk), app.jkt, 'cnf.jwk is the instance key');
  assert.ok((claims.exp as number) - (claims.iat as number) <= 300, 'short-lived');
  assert.deepEqual((claims.charter as { instance_id: string }).instance_id, app.instance_id);

  const { tokens } = await signIn(app, att.json.client_attestation);
  const t = await tokens();
  assert.equal(t.token_type.toLowerCase(), 'dpop', 'the user token is DPoP-bound');
  assert.equal((decodeJwt(t.access_token).cnf as { jkt: string }).jkt, app.jkt, '…to the instance key');
  assert.equal(decodeJwt(t.access_token).sub, 'alice');

  // openid-client calls the API through the gateway: its one DPoP proof serves both tokens.
  const config = await oauthClient(() => ({ attestation: '', pop: '' }));
  const charterToken = app.token as string;
  const DPoP = client.getDPoPHandle(config, app.keys, {
    [client.modifyAssertion]: (_h, payload) => {
      payload.charter_ath = hash(charterToken);
    },
  });
  const before = world.api.seen.length;
  const res = await client.fetchProtectedResource(
    config,
    t.access_token,
    new URL('/orders?status=open', gwUrl),
    'GET',
    undefined,
    new Headers({ 'charter-token': charterToken }),
    { DPoP },
  );
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(world.api.seen.length, before + 1);
  const seen = world.api.seen.at(-1)?.headers as IncomingHttpHeaders;
  assert.equal(seen.authorization, `DPoP ${t.access_token}`, 'the user token reaches the API unchanged');
  assert.equal(seen['charter-app-id'], world.apps.orders?.app_id);
  assert.equal(seen['charter-instance-id'], app.instance_id);
  assert.equal(seen['charter-scope'], 'orders:read orders:write');
  assert.equal(seen['charter-token'], undefined, 'the Charter token stays at the gateway');
  const user = await apiChecksUser(seen, '/orders');
  assert.equal(user.sub, 'alice');

  // The single-token form still works for the same instance, and its token never goes upstream.
  const url = `${gwUrl}/orders/1`;
  const single = await fetch(url, {
    headers: {
      authorization: `DPoP ${charterToken}`,
      dpop: await proof(app, 'GET', url, { ath: hash(charterToken) }),
    },
  });
  assert.equal(single.status, 200);
  assert.equal(world.api.seen.at(-1)?.headers.authorization, undefined);
  assert.equal(world.api.seen.at(-1)?.headers.dpop, undefined);
});

test('dual form variants: Bearer user tokens, a user token bound to another key, and bad proofs', async () => {
  const app = await registered(world.apps.orders?.charter as string);
  const token = app.token as string;
  const url = `${gwUrl}/orders/7`;
  const get = (headers: Record<string, string>) => fetch(url, { headers });

  // A Bearer user token: DPoP is the app's alone (bound to the Charter token) and is not forwarded.
  let n = world.api.seen.length;
  let r = await get({
    authorization: 'Bearer user-token-from-the-idp',
    'charter-token': token,
    dpop: await proof(app, 'GET', url, { ath: hash(token) }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(world.api.seen.length, n + 1);
  assert.equal(world.api.seen.at(-1)?.headers.authorization, 'Bearer user-token-from-the-idp');
  assert.equal(world.api.seen.at(-1)?.headers.dpop, undefined);

  // A user token bound to another key: the app's proof goes in Charter-DPoP, the user's DPoP as sent.
  const other = await newKeys();
  const userProof = await proof(other, 'GET', url, { ath: hash('user-token-2') });
  r = await get({
    authorization: 'DPoP user-token-2',
    dpop: userProof,
    'charter-token': token,
    'charter-dpop': await proof(app, 'GET', url, { ath: hash(token) }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(world.api.seen.at(-1)?.headers.authorization, 'DPoP user-token-2');
  assert.equal(world.api.seen.at(-1)?.headers.dpop, userProof);
  assert.equal(world.api.seen.at(-1)?.headers['charter-dpop'], undefined);

  // No user credential at all, the Charter token in its own header: admitted, nothing forwarded.
  r = await get({ 'charter-token': token, dpop: await proof(app, 'GET', url, { ath: hash(token) }) });
  assert.equal(r.status, 200);
  assert.equal(world.api.seen.at(-1)?.headers.authorization, undefined);

  // Refusals: none of them reaches the API.
  n = world.api.seen.length;
  const refusals: [string, Record<string, string>, string][] = [
    [
      'a shared proof without charter_ath',
      {
        authorization: 'DPoP u1',
        'charter-token': token,
        dpop: await proof(app, 'GET', url, { ath: hash('u1') }),
      },
      'invalid_dpop_proof',
    ],
    [
      'a shared proof bound to the Charter token instead of the user token',
      {
        authorization: 'DPoP u2',
        'charter-token': token,
        dpop: await proof(app, 'GET', url, { ath: hash(token), charter_ath: hash(token) }),
      },
      'invalid_dpop_proof',
    ],
    [
      'a shared proof by another key',
      {
        authorization: 'DPoP u3',
        'charter-token': token,
        dpop: await proof(other, 'GET', url, { ath: hash('u3'), charter_ath: hash(token) }),
      },
      'invalid_dpop_proof',
    ],
    [
      'the user token in Charter-Token',
      {
        authorization: `DPoP ${token}`,
        'charter-token': 'eyJ.user.token',
        dpop: await proof(app, 'GET', url, { ath: hash(token) }),
      },
      'invalid_token',
    ],
    [
      'a Charter-Token with a scheme',
      { 'charter-token': `DPoP ${token}`, dpop: await proof(app, 'GET', url, { ath: hash(token) }) },
      'invalid_token',
    ],
    [
      'an empty Charter-Token',
      {
        authorization: 'Bearer u4',
        'charter-token': '',
        dpop: await proof(app, 'GET', url, { ath: hash(token) }),
      },
      'invalid_token',
    ],
    [
      'a Charter-DPoP by the user key',
      {
        authorization: 'DPoP u5',
        'charter-token': token,
        dpop: await proof(other, 'GET', url, { ath: hash('u5') }),
        'charter-dpop': await proof(other, 'GET', url, { ath: hash(token) }),
      },
      'invalid_dpop_proof',
    ],
    ['a user token and no Charter token', { authorization: 'Bearer u6' }, 'invalid_token'],
    [
      'the Charter token in both headers (it would reach the API)',
      {
        authorization: `DPoP ${token}`,
        'charter-token': token,
        dpop: await proof(app, 'GET', url, { ath: hash(token), charter_ath: hash(token) }),
      },
      'invalid_request',
    ],
  ];
  for (const [what, headers, code] of refusals) {
    const res = await get(headers);
    assert.equal(res.status, code === 'invalid_request' ? 400 : 401, what);
    assert.equal(((await res.json()) as { error: string }).error, code, what);
  }
  // Two Charter-Token headers are one comma-joined value, which is no token.
  const twice = await fetch(url, {
    headers: [
      ['charter-token', token],
      ['charter-token', token],
      ['dpop', await proof(app, 'GET', url, { ath: hash(token) })],
    ],
  });
  assert.equal(twice.status, 401);
  assert.equal(world.api.seen.length, n, 'no refused request reached the API');
});

test('a clone with a copied charter but no registered instance is refused by the OAuth server and by the gateway', async () => {
  const app = await registered(world.apps.orders?.charter as string);
  const genuine = await clientAttestation(app);
  assert.equal(genuine.status, 200);
  const clone = await newKeys(); // has the charter text, never registered

  // The gateway: no Charter token, no attestation; a stolen Charter token without the instance key, neither.
  let r = await clientAttestation(clone, undefined);
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_token');
  r = await clientAttestation(clone, app.token);
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_dpop_proof');

  // The OAuth server: an attestation the clone made itself (its own key, the attester's kid and issuer)…
  const forged = await new SignJWT({ sub: 'orders-app', iss: issuer, cnf: { jwk: clone.jwk } })
    .setProtectedHeader({
      alg: 'ES256',
      typ: 'oauth-client-attestation+jwt',
      kid: attesterJwks.keys[0]?.kid as string,
    })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign((await generateKeyPair('ES256')).privateKey);
  const { tokens } = await signIn(clone, forged);
  await assert.rejects(tokens(), (e: { error?: string }) => e.error === 'invalid_client');

  // …and the genuine app's attestation copied, with a PoP the clone can only sign with its own key.
  const copied = await signIn(clone, genuine.json.client_attestation);
  await assert.rejects(copied.tokens(), (e: { error?: string }) => e.error === 'invalid_client');

  // The gateway refuses the clone's API calls whatever user token it holds.
  const url = `${gwUrl}/orders`;
  const res = await fetch(url, {
    headers: {
      authorization: 'DPoP some-user-token',
      'charter-token': app.token as string,
      dpop: await proof(clone, 'GET', url, {
        ath: hash('some-user-token'),
        charter_ath: hash(app.token as string),
      }),
    },
  });
  assert.equal(res.status, 401);
});

test('an app the site maps to no OAuth client gets no client attestation', async () => {
  const reports = await registered(world.apps.reports?.charter as string);
  const r = await clientAttestation(reports);
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_request');
  assert.doesNotMatch(JSON.stringify(r.json), /eyJ/, 'no token in the answer');
});

test('a revoked instance can no longer get a client attestation, nor call the API', async () => {
  const app = await registered(world.apps.orders?.charter as string);
  assert.equal((await clientAttestation(app)).status, 200);
  await charter(
    'vendor',
    'revoke',
    '--home',
    world.V,
    '--instance',
    app.instance_id as string,
    '--reason',
    'lost laptop',
  );
  const next = join(world.dir, 'revoking.license');
  writeFileSync(next, await world.license(['orders', 'reports']));
  const installed = run([
    'gateway',
    'license',
    'install',
    '--home',
    G,
    next,
    '--trust',
    join(world.dir, 'trust.json'),
  ]);
  assert.equal(installed.code, 0, installed.stderr);
  let r = await clientAttestation(app);
  for (let i = 0; i < 40 && r.status === 200; i++) {
    await new Promise((d) => setTimeout(d, 100));
    r = await clientAttestation(app);
  }
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'instance_revoked');
  const url = `${gwUrl}/orders`;
  const api = await fetch(url, {
    headers: {
      'charter-token': app.token as string,
      dpop: await proof(app, 'GET', url, { ath: hash(app.token as string) }),
    },
  });
  assert.equal(api.status, 403);
  // Another instance of the same app is not affected.
  const fresh = await registered(world.apps.orders?.charter as string);
  assert.equal((await clientAttestation(fresh)).status, 200);
});

test('the client SDK: sign-in with code + PKCE, DPoP-bound user tokens, client attestation, API calls with both', async () => {
  const sdk = new CharterClient({
    baseUrl: gwUrl,
    charter: world.apps.orders?.charter as string,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
  });
  const session = createSignIn({
    charter: sdk,
    issuer: idp.issuer,
    redirectUri: REDIRECT,
    scope: 'openid profile orders:read',
  });
  const pending = await session.begin();
  assert.equal(pending.url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(pending.url.searchParams.get('client_id'), 'orders-app');
  const { callback } = await signInOverHttp(pending.url, ALICE, REDIRECT);
  // A callback for another sign-in (another state) is refused before any token request.
  const forgedState = new URL(callback);
  forgedState.searchParams.set('state', 'not-this-one');
  await assert.rejects(session.complete(forgedState, pending), { detail: 'ERR_SIGNIN_STATE' });
  const tokens = await session.complete(callback, pending);
  assert.equal(tokens.token_type, 'DPoP');
  assert.equal((decodeJwt(tokens.access_token).cnf as { jkt: string }).jkt, sdk.instance?.jkt);

  const res = await sdk.fetch('/orders?page=1');
  assert.equal(res.status, 200, await res.clone().text());
  const seen = world.api.seen.at(-1)?.headers as IncomingHttpHeaders;
  assert.equal(seen.authorization, `DPoP ${tokens.access_token}`);
  assert.equal(seen['charter-instance-id'], sdk.instance?.instance_id);
  assert.equal((await apiChecksUser(seen, '/orders')).sub, 'alice');

  // Signed out, the same app goes on with its own identity alone (the single-token form).
  session.signOut();
  assert.equal((await sdk.fetch('/orders')).status, 200);
  assert.equal(world.api.seen.at(-1)?.headers.authorization, undefined);

  // A code is single-use at the OAuth server: replaying the callback gets no second token.
  await assert.rejects(session.complete(callback, pending), { detail: 'ERR_SIGNIN_TOKEN' });
});
