/** Test helpers for the portal: a vendor with accounts, a running portal, and a cookie-keeping HTTP client. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openVendorDb, Users, Vendor } from '@charter/issuer';
import { type Portal, type PortalOptions, startPortal } from '@charter/portal';

/** The password every test account uses. */
export const PASSWORD = 'correct horse battery staple';

/** A vendor with one publisher (two for isolation checks) and an account of each role. */
export async function vendorWithAccounts(dir = mkdtempSync(join(tmpdir(), 'charter-portal-'))) {
  const dbPath = join(dir, 'vendor.db');
  const db = openVendorDb(dbPath);
  const vendor = new Vendor(db, { name: 'tester (cli)' });
  await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a test passphrase' });
  const { publisher_id } = vendor.addPublisher({ name: 'Beta Apps' });
  const other = vendor.addPublisher({ name: 'Gamma Soft' }).publisher_id;
  const users = new Users(db);
  const add = (email: string, role: string, publisherId?: string) =>
    users.add({
      email,
      role,
      password: PASSWORD,
      actor: 'tester (cli)',
      ...(publisherId ? { publisherId } : {}),
    });
  await add('pub@beta.example', 'publisher', publisher_id);
  await add('pub@gamma.example', 'publisher', other);
  await add('reviewer@acme.example', 'reviewer');
  await add('admin@acme.example', 'admin');
  return { dir, dbPath, db, vendor, users, publisher_id, other_publisher_id: other };
}

/** A static folder with a stub index.html (API tests need no built SPA). */
export function stubStatic(dir: string): string {
  const path = mkdtempSync(join(dir, 'static-'));
  writeFileSync(join(path, 'index.html'), '<!doctype html><title>stub</title>');
  return path;
}

/** Start a portal on a free loopback port. */
export async function portalFor(
  v: Awaited<ReturnType<typeof vendorWithAccounts>>,
  extra: Partial<PortalOptions> = {},
): Promise<Portal> {
  return startPortal({ db: v.db, listen: '127.0.0.1:0', staticDir: stubStatic(v.dir), ...extra });
}

/** A response: status, headers, parsed JSON (or text). */
export interface Res {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

/** An HTTP client that keeps its session cookie and CSRF token, and sends the portal's Origin by default. */
export class Client {
  cookie = '';
  csrf = '';
  constructor(
    readonly base: string,
    readonly origin: string | null = base,
  ) {}

  async req(
    method: string,
    path: string,
    body?: unknown,
    opts: { headers?: Record<string, string>; raw?: Buffer | string; csrf?: boolean } = {},
  ): Promise<Res> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.origin && !('origin' in headers)) headers.origin = this.origin;
    if (this.cookie) headers.cookie = this.cookie;
    if (opts.csrf !== false && this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    let payload: string | Uint8Array | undefined;
    if (opts.raw !== undefined) {
      payload = typeof opts.raw === 'string' ? opts.raw : new Uint8Array(opts.raw);
      headers['content-type'] ??= 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const r = await fetch(this.base + path, {
      method,
      headers,
      body: payload as BodyInit | undefined,
      redirect: 'manual',
    });
    const setCookie = r.headers.get('set-cookie');
    if (setCookie) {
      const [pair] = setCookie.split(';');
      this.cookie = pair?.endsWith('=') ? '' : (pair ?? '');
    }
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: r.status, headers: r.headers, json, text };
  }

  /** Sign in and keep the session; fails the test unless the sign-in succeeded. */
  async signIn(email: string, password = PASSWORD): Promise<Res> {
    const r = await this.trySignIn(email, password);
    if (r.status !== 200 || typeof r.json.csrf !== 'string') {
      throw new Error(`sign-in as ${email} failed: ${r.status} ${r.text}`);
    }
    return r;
  }

  /** Attempt a sign-in that may be refused; returns the response as it came. */
  async trySignIn(email: string, password = PASSWORD): Promise<Res> {
    const r = await this.req('POST', '/api/session', { email, password });
    if (r.status === 200) this.csrf = r.json.csrf as string;
    return r;
  }
}
