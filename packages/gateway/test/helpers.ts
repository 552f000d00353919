/**
 * Test helpers: a vendor (root key, delegated signing key, trust), charters and licenses signed with
 * the core API, an upstream that echoes what it receives, and a client written from SPEC.md §3 with
 * jose (not the SDK) for instance keys and DPoP proofs.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CharterClaims,
  generateVendorKey,
  type LicenseClaims,
  type SigningKey,
  signCharter,
  signKeyDelegation,
  signLicense,
  trustFromDocument,
  type VendorTrust,
} from '@charter/core';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** Seconds since the epoch. */
export const now = (): number => Math.floor(Date.now() / 1000);

/** A vendor able to sign charters and licenses. */
export interface TestVendor {
  id: string;
  trust: VendorTrust;
  trustDoc: { vendor_id: string; keys: unknown[] };
  signer: SigningKey;
  delegation: string;
}

/** A vendor with a root key and a signing key delegated for charters and licenses. */
export async function makeVendor(id = 'acme'): Promise<TestVendor> {
  const root = await generateVendorKey();
  const signing = await generateVendorKey();
  const delegation = await signKeyDelegation(
    {
      vendorId: id,
      jwk: signing.publicJwk,
      use: ['charter', 'license'],
      nbf: now() - 3600,
      exp: now() + 86400 * 30,
    },
    { kid: root.publicJwk.kid, privateKey: root.privateKey },
  );
  const trustDoc = { vendor_id: id, keys: [root.publicJwk] };
  return {
    id,
    trust: await trustFromDocument(trustDoc),
    trustDoc,
    signer: { kid: signing.publicJwk.kid, privateKey: signing.privateKey },
    delegation,
  };
}

/** Sign a charter for `appId` with sensible defaults. */
export async function makeCharter(
  v: TestVendor,
  appId: string,
  over: Partial<CharterClaims> = {},
): Promise<{ token: string; jti: string }> {
  const jti = over.jti ?? `chr_${randomUUID()}`;
  const claims: CharterClaims = {
    iss: v.id,
    sub: appId,
    jti,
    iat: now() - 10,
    nbf: now() - 10,
    exp: now() + 86400,
    publisher: { id: 'pub_beta', name: 'Beta Apps' },
    client_name: 'Beta Orders',
    software_id: 'beta-orders',
    software_version: '1.0.0',
    scopes: ['orders:read', 'orders:write'],
    platforms: { server: {}, web: { origins: ['https://beta.example'] } },
    ...over,
  };
  return { token: await signCharter(claims, v.signer), jti };
}

/** Sign a license for site `site` admitting `apps`. */
export async function makeLicense(
  v: TestVendor,
  serial: number,
  over: Partial<LicenseClaims> = {},
): Promise<string> {
  const claims: LicenseClaims = {
    iss: v.id,
    sub: 'site_a',
    jti: `lic_${serial}_${randomUUID()}`,
    serial,
    iat: now() - 10,
    nbf: now() - 10,
    exp: now() + 86400 * 7,
    site: { id: 'site_a', name: 'Hospital A' },
    keys: [v.delegation],
    apps: [{ app_id: 'app_beta' }],
    revoked: {},
    policy: { mode: 'enforce' },
    ...over,
  };
  return signLicense(claims, v.signer);
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'charter-gw-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What the upstream saw of one request. */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An upstream that records each request and answers 200 with a JSON echo. */
export async function startUpstream(): Promise<{
  url: string;
  seen: Seen[];
  close: () => Promise<void>;
  server: Server;
}> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const text = JSON.stringify({ ok: true, url: req.url, length: body.length });
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-upstream': 'yes',
        connection: 'keep-alive',
      });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    server,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** An instance key pair and its public JWK. */
export interface InstanceKeys {
  alg: 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  jwk: JWK;
}

/** A fresh instance key. */
export async function makeInstanceKey(alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<InstanceKeys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const full = await exportJWK(publicKey);
  const jwk: JWK =
    full.kty === 'EC'
      ? { kty: 'EC', crv: full.crv, x: full.x, y: full.y }
      : { kty: 'OKP', crv: full.crv, x: full.x };
  return { alg, privateKey, jwk };
}

/** A DPoP proof. */
export async function makeProof(
  key: InstanceKeys,
  claims: { htm: string; htu: string; nonce?: string; ath?: string; iat?: number; jti?: string },
  header: Record<string, unknown> = {},
): Promise<string> {
  const { iat, ...rest } = claims;
  return new SignJWT({ jti: randomUUID(), ...rest })
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk, ...header })
    .setIssuedAt(iat ?? now())
    .sign(key.privateKey);
}

/** base64url(SHA-256(token)). */
export function ath(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** A response as a test reads it. */
export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** A client written from the SPEC: challenge, register, token, protected calls. */
export class SpecClient {
  instanceId = '';
  accessToken = '';
  constructor(
    readonly base: string,
    readonly key: InstanceKeys,
  ) {}

  async challenge(): Promise<string> {
    const r = await reply(await fetch(`${this.base}/charter/v1/challenge`, { method: 'POST' }));
    return r.body.nonce as string;
  }

  async register(
    charter: string,
    platform = 'server',
    extra: { origin?: string; proof?: string; body?: unknown } = {},
  ): Promise<Reply> {
    const htu = `${this.base}/charter/v1/register`;
    const proof =
      extra.proof ?? (await makeProof(this.key, { htm: 'POST', htu, nonce: await this.challenge() }));
    const headers: Record<string, string> = { 'content-type': 'application/json', dpop: proof };
    if (extra.origin) headers.origin = extra.origin;
    const r = await reply(
      await fetch(htu, {
        method: 'POST',
        headers,
        body: JSON.stringify(extra.body ?? { charter, platform }),
      }),
    );
    if (r.status === 200) this.instanceId = r.body.instance_id as string;
    return r;
  }

  async token(proof?: string): Promise<Reply> {
    const htu = `${this.base}/charter/v1/token`;
    const p = proof ?? (await makeProof(this.key, { htm: 'POST', htu }));
    const r = await reply(
      await fetch(htu, {
        method: 'POST',
        headers: { 'content-type': 'application/json', dpop: p },
        body: JSON.stringify({ instance_id: this.instanceId }),
      }),
    );
    if (r.status === 200) this.accessToken = r.body.access_token as string;
    return r;
  }

  /** A proof for a protected call. */
  async proofFor(method: string, path: string, token = this.accessToken, key = this.key): Promise<string> {
    return makeProof(key, { htm: method, htu: `${this.base}${path.split('?')[0]}`, ath: ath(token) });
  }

  async call(
    method: string,
    path: string,
    opts: { proof?: string; token?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Reply> {
    const token = opts.token ?? this.accessToken;
    const proof = opts.proof ?? (await this.proofFor(method, path, token));
    const init: RequestInit = {
      method,
      headers: { authorization: `DPoP ${token}`, dpop: proof, ...opts.headers },
    };
    if (opts.body !== undefined) init.body = opts.body;
    return reply(await fetch(`${this.base}${path}`, init));
  }
}

/** A request sent exactly as written (fetch would normalise the path), answered as a {@link Reply}-like object. */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Record<string, unknown> }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          parsed = { text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
