/** DPoP proofs made by a standard third-party client library (oauth4webapi) are accepted by the gateway. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { makeWorld, type World } from './world.ts';

let world: World;
before(async () => {
  world = await makeWorld(['orders']);
});
after(() => world.close());

/** Registration and token endpoints are Charter's own; their proofs are made here with jose, from the SPEC. */
async function proof(keys: CryptoKeyPair, htu: string, nonce?: string): Promise<string> {
  const { kty, crv, x, y } = await exportJWK(keys.publicKey);
  return new SignJWT({ htm: 'POST', htu, jti: crypto.randomUUID(), ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } })
    .setIssuedAt()
    .sign(keys.privateKey);
}

test('oauth4webapi protected-resource requests with its DPoP handle reach the API', async () => {
  const gw = await world.gateway({ license: await world.license(['orders']) });
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const { nonce } = (await (await fetch(`${gw.url}/charter/v1/challenge`, { method: 'POST' })).json()) as {
    nonce: string;
  };
  const register = await fetch(`${gw.url}/charter/v1/register`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      dpop: await proof(keys, `${gw.url}/charter/v1/register`, nonce),
    },
    body: JSON.stringify({ charter: world.apps.orders?.charter, platform: 'server' }),
  });
  const { instance_id } = (await register.json()) as { instance_id: string };
  const token = await fetch(`${gw.url}/charter/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', dpop: await proof(keys, `${gw.url}/charter/v1/token`) },
    body: JSON.stringify({ instance_id }),
  });
  const { access_token, token_type } = (await token.json()) as { access_token: string; token_type: string };
  assert.equal(token_type, 'DPoP');

  const client: oauth.Client = { client_id: 'charter-e2e' };
  const DPoP = oauth.DPoP(client, keys);
  assert.equal(
    await DPoP.calculateThumbprint(),
    await calculateJwkThumbprint(await exportJWK(keys.publicKey)),
  );
  const options = { DPoP, [oauth.allowInsecureRequests]: true };
  for (const [method, path] of [
    ['GET', '/orders?status=open'],
    ['POST', '/orders'],
    ['GET', '/orders/42'],
  ] as const) {
    const body = method === 'POST' ? JSON.stringify({ item: 'gauze' }) : undefined;
    const headers = new Headers(body ? { 'content-type': 'application/json' } : {});
    const res = await oauth.protectedResourceRequest(
      access_token,
      method,
      new URL(path, gw.url),
      headers,
      body,
      options,
    );
    assert.equal(res.status, 200, `${method} ${path}: ${await res.clone().text()}`);
    assert.equal(world.api.seen.at(-1)?.headers['charter-instance-id'], instance_id);
  }
  // The same library's proof replayed by hand is refused: a proof is single-use.
  let captured = '';
  const capture: oauth.ProtectedResourceRequestOptions = {
    DPoP,
    [oauth.allowInsecureRequests]: true,
    [oauth.customFetch]: (url, init) => {
      captured = new Headers(init.headers).get('dpop') ?? '';
      return fetch(url, init as RequestInit);
    },
  };
  await oauth.protectedResourceRequest(
    access_token,
    'GET',
    new URL('/orders', gw.url),
    new Headers(),
    undefined,
    capture,
  );
  // Nothing captured would make the replay below a request without a proof, refused for another reason.
  assert.match(captured, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the proof the library sent was captured');
  const replay = await fetch(new URL('/orders', gw.url), {
    headers: { authorization: `DPoP ${access_token}`, dpop: captured },
  });
  assert.equal(replay.status, 401);
  assert.equal(((await replay.json()) as { error: string }).error, 'invalid_dpop_proof');
});
