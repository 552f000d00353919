/**
 * `npm start`: the first run. A throwaway vendor approves its own app and a third party's, issues a
 * site license admitting both, starts a small sample API behind the gateway, then runs the approved
 * apps and three clones and prints who was admitted and who was refused, and why. Then it serves the
 * Charter web client on an origin of its own (the approved web app, which a browser shows being
 * admitted through the gateway on another origin) next to a clone page on a third origin, which the
 * gateway's CORS preflight refuses. Last, a user signs in with the hospital's own identity provider
 * through an approved app, and a clone is refused by that identity provider. Everything stays up
 * afterwards so you can try it by hand
 * (CHARTER_DEMO_EXIT=1 stops it after the story, for tests).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '@charter/cli';
import { CharterError, createCharterClient, createSignIn, MemoryKeyStore } from '@charter/client';
import { parseTrustFile } from '@charter/core';
import { createGatewayLogger } from '@charter/gateway';
import { startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import { createRemoteJWKSet, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { type RunningWebClient, reservePort, serveWebClient } from '../packages/client/demo/server.ts';
import { signInOverHttp, startIdp } from './first-run/sample-idp.ts';

const dir = mkdtempSync(join(tmpdir(), 'charter-first-run-'));
const env = {
  ...process.env,
  CHARTER_PASSPHRASE: 'first-run passphrase (throwaway)',
  CHARTER_ACTOR: 'first-run',
};
const say = (line = '') => process.stdout.write(`${line}\n`);

/** Run a charter command in-process and return its JSON answer. */
// biome-ignore lint/suspicious/noExplicitAny: each command answers with its own JSON object.
async function charter(...args: string[]): Promise<any> {
  const r = await runCaptured([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`charter ${args.join(' ')} failed: ${r.stderr}`);
  return r.json;
}

/** A preferred port, else any free one: the first run must work next to whatever else is running. */
async function reserve(preferred: number) {
  return reservePort(preferred).catch(() => reservePort(0));
}
const webPort = (s: Awaited<ReturnType<typeof reservePort>>) => (s.address() as AddressInfo).port;
// The web pages' origins go into the charter, so their ports are taken before the vendor approves it.
const appServer = await reserve(Number(process.env.CHARTER_DEMO_WEB_PORT ?? 5173));
const cloneServer = await reserve(Number(process.env.CHARTER_DEMO_CLONE_PORT ?? 5174));
const appOrigin = `http://127.0.0.1:${webPort(appServer)}`;
const cloneOrigin = `http://127.0.0.1:${webPort(cloneServer)}`;

say('Charter — first run');
say(`Working folder: ${dir}`);
say();
const V = join(dir, 'vendor');
await charter('vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme Health');
await charter('vendor', 'export-trust', '--home', V, '--out', join(dir, 'trust.json'));
const own = await charter('vendor', 'publisher', 'add', '--home', V, '--name', 'Acme Health');
const beta = await charter('vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps');
const gamma = await charter('vendor', 'publisher', 'add', '--home', V, '--name', 'Gamma Labs');
const scopes = 'orders:read,orders:write';
const ward = await charter(
  'vendor',
  'app',
  'submit',
  '--home',
  V,
  '--publisher',
  own.publisher_id,
  '--name',
  'Acme Ward',
  '--scopes',
  scopes,
  '--web-origin',
  appOrigin,
  '--server',
);
const orders = await charter(
  'vendor',
  'app',
  'submit',
  '--home',
  V,
  '--publisher',
  beta.publisher_id,
  '--name',
  'Beta Orders',
  '--scopes',
  'orders:read',
  '--server',
);
const other = await charter(
  'vendor',
  'app',
  'submit',
  '--home',
  V,
  '--publisher',
  gamma.publisher_id,
  '--name',
  'Gamma Reports',
  '--scopes',
  'orders:read',
  '--server',
);
for (const [s, file] of [
  [ward, 'acme-ward.charter'],
  [orders, 'beta-orders.charter'],
  [other, 'gamma-reports.charter'],
] as const) {
  await charter(
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    s.submission_id,
    '--ttl',
    '180d',
    '--out',
    join(dir, file),
  );
}
say(
  '1. Vendor "acme" signed three charters: its own Acme Ward, Beta Apps\' Beta Orders, Gamma Labs\' Gamma Reports.',
);
const site = await charter('vendor', 'site', 'add', '--home', V, '--name', 'Hospital A');
const lic = await charter(
  'vendor',
  'license',
  'issue',
  '--home',
  V,
  '--site',
  site.site_id,
  '--apps',
  `${ward.app_id},${orders.app_id}`,
  '--ttl',
  '365d',
  '--out',
  join(dir, 'hospital-a.license'),
);
say(`2. Hospital A's license (serial ${lic.serial}) admits Acme Ward and Beta Orders — not Gamma Reports.`);

// A clone's forged charter: same vendor id, same claims, signed by a key the real vendor never made.
const forger = join(dir, 'forger');
await charter('vendor', 'init', '--home', forger, '--vendor-id', 'acme', '--name', 'Not Acme');
const fp = await charter('vendor', 'publisher', 'add', '--home', forger, '--name', 'Acme Health');
const fs = await charter(
  'vendor',
  'app',
  'submit',
  '--home',
  forger,
  '--publisher',
  fp.publisher_id,
  '--name',
  'Acme Ward',
  '--scopes',
  scopes,
  '--server',
);
await charter(
  'vendor',
  'app',
  'approve',
  '--home',
  forger,
  fs.submission_id,
  '--ttl',
  '180d',
  '--out',
  join(dir, 'forged.charter'),
);

// The sample API: it trusts the Charter-* headers because only the gateway can reach it, and checks
// a user's token (from the hospital's identity provider, below) against that provider's keys itself.
const API_RESOURCE = 'https://api.hospital-a.example';
let userKeys: ReturnType<typeof createRemoteJWKSet> | undefined;
let idpIssuer = '';
async function userOf(authorization: string | undefined): Promise<string | undefined> {
  if (!authorization?.startsWith('DPoP ') || !userKeys) return undefined;
  try {
    const { payload } = await jwtVerify(authorization.slice(5), userKeys, {
      issuer: idpIssuer,
      audience: API_RESOURCE,
    });
    return payload.sub;
  } catch {
    return 'invalid user token';
  }
}
const api = createServer((req, res) => {
  void userOf(req.headers.authorization).then((user) => {
    const body = JSON.stringify({
      orders: [{ id: 1, item: 'saline 0.9%', qty: 40 }],
      served_to: {
        app: req.headers['charter-app-id'],
        instance: req.headers['charter-instance-id'],
        scope: req.headers['charter-scope'],
        ...(user ? { user } : {}),
      },
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
});
await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

const routesFile = join(dir, 'routes.json');
writeFileSync(
  routesFile,
  `${JSON.stringify(
    [
      { method: 'GET', path: '/orders*', scope: 'orders:read' },
      { method: 'POST', path: '/orders*', scope: 'orders:write' },
    ],
    null,
    2,
  )}\n`,
);
const store = new SqliteStore(join(dir, 'gateway', 'gateway.db'));
const trust = await parseTrustFile(readFileSync(join(dir, 'trust.json'), 'utf8'));
const preferred = Number(process.env.CHARTER_DEMO_PORT ?? 8080);
const options = {
  trust,
  store,
  license: readFileSync(join(dir, 'hospital-a.license'), 'utf8'),
  upstream: apiUrl,
  host: '127.0.0.1',
  routes: JSON.parse(readFileSync(routesFile, 'utf8')),
  logger: createGatewayLogger({ level: process.env.CHARTER_LOG_LEVEL ?? 'silent' }),
  // Metrics are never on the public listener: a loopback address of their own.
  metricsListen: { host: '127.0.0.1', port: 0 },
  // Client attestations for the hospital's identity provider: Beta Orders is its client "beta-orders".
  oauthClients: { [orders.app_id]: 'beta-orders' },
};
const gw = await startGateway({ ...options, port: preferred }).catch(() =>
  startGateway({ ...options, port: 0 }),
);
say(`3. The gateway protects the sample API at ${gw.url}.`);
say();

const names: Record<string, string> = {
  [ward.app_id]: 'Acme Ward',
  [orders.app_id]: 'Beta Orders',
  [other.app_id]: 'Gamma Reports',
};
type Outcome = { who: string; result: string };
const outcomes: Outcome[] = [];
async function tryApp(who: string, charterFile: string | undefined): Promise<void> {
  try {
    if (!charterFile) {
      const res = await fetch(`${gw.url}/orders`);
      const body = (await res.json()) as { error: string };
      outcomes.push({ who, result: `refused: ${res.status} ${body.error}` });
      return;
    }
    const client = createCharterClient({
      baseUrl: gw.url,
      charter: readFileSync(join(dir, charterFile), 'utf8'),
      platform: 'server',
      keyStore: new MemoryKeyStore(),
    });
    const res = await client.fetch('/orders');
    const body = (await res.json()) as { served_to?: { app: string }; error?: string };
    outcomes.push({
      who,
      result: res.ok
        ? `admitted: GET /orders → ${res.status}, the API saw app ${names[body.served_to?.app ?? ''] ?? body.served_to?.app}`
        : `refused: ${res.status} ${body.error}`,
    });
  } catch (e) {
    if (!(e instanceof CharterError)) throw e;
    outcomes.push({ who, result: `refused: ${e.code} (${e.message})` });
  }
}
await tryApp('Acme Ward (the vendor’s own app)', 'acme-ward.charter');
await tryApp('Beta Orders (approved third party)', 'beta-orders.charter');
await tryApp('Clone with no charter', undefined);
await tryApp('Clone with a charter forged with another key', 'forged.charter');
await tryApp('Gamma Reports (genuine charter, not admitted here)', 'gamma-reports.charter');
const width = Math.max(...outcomes.map((o) => o.who.length));
for (const o of outcomes) say(`   ${o.who.padEnd(width)}  ${o.result}`);
say();

// The web platform: the same app in a browser, on its own origin, and a clone of it on another.
const wardCharter = readFileSync(join(dir, 'acme-ward.charter'), 'utf8').trim();
const pageConfig = {
  gateway: gw.url,
  charter: wardCharter,
  charterOrigins: [appOrigin],
  apiPath: '/orders',
};
const pages: RunningWebClient[] = [
  await serveWebClient(
    appServer,
    {
      ...pageConfig,
      title: 'Acme Ward',
      role: 'app',
      intro:
        'The approved web app, served from the origin its charter names. The gateway is on another origin, so the browser asks it first (CORS); the origins it allows come from the vendor-signed license.',
    },
    '127.0.0.1',
  ),
  await serveWebClient(
    cloneServer,
    {
      ...pageConfig,
      title: 'Acme Ward (clone)',
      role: 'clone',
      intro:
        'A clone that copied Acme Ward’s charter out of the web app and runs it from an origin no charter lists. The gateway refuses its CORS preflight, so the browser never even sends the registration.',
    },
    '127.0.0.1',
  ),
];
say('4. In a browser (the gateway is on another origin, so CORS decides, from the license’s web origins):');
say(
  `   Acme Ward, the approved web app    ${pages[0]?.url}   watch it register, get a token and call GET /orders`,
);
say(`   a clone with the copied charter    ${pages[1]?.url}   refused: the gateway turns down its preflight`);
say();

// 5. The hospital's own identity provider (a real OpenID Connect server, oidc-provider), configured
// to trust the gateway's client attester: only instances Charter admitted get user tokens.
const REDIRECT = 'http://localhost:5174/callback';
const NURSE = { login: 'nurse.alice', password: 'first-run password (throwaway)' };
const idp = await startIdp({
  attesterJwks: gw.gateway.attesterJwks() as Parameters<typeof startIdp>[0]['attesterJwks'],
  attesterIssuer: gw.gateway.wellKnown().issuer,
  clients: [{ client_id: 'beta-orders', redirect_uri: REDIRECT }],
  apiResource: API_RESOURCE,
  users: { [NURSE.login]: { password: NURSE.password, name: 'Alice (nurse)' } },
});
idpIssuer = idp.issuer;
userKeys = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
say(`5. Hospital A's identity provider runs at ${idp.issuer}; it trusts the gateway's client attester.`);
const signed: Outcome[] = [];
{
  const who = 'Nurse Alice signs in through Beta Orders';
  const client = createCharterClient({
    baseUrl: gw.url,
    charter: readFileSync(join(dir, 'beta-orders.charter'), 'utf8'),
    platform: 'server',
    keyStore: new MemoryKeyStore(),
  });
  const session = createSignIn({
    charter: client,
    issuer: idp.issuer,
    redirectUri: REDIRECT,
    scope: 'openid profile',
  });
  const pending = await session.begin();
  const { callback } = await signInOverHttp(pending.url, NURSE, REDIRECT);
  const tokens = await session.complete(callback, pending);
  const res = await client.fetch('/orders');
  const body = (await res.json()) as { served_to?: { app: string; user?: string } };
  signed.push({
    who,
    result: `admitted: ${tokens.token_type} user token from the IdP; GET /orders → ${res.status}, the API saw app ${names[body.served_to?.app ?? '']} and user ${body.served_to?.user}`,
  });

  // A clone with Beta Orders' charter and its client attestation copied, but not its instance key
  // (non-extractable): the nurse signs in through it, and the identity provider refuses the clone.
  const copied = await client.clientAttestation();
  const cloneKey = await generateKeyPair('ES256');
  const meta = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
    token_endpoint: string;
    challenge_endpoint: string;
  };
  const again = await session.begin();
  const { callback: cb } = await signInOverHttp(again.url, NURSE, REDIRECT);
  const { attestation_challenge } = (await (
    await fetch(meta.challenge_endpoint, { method: 'POST' })
  ).json()) as {
    attestation_challenge: string;
  };
  const pop = await new SignJWT({
    aud: idp.issuer,
    jti: crypto.randomUUID(),
    challenge: attestation_challenge,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'oauth-client-attestation-pop+jwt' })
    .setIssuedAt()
    .sign(cloneKey.privateKey);
  const refused = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'oauth-client-attestation': copied.client_attestation,
      'oauth-client-attestation-pop': pop,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: cb.searchParams.get('code') ?? '',
      redirect_uri: REDIRECT,
      code_verifier: again.codeVerifier,
      client_id: 'beta-orders',
    }).toString(),
  });
  const answer = (await refused.json()) as { error: string };
  signed.push({
    who: 'Clone with Beta Orders’ charter and attestation copied',
    result: `refused by the identity provider: ${refused.status} ${answer.error} (no user token at all)`,
  });
}
const w2 = Math.max(...signed.map((o) => o.who.length));
for (const o of signed) say(`   ${o.who.padEnd(w2)}  ${o.result}`);
say();

const stop = async () => {
  for (const p of pages) await p.close();
  await idp.close();
  await gw.close();
  await store.close();
  api.close();
};
if (process.env.CHARTER_DEMO_EXIT === '1') {
  await stop();
} else {
  say(`The gateway is still running at ${gw.url}, the web pages too (Ctrl-C stops them). Try it by hand:`);
  say(`  curl ${gw.url}/.well-known/charter`);
  say(`  curl -i ${gw.url}/orders                      # refused: no token`);
  say(`  npx charter license inspect ${join(dir, 'hospital-a.license')} --trust ${join(dir, 'trust.json')}`);
  say(`  curl ${gw.metricsUrl}/charter/metrics            # operations listener, not public`);
  say(
    `  curl -i -X OPTIONS ${gw.url}/orders -H 'Origin: ${cloneOrigin}' -H 'Access-Control-Request-Method: GET'   # 403: not a licensed origin`,
  );
  say(`  curl ${gw.url}/charter/v1/attester/jwks          # the key the identity provider trusts`);
  say(`  curl ${idp.issuer}/.well-known/openid-configuration   # the sample identity provider`);
  say(`Charters, license, trust file and routes are in ${dir}.`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop().then(() => process.exit(0));
    });
  }
}
