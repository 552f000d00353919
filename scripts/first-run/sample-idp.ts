/**
 * A real OpenID Connect server for tests and the first run: `oidc-provider` (npm) configured as a
 * customer would configure its own identity provider to work with Charter — DPoP-bound access tokens
 * (JWT, so the API can check them offline), and attestation-based client authentication
 * (`attest_jwt_client_auth`) trusting only the site's Charter attester key. Sign-in and consent are
 * a plain HTML form with a password check, driven over HTTP by {@link signInOverHttp}.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import Provider, { type Configuration, type Grant } from 'oidc-provider';

/** What the customer configures: the attester's public keys and issuer, and its clients. */
export interface IdpOptions {
  /** The site's Charter attester JWK Set (`charter gateway attester jwks`). */
  attesterJwks: { keys: JWK[] };
  /** The `iss` of client attestations: the gateway's public URL. */
  attesterIssuer: string;
  /** OAuth clients, each one Charter app (the gateway's --oauth-clients maps them). */
  clients: { client_id: string; redirect_uri: string }[];
  /** The API's resource indicator, the `aud` of its access tokens. */
  apiResource: string;
  /** Users and their passwords. */
  users: Record<string, { password: string; name: string }>;
}

/** A running identity provider. */
export interface Idp {
  issuer: string;
  provider: Provider;
  /** Client-authentication failures the provider reported (error and description), newest last. */
  failures: { error: string; description: string }[];
  close(): Promise<void>;
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > 16384) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

const html = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function page(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><title>${html(title)}</title><h1>${html(title)}</h1>${body}`);
}

/** Start the identity provider on loopback. */
export async function startIdp(options: IdpOptions): Promise<Idp> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signing = await generateKeyPair('ES256', { extractable: true });
  const signingJwk = { ...(await exportJWK(signing.privateKey)), alg: 'ES256', use: 'sig', kid: 'idp-1' };
  const attesterKeys = new Map<string, JWK>(options.attesterJwks.keys.map((k) => [k.kid as string, k]));

  const configuration: Configuration = {
    clients: options.clients.map((c) => ({
      client_id: c.client_id,
      redirect_uris: [c.redirect_uri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      // The client proves itself with a Charter client attestation and nothing else.
      token_endpoint_auth_method: 'attest_jwt_client_auth',
      id_token_signed_response_alg: 'ES256',
      dpop_bound_access_tokens: true,
    })),
    jwks: { keys: [signingJwk] },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
    // Attestation-based client authentication only: no shared secrets, no self-asserted clients.
    clientAuthMethods: ['attest_jwt_client_auth'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    ttl: {
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
    renderError: (
      ctx: { type: string; body: string },
      out: { error: string; error_description?: string },
    ) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Error</title><h1>Error</h1><p>${html(out.error)}: ${html(out.error_description ?? '')}</p>`;
    },
    scopes: ['openid', 'profile'],
    claims: { openid: ['sub'], profile: ['name'] },
    findAccount: async (_ctx: unknown, sub: string) =>
      options.users[sub]
        ? { accountId: sub, claims: async () => ({ sub, name: options.users[sub]?.name }) }
        : undefined,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: true, nonceSecret: randomBytes(32) },
      attestClientAuth: {
        enabled: true,
        ack: 'draft-12',
        challengeSecret: randomBytes(32),
        // Only the site's Charter attester vouches for clients.
        getAttestationSignaturePublicKey: async (
          _ctx: unknown,
          header: { kid?: string },
          payload: { iss?: string },
        ) => {
          const jwk = attesterKeys.get(String(header.kid));
          if (!jwk || payload.iss !== options.attesterIssuer) throw new Error('not the Charter attester');
          return importJWK(jwk, 'ES256') as Promise<CryptoKey>;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.apiResource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'orders:read',
          audience: options.apiResource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 600,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  };
  const provider = new Provider(issuer, configuration);
  const failures: Idp['failures'] = [];
  provider.on('grant.error', (_ctx: unknown, err: { error?: string; error_description?: string }) => {
    failures.push({ error: err.error ?? 'unknown', description: err.error_description ?? '' });
  });
  const callback = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?$/.exec(req.url ?? '');
    if (!m) return void callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const [, uid, action] = m;
      if (req.method === 'GET' && !action) {
        if (details.prompt.name === 'login')
          return page(
            res,
            200,
            'Sign in',
            `<form method="post" action="/interaction/${uid}/login"><label>User <input name="login"></label>` +
              `<label>Password <input name="password" type="password"></label><button>Sign in</button></form>`,
          );
        return page(
          res,
          200,
          'Allow access',
          `<p>${html(String(details.params.client_id))} asks for ${html(String(details.params.scope))}</p>` +
            `<form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>`,
        );
      }
      if (req.method === 'POST' && action === 'login' && details.prompt.name === 'login') {
        const form = await readForm(req);
        const login = form.get('login') ?? '';
        const user = options.users[login];
        if (!user || user.password !== form.get('password'))
          return page(res, 401, 'Sign in', '<p role="alert">Wrong user or password.</p>');
        return provider.interactionFinished(
          req,
          res,
          { login: { accountId: login } },
          { mergeWithLastSubmission: false },
        );
      }
      if (req.method === 'POST' && action === 'confirm' && details.prompt.name === 'consent') {
        const accountId = details.session?.accountId as string;
        const clientId = String(details.params.client_id);
        const grant = details.grantId
          ? ((await provider.Grant.find(details.grantId)) as Grant)
          : new provider.Grant({ accountId, clientId });
        const missing = details.prompt.details as {
          missingOIDCScope?: string[];
          missingOIDCClaims?: string[];
          missingResourceScopes?: Record<string, string[]>;
        };
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
          grant.addResourceScope(resource, scopes.join(' '));
        const grantId = await grant.save();
        return provider.interactionFinished(
          req,
          res,
          { consent: { grantId } },
          { mergeWithLastSubmission: true },
        );
      }
      return page(res, 400, 'Unexpected step', '');
    })().catch((e: unknown) => {
      if (!res.headersSent)
        page(res, 500, 'Error', `<p>${html(e instanceof Error ? e.message : String(e))}</p>`);
    });
  });

  return {
    issuer,
    provider,
    failures,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A minimal cookie jar for one host: enough for the provider's interaction and session cookies. */
class Jar {
  readonly #cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** One step of a sign-in, for the test's checks. */
export interface SignInStep {
  method: string;
  url: string;
  status: number;
  location?: string;
  /** The page's message, on an error status. */
  error?: string;
}

/**
 * Play a user at a browser through the provider's sign-in and consent, over HTTP, checking each
 * step's status and where it leads. Resolves with the redirect URI the provider sends the user back
 * to (carrying `code` and `state`), or throws with the steps so far.
 */
export async function signInOverHttp(
  authorizationUrl: URL,
  user: { login: string; password: string },
  redirectUri: string,
): Promise<{ callback: URL; steps: SignInStep[] }> {
  const jar = new Jar();
  const steps: SignInStep[] = [];
  const fail = (why: string): never => {
    throw new Error(`${why}; steps: ${JSON.stringify(steps)}`);
  };
  const go = async (method: string, url: URL, form?: Record<string, string>): Promise<Response> => {
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    jar.take(res);
    const location = res.headers.get('location') ?? undefined;
    const error =
      res.status >= 400
        ? /<pre>([\s\S]*?)<\/pre>|<p[^>]*>([\s\S]*?)<\/p>/.exec(await res.clone().text())
        : null;
    steps.push({
      method,
      url: url.href,
      status: res.status,
      ...(location ? { location } : {}),
      ...(error ? { error: (error[1] ?? error[2] ?? '').slice(0, 300) } : {}),
    });
    return res;
  };
  const follow = (res: Response, base: URL): URL => {
    const location = res.headers.get('location');
    if (res.status < 300 || res.status > 399 || !location)
      fail(`expected a redirect from ${base.href}, got ${res.status}`);
    return new URL(location as string, base);
  };

  // 1. The authorization request sends the user to the login prompt.
  let at = follow(await go('GET', authorizationUrl), authorizationUrl);
  if (!/^\/interaction\//.test(at.pathname)) fail('the authorization request did not lead to a login');
  const login = await go('GET', at);
  if (login.status !== 200 || !/name="password"/.test(await login.text())) fail('no login form');
  // 2. The password is checked; the provider resumes the authorization and asks for consent.
  const signedIn = await go('POST', new URL(`${at.pathname}/login`, at), user);
  if (signedIn.status === 401) fail('the provider refused the password');
  let next = follow(signedIn, at);
  for (let hops = 0; hops < 6; hops++) {
    if (next.href.startsWith(redirectUri)) return { callback: next, steps };
    if (/^\/interaction\//.test(next.pathname)) {
      const consent = await go('GET', next);
      if (consent.status !== 200 || !/Allow access/.test(await consent.text())) fail('no consent page');
      at = next;
      next = follow(await go('POST', new URL(`${at.pathname}/confirm`, at), {}), at);
      continue;
    }
    next = follow(await go('GET', next), next);
  }
  return fail('the sign-in did not come back to the app');
}
