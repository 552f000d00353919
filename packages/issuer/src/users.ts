/**
 * Portal accounts: publishers, reviewers and admins who sign in to the vendor portal. Passwords are
 * scrypt hashes with a per-user salt; sessions are random ids of which only a SHA-256 is stored, so a
 * copy of the database opens no session. Repeated failures lock the account and, separately, the
 * client address. Every sign-in, failure, lockout and sign-out lands in the vendor's `events` record.
 */
import {
  type AccountRecord,
  type AccountStorage,
  Accounts,
  checkPasswordPolicy,
  hashPassword,
  normaliseEmail,
  SESSION_TTL,
  type SessionRecord,
} from '@charter/accounts';
import { CharterError, ID, newId } from '@charter/core';
import type { VendorDb } from './db.ts';

export {
  hashPassword,
  LOCKOUT,
  MIN_PASSWORD,
  normaliseEmail,
  SESSION_TTL,
  verifyPassword,
} from '@charter/accounts';

/** What an account may do in the portal. */
export type Role = 'publisher' | 'reviewer' | 'admin';

/** Every role, for validation. */
export const ROLES: readonly Role[] = ['publisher', 'reviewer', 'admin'];

/** A portal account as the server and the SPA see it (never the password hash). */
export interface PortalUser {
  id: string;
  email: string;
  role: Role;
  publisher_id: string | null;
  publisher_name: string | null;
}

/** A signed-in session: the user and the session's CSRF token. */
export interface PortalSession {
  user: PortalUser;
  csrf: string;
  expiresAt: number;
}

const now = (): number => Math.floor(Date.now() / 1000);

/** How a user appears as the actor of the decision record: email and role. */
export function actorName(user: Pick<PortalUser, 'email' | 'role'>): string {
  return `${user.email} (${user.role})`;
}

type UserRow = PortalUser & AccountRecord;

const USER_SELECT = `SELECT u.id, u.email, u.role, u.publisher_id, p.name AS publisher_name, u.password, u.failed, u.locked_until
  FROM users u LEFT JOIN publishers p ON p.id = u.publisher_id`;

/** The portal's accounts and sessions in the vendor database's `users` and `sessions` tables. */
class VendorAccountStorage implements AccountStorage<UserRow> {
  constructor(readonly db: VendorDb) {}

  audit(actor: string, action: string, subject: string, detail: Record<string, unknown> = {}): void {
    this.db
      .prepare('INSERT INTO events (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
      .run(now(), actor, action, subject, JSON.stringify(detail));
  }
  byEmail(email: string): UserRow | undefined {
    return this.db.prepare(`${USER_SELECT} WHERE u.email = ?`).get(email) as never;
  }
  byId(id: string): UserRow | undefined {
    return this.db.prepare(`${USER_SELECT} WHERE u.id = ?`).get(id) as never;
  }
  setFailures(id: string, failed: number, lockedUntil: number): void {
    this.db
      .prepare('UPDATE users SET failed = ?, locked_until = ? WHERE id = ?')
      .run(failed, lockedUntil, id);
  }
  openSession(user: UserRow, idHash: string, s: SessionRecord, actor: string): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET failed = 0, locked_until = 0 WHERE id = ?').run(user.id);
      this.db
        .prepare('DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?')
        .run(s.created_at, s.created_at - SESSION_TTL.idleS);
      this.db
        .prepare(
          'INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen, expires_at, ip) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(idHash, s.user_id, s.csrf, s.created_at, s.last_seen, s.expires_at, s.ip);
      this.audit(actor, 'auth.signin', user.id, { ip: s.ip });
    })();
  }
  getSession(idHash: string): SessionRecord | undefined {
    return this.db
      .prepare('SELECT user_id, csrf, created_at, last_seen, expires_at, ip FROM sessions WHERE id_hash = ?')
      .get(idHash) as never;
  }
  touchSession(idHash: string, at: number): void {
    this.db.prepare('UPDATE sessions SET last_seen = ? WHERE id_hash = ?').run(at, idHash);
  }
  deleteSession(idHash: string, actor?: string): void {
    this.db.transaction(() => {
      const row = this.getSession(idHash);
      this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash);
      if (actor && row) this.audit(actor, 'auth.signout', row.user_id, {});
    })();
  }
}

/** Accounts and sessions over the vendor database (the generic parts live in @charter/accounts). */
export class Users {
  readonly #storage: VendorAccountStorage;
  readonly #accounts: Accounts<UserRow>;

  constructor(readonly db: VendorDb) {
    this.#storage = new VendorAccountStorage(db);
    this.#accounts = new Accounts(this.#storage, actorName);
  }

  /** Write an access event (e.g. a refused request) to the vendor's record. */
  audit(actor: string, action: string, subject: string, detail: Record<string, unknown> = {}): void {
    this.#storage.audit(actor, action, subject, detail);
  }

  /** Create an account; publishers belong to one publisher, the others to none. */
  async add(input: {
    email: string;
    role: string;
    password: string;
    publisherId?: string;
    actor: string;
  }): Promise<{ user_id: string; email: string; role: Role }> {
    const email = normaliseEmail(input.email);
    if (!ROLES.includes(input.role as Role))
      throw new CharterError('invalid_request', 'ERR_ROLE', 'the role is publisher, reviewer or admin');
    const role = input.role as Role;
    if (role === 'publisher') {
      if (!input.publisherId || !ID.test(input.publisherId))
        throw new CharterError(
          'invalid_request',
          'ERR_PUBLISHER',
          'a publisher account needs --publisher PUB_ID',
        );
      if (!this.db.prepare('SELECT 1 FROM publishers WHERE id = ?').get(input.publisherId))
        throw new CharterError(
          'not_found',
          'ERR_UNKNOWN_PUBLISHER',
          `there is no publisher ${input.publisherId}`,
        );
    } else if (input.publisherId !== undefined) {
      throw new CharterError(
        'invalid_request',
        'ERR_PUBLISHER',
        'only publisher accounts belong to a publisher',
      );
    }
    checkPasswordPolicy(input.password);
    if (this.db.prepare('SELECT 1 FROM users WHERE email = ?').get(email))
      throw new CharterError('conflict', 'ERR_USER_EXISTS', `there is already an account for ${email}`);
    const hash = await hashPassword(input.password);
    const id = newId('usr');
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO users (id, email, role, publisher_id, password, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(id, email, role, role === 'publisher' ? input.publisherId : null, hash, now());
      this.#storage.audit(input.actor, 'user.add', id, {
        email,
        role,
        publisher_id: input.publisherId ?? null,
      });
    })();
    return { user_id: id, email, role };
  }

  /** Accounts, oldest first. */
  list(): (PortalUser & { locked_until: number })[] {
    return this.db
      .prepare(
        `SELECT u.id, u.email, u.role, u.publisher_id, p.name AS publisher_name, u.locked_until
         FROM users u LEFT JOIN publishers p ON p.id = u.publisher_id ORDER BY u.created_at, u.rowid`,
      )
      .all() as never;
  }

  /**
   * Sign in: refuses with `rate_limited` while the address or the account is locked (even with the
   * right password), with `unauthorized` for a wrong email or password (the same answer for both).
   */
  async signIn(input: {
    email: string;
    password: string;
    ip: string;
  }): Promise<PortalSession & { sessionId: string }> {
    return this.#accounts.signIn(input);
  }

  /** The live session for a cookie value, refreshing its idle timer; undefined when unknown or expired. */
  async session(sessionId: string | undefined): Promise<PortalSession | undefined> {
    const s = await this.#accounts.session(sessionId);
    return s && { user: s.user, csrf: s.csrf, expiresAt: s.expiresAt };
  }

  /** End a session (sign-out); recorded. */
  async signOut(sessionId: string | undefined): Promise<void> {
    await this.#accounts.signOut(sessionId);
  }
}
