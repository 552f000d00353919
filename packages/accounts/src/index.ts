/**
 * @charter/accounts — the web-account machinery shared by the vendor portal and the gateway's admin
 * console: scrypt password hashes, random session ids of which only a SHA-256 is stored, per-session
 * CSRF tokens, lockout after repeated failures (per account and per client address), the session
 * cookie, the Origin check and the security headers. Where accounts and sessions live is the caller's
 * business, behind {@link AccountStorage}: SQLite tables for the vendor, the gateway store for the console.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { CharterError } from '@charter/core';

/** Lockout parameters: failures before a lock and how long it lasts, per account and per client address. */
export const LOCKOUT = {
  accountFailures: 5,
  accountLockS: 15 * 60,
  ipFailures: 20,
  ipWindowS: 15 * 60,
} as const;

/** Session lifetimes: idle timeout and absolute lifetime. */
export const SESSION_TTL = { idleS: 60 * 60, absoluteS: 8 * 60 * 60 } as const;

/** Minimum password length; long passphrases beat composition rules (NIST SP 800-63B). */
export const MIN_PASSWORD = 12;

/** Longest password accepted (scrypt cost does not grow with it, but request bodies should stay small). */
export const MAX_PASSWORD = 1024;

/** scrypt cost parameters of new hashes (N=2^15, r=8, p=1, 32-byte key; ~32 MiB, ~50 ms). */
export const SCRYPT = { N: 1 << 15, r: 8, p: 1, keylen: 32, maxmem: 64 * 1024 * 1024 } as const;

const EMAIL = /^[^\s@<>"'`]{1,64}@[a-z0-9.-]{1,189}\.[a-z]{2,24}$/;
const now = (): number => Math.floor(Date.now() / 1000);

/** SHA-256 hex of a session id: what storage keeps, so a copy of the store opens no session. */
export function sessionIdHash(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex');
}

/** 32 random bytes, base64url: session ids and CSRF tokens. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time string equality (CSRF tokens). */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((done, fail) =>
    scrypt(password.normalize('NFC'), salt, SCRYPT.keylen, { N: n, r, p, maxmem: SCRYPT.maxmem }, (e, key) =>
      e ? fail(e) : done(key),
    ),
  );
}

/** Hash a password as `scrypt$N$r$p$salt$hash` (base64url), with a fresh 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

/** Check a password against a stored hash in constant time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  // Only parameters this code could have written: a tampered hash must not become a memory bomb.
  const [cn, cr, cp] = [Number(n), Number(r), Number(p)];
  if (![cn, cr, cp].every((v) => Number.isInteger(v) && v > 0) || cn > SCRYPT.N || cr > SCRYPT.r || cp > 4)
    return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), cn, cr, cp);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Normalise an email for use as an account name, or throw `conflict` ERR_EMAIL. */
export function normaliseEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (e.length > 254 || !EMAIL.test(e))
    throw new CharterError('conflict', 'ERR_EMAIL', `${JSON.stringify(email.slice(0, 80))} is not an email`);
  return e;
}

/** Refuse a password outside the length policy (`conflict` ERR_PASSWORD); no composition rules. */
export function checkPasswordPolicy(password: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD)
    throw new CharterError(
      'conflict',
      'ERR_PASSWORD',
      `the password needs ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`,
    );
}

/** What storage keeps of an account (apps add their own fields, e.g. a role). */
export interface AccountRecord {
  id: string;
  email: string;
  /** {@link hashPassword} output. */
  password: string;
  /** Consecutive failed sign-ins since the last success or lock. */
  failed: number;
  /** Epoch seconds until which sign-in is refused; 0 when not locked. */
  locked_until: number;
}

/** A stored session, keyed by {@link sessionIdHash} of its id. */
export interface SessionRecord {
  user_id: string;
  csrf: string;
  created_at: number;
  last_seen: number;
  expires_at: number;
  ip: string;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * Where accounts and sessions live. Each method is one atomic step; `openSession` in particular
 * resets the account's failures, drops expired sessions, stores the new one and records the sign-in
 * together.
 */
export interface AccountStorage<A extends AccountRecord> {
  /** The account with this (normalised) email. */
  byEmail(email: string): MaybePromise<A | undefined>;
  /** The account with this id. */
  byId(id: string): MaybePromise<A | undefined>;
  /** Record failures and the lock after a failed sign-in. */
  setFailures(id: string, failed: number, lockedUntil: number): MaybePromise<void>;
  /** Start a session after a good sign-in (see the interface note), recording `auth.signin` by `actor`. */
  openSession(account: A, idHash: string, session: SessionRecord, actor: string): MaybePromise<void>;
  /** The session stored under this hash. */
  getSession(idHash: string): MaybePromise<SessionRecord | undefined>;
  /** Move the session's idle timer. */
  touchSession(idHash: string, at: number): MaybePromise<void>;
  /** Delete the session; when `actor` is given, record `auth.signout` by it in the same step. */
  deleteSession(idHash: string, actor?: string): MaybePromise<void>;
  /** Record an access event (failure, lockout, refusal) in the app's audit record. */
  audit(actor: string, action: string, subject: string, detail: Record<string, unknown>): MaybePromise<void>;
}

/** A live session: the account (without its password fields), its CSRF token and absolute expiry. */
export interface LiveSession<U> {
  user: U;
  csrf: string;
  expiresAt: number;
}

interface Counter {
  failed: number;
  since: number;
  lockedUntil: number;
}

// A hash of a random password: unknown accounts still cost one scrypt, so timing does not tell them apart.
let dummyHash: Promise<string> | undefined;

/** The account without what must never leave the server. */
export function publicAccount<A extends AccountRecord>(
  a: A,
): Omit<A, 'password' | 'failed' | 'locked_until'> {
  const { password: _p, failed: _f, locked_until: _l, ...safe } = a;
  return safe;
}

/**
 * Sign-in, sessions and sign-out over an {@link AccountStorage}. Failures of unknown emails (so they
 * lock like real ones) and of client addresses are counted in memory on purpose: a restart
 * forgetting them only helps a legitimate user.
 */
export class Accounts<A extends AccountRecord> {
  readonly #ghosts = new Map<string, Counter>();
  readonly #ips = new Map<string, Counter>();

  /** `actorOf` names an account in the audit record (e.g. `email (role)`). */
  constructor(
    readonly storage: AccountStorage<A>,
    readonly actorOf: (account: A) => string,
    readonly clock: () => number = now,
  ) {}

  #count(map: Map<string, Counter>, key: string, t: number, windowS: number): Counter {
    let c = map.get(key);
    if (!c || (c.lockedUntil <= t && t - c.since > windowS)) {
      c = { failed: 0, since: t, lockedUntil: 0 };
      map.set(key, c);
    }
    if (map.size > 10_000) map.delete(map.keys().next().value as string);
    return c;
  }

  /**
   * Sign in: refuses with `rate_limited` while the address or the account is locked (even with the
   * right password), with `unauthorized` for a wrong email or password (the same answer for both).
   */
  async signIn(input: {
    email: string;
    password: string;
    ip: string;
  }): Promise<LiveSession<Omit<A, 'password' | 'failed' | 'locked_until'>> & { sessionId: string }> {
    const t = this.clock();
    const ip = this.#count(this.#ips, input.ip, t, LOCKOUT.ipWindowS);
    if (ip.lockedUntil > t) {
      await this.storage.audit(`${input.ip} (ip)`, 'auth.refused', 'ip', { reason: 'ip locked' });
      throw new CharterError(
        'rate_limited',
        'ERR_IP_LOCKED',
        'too many failed sign-ins from this address: try again later',
      );
    }
    const email = input.email.trim().toLowerCase().slice(0, 254);
    const user = await this.storage.byEmail(email);
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    const ghost = user ? undefined : this.#count(this.#ghosts, email, t, LOCKOUT.accountLockS);
    const lockedUntil = user ? user.locked_until : (ghost as Counter).lockedUntil;
    const locked = lockedUntil > t;
    // Always one scrypt, whatever the outcome, so timing says nothing about the account.
    const good = await verifyPassword(
      input.password.slice(0, MAX_PASSWORD),
      user?.password ?? (await dummyHash),
    );
    const actor = `${email} (sign-in)`;
    if (locked) {
      await this.storage.audit(actor, 'auth.refused', user?.id ?? email, {
        reason: 'account locked',
        ip: input.ip,
      });
      throw new CharterError(
        'rate_limited',
        'ERR_LOCKED',
        'too many failed sign-ins: this account is locked for a while, try again later',
      );
    }
    if (!user || !good) {
      ip.failed += 1;
      if (ip.failed >= LOCKOUT.ipFailures) ip.lockedUntil = t + LOCKOUT.ipWindowS;
      let nowLocked = false;
      if (user) {
        const failed = user.failed + 1;
        nowLocked = failed >= LOCKOUT.accountFailures;
        await this.storage.setFailures(
          user.id,
          nowLocked ? 0 : failed,
          nowLocked ? t + LOCKOUT.accountLockS : 0,
        );
      } else if (ghost) {
        ghost.failed += 1;
        if (ghost.failed >= LOCKOUT.accountFailures) {
          nowLocked = true;
          ghost.lockedUntil = t + LOCKOUT.accountLockS;
          ghost.failed = 0;
        }
      }
      await this.storage.audit(actor, 'auth.fail', user?.id ?? email, {
        ip: input.ip,
        known: user !== undefined,
      });
      if (nowLocked)
        await this.storage.audit(actor, 'auth.lockout', user?.id ?? email, {
          until: t + LOCKOUT.accountLockS,
        });
      throw new CharterError('unauthorized', 'ERR_SIGN_IN', 'wrong email or password');
    }
    // A new id at every sign-in: a session id planted before sign-in is worth nothing after it.
    const sessionId = randomToken();
    const csrf = randomToken();
    const expiresAt = t + SESSION_TTL.absoluteS;
    await this.storage.openSession(
      user,
      sessionIdHash(sessionId),
      { user_id: user.id, csrf, created_at: t, last_seen: t, expires_at: expiresAt, ip: input.ip },
      this.actorOf(user),
    );
    return { user: publicAccount(user), csrf, expiresAt, sessionId };
  }

  /** The live session for a cookie value, refreshing its idle timer; undefined when unknown or expired. */
  async session(
    sessionId: string | undefined,
  ): Promise<(LiveSession<Omit<A, 'password' | 'failed' | 'locked_until'>> & { account: A }) | undefined> {
    if (!sessionId || sessionId.length > 100) return undefined;
    const t = this.clock();
    const hash = sessionIdHash(sessionId);
    const row = await this.storage.getSession(hash);
    if (!row) return undefined;
    if (row.expires_at <= t || row.last_seen <= t - SESSION_TTL.idleS) {
      await this.storage.deleteSession(hash);
      return undefined;
    }
    const user = await this.storage.byId(row.user_id);
    if (!user) return undefined;
    // Written at most every 30 s: the idle timer needs no finer grain, and reads stay reads.
    if (t - row.last_seen >= 30) await this.storage.touchSession(hash, t);
    return { user: publicAccount(user), account: user, csrf: row.csrf, expiresAt: row.expires_at };
  }

  /** End a session (sign-out); recorded. */
  async signOut(sessionId: string | undefined): Promise<void> {
    const s = await this.session(sessionId);
    if (!s || !sessionId) return;
    await this.storage.deleteSession(sessionIdHash(sessionId), this.actorOf(s.account));
  }
}

// ---- HTTP: cookie, CSRF origin check, security headers ----

/** No inline script or style, nothing framed, nothing fetched from elsewhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The security headers of every answer; `api` adds `Cache-Control: no-store`, `secure` adds HSTS. */
export function securityHeaders(options: { secure: boolean; api: boolean }): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    ...(options.secure ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
    ...(options.api ? { 'Cache-Control': 'no-store' } : {}),
  };
}

/** The session cookie's name: `__Host-` pins it to this exact origin, which is only possible over TLS. */
export function sessionCookieName(base: string, secure: boolean): string {
  return secure ? `__Host-${base}` : base;
}

/** A `Set-Cookie` value for the session: HttpOnly, SameSite=Strict, Secure over TLS; max-age 0 clears it. */
export function sessionCookie(
  name: string,
  value: string,
  maxAge: number,
  options: { secure: boolean; path?: string },
): string {
  // `__Host-` cookies must have Path=/.
  const path = name.startsWith('__Host-') ? '/' : (options.path ?? '/');
  return `${name}=${value}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${options.secure ? '; Secure' : ''}`;
}

/** A cookie's value from a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * CSRF layer 1: why a state-changing request's origin is refused, or undefined when it is the app's
 * own. Browsers send `Origin` on every cross-origin request and on POST fetches; a missing Origin is
 * accepted only when Fetch Metadata says same-origin. An empty `allowed` set means "the request's
 * own Host" (a wildcard listen address without a public URL).
 */
export function originRefusal(input: {
  origin: string | undefined;
  secFetchSite: string | string[] | undefined;
  host: string | undefined;
  secure: boolean;
  allowed: ReadonlySet<string>;
}): string | undefined {
  const self = `${input.secure ? 'https' : 'http'}://${input.host ?? ''}`;
  if (input.origin !== undefined) {
    if (input.allowed.has(input.origin) || (input.allowed.size === 0 && input.origin === self))
      return undefined;
    return 'cross-origin request refused';
  }
  return input.secFetchSite === 'same-origin' ? undefined : 'request without an Origin header refused';
}

/**
 * The origins a server accepts: the public URL's alone when given; else the bound address (with
 * every loopback spelling on a loopback address); none for a wildcard address (see {@link originRefusal}).
 */
export function allowedOrigins(input: {
  host: string;
  port: number;
  secure: boolean;
  publicUrl?: string | undefined;
}): Set<string> {
  const proto = input.secure ? 'https' : 'http';
  const set = new Set<string>();
  if (input.publicUrl) {
    set.add(new URL(input.publicUrl).origin);
    return set;
  }
  if (input.host === '0.0.0.0' || input.host === '::') return set;
  const shown = input.host.includes(':') ? `[${input.host}]` : input.host;
  set.add(`${proto}://${shown}:${input.port}`);
  if (['127.0.0.1', 'localhost', '::1'].includes(input.host))
    for (const h of ['127.0.0.1', 'localhost', '[::1]']) set.add(`${proto}://${h}:${input.port}`);
  return set;
}
