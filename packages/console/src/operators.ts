/**
 * Console operators and their sessions, kept in the gateway store through its two generic calls
 * (`getState`, `compareAndSetState`), so every store (SQLite, PostgreSQL) carries them with no new
 * method and replicas share them. Each change is a compare-and-set loop over one small JSON record;
 * a site has a handful of operators, so whole-record rewrites cost nothing. Every access event lands
 * in the gateway's hash-chained audit log as kind `admin`, with the operator's email as the actor.
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
import { CharterError, epochSeconds, newId } from '@charter/core';
import type { AuditEvent, GatewayStore } from '@charter/gateway';

/** The store state holding the operators. */
export const OPERATORS_STATE = 'console-operators';
/** The store state holding the console sessions (keyed by the SHA-256 of their ids). */
export const SESSIONS_STATE = 'console-sessions';

/** Most sessions kept at once (the oldest go first): a bound on the record's size. */
const MAX_SESSIONS = 200;

/** A console operator as stored. */
export interface OperatorRecord extends AccountRecord {
  created_at: number;
}

/** An operator as the server and the SPA see it. */
export interface Operator {
  id: string;
  email: string;
  created_at: number;
}

interface OperatorsDoc {
  operators: OperatorRecord[];
}
interface SessionsDoc {
  sessions: Record<string, SessionRecord>;
}

async function readJson<T>(store: GatewayStore, name: string, empty: T): Promise<{ text?: string; doc: T }> {
  const text = await store.getState(name);
  return text === undefined ? { doc: empty } : { text, doc: JSON.parse(text) as T };
}

/** Change one state record by compare-and-set, retrying when another writer got there first. */
async function update<T, R>(
  store: GatewayStore,
  name: string,
  empty: () => T,
  change: (doc: T) => R,
): Promise<R> {
  for (let attempt = 0; attempt < 25; attempt++) {
    const { text, doc } = await readJson(store, name, empty());
    const result = change(doc);
    if (await store.compareAndSetState(name, text, JSON.stringify(doc))) return result;
  }
  throw new CharterError('conflict', 'ERR_STATE_RACE', `${name} kept changing; try again`);
}

/** Append an `admin` event to the gateway's audit chain. */
export async function auditAdmin(
  store: GatewayStore,
  actor: string,
  action: string,
  extra: Partial<AuditEvent> = {},
): Promise<void> {
  await store.appendAudit({ at: epochSeconds(), kind: 'admin', actor, action, ...extra });
}

/** Whether the store has at least one console operator. */
export async function hasOperators(store: GatewayStore): Promise<boolean> {
  const { doc } = await readJson<OperatorsDoc>(store, OPERATORS_STATE, { operators: [] });
  return doc.operators.length > 0;
}

/** The operators, oldest first (never their password hashes). */
export async function listOperators(store: GatewayStore): Promise<Operator[]> {
  const { doc } = await readJson<OperatorsDoc>(store, OPERATORS_STATE, { operators: [] });
  return doc.operators.map((o) => ({ id: o.id, email: o.email, created_at: o.created_at }));
}

/** Add a console operator (`charter gateway user add`); recorded in the audit chain by `actor`. */
export async function addOperator(
  store: GatewayStore,
  input: { email: string; password: string; actor: string },
): Promise<{ user_id: string; email: string }> {
  const email = normaliseEmail(input.email);
  checkPasswordPolicy(input.password);
  const password = await hashPassword(input.password);
  const id = newId('op');
  await update<OperatorsDoc, void>(
    store,
    OPERATORS_STATE,
    () => ({ operators: [] }),
    (doc) => {
      if (doc.operators.some((o) => o.email === email))
        throw new CharterError('conflict', 'ERR_USER_EXISTS', `there is already an operator ${email}`);
      doc.operators.push({ id, email, password, failed: 0, locked_until: 0, created_at: epochSeconds() });
    },
  );
  await auditAdmin(store, input.actor, 'user.add', { detail: email });
  return { user_id: id, email };
}

/** {@link AccountStorage} over the gateway store's state records. */
export class GatewayAccountStorage implements AccountStorage<OperatorRecord> {
  constructor(readonly store: GatewayStore) {}

  async #operators(): Promise<OperatorRecord[]> {
    return (await readJson<OperatorsDoc>(this.store, OPERATORS_STATE, { operators: [] })).doc.operators;
  }
  async byEmail(email: string): Promise<OperatorRecord | undefined> {
    return (await this.#operators()).find((o) => o.email === email);
  }
  async byId(id: string): Promise<OperatorRecord | undefined> {
    return (await this.#operators()).find((o) => o.id === id);
  }
  async setFailures(id: string, failed: number, lockedUntil: number): Promise<void> {
    await update<OperatorsDoc, void>(
      this.store,
      OPERATORS_STATE,
      () => ({ operators: [] }),
      (doc) => {
        const o = doc.operators.find((x) => x.id === id);
        if (o) {
          o.failed = failed;
          o.locked_until = lockedUntil;
        }
      },
    );
  }
  async openSession(account: OperatorRecord, idHash: string, s: SessionRecord, actor: string): Promise<void> {
    // Two records, two steps: the failures reset first, so a crash in between only leaves a fresh counter.
    await this.setFailures(account.id, 0, 0);
    await update<SessionsDoc, void>(
      this.store,
      SESSIONS_STATE,
      () => ({ sessions: {} }),
      (doc) => {
        for (const [k, v] of Object.entries(doc.sessions))
          if (v.expires_at <= s.created_at || v.last_seen <= s.created_at - SESSION_TTL.idleS)
            delete doc.sessions[k];
        const keys = Object.keys(doc.sessions);
        for (const k of keys.slice(0, Math.max(0, keys.length - MAX_SESSIONS + 1))) delete doc.sessions[k];
        doc.sessions[idHash] = s;
      },
    );
    await auditAdmin(this.store, actor, 'auth.signin', { detail: `ip ${s.ip}` });
  }
  async getSession(idHash: string): Promise<SessionRecord | undefined> {
    const { doc } = await readJson<SessionsDoc>(this.store, SESSIONS_STATE, { sessions: {} });
    return Object.hasOwn(doc.sessions, idHash) ? doc.sessions[idHash] : undefined;
  }
  async touchSession(idHash: string, at: number): Promise<void> {
    await update<SessionsDoc, void>(
      this.store,
      SESSIONS_STATE,
      () => ({ sessions: {} }),
      (doc) => {
        const s = Object.hasOwn(doc.sessions, idHash) ? doc.sessions[idHash] : undefined;
        if (s) s.last_seen = at;
      },
    );
  }
  async deleteSession(idHash: string, actor?: string): Promise<void> {
    const existed = await update<SessionsDoc, boolean>(
      this.store,
      SESSIONS_STATE,
      () => ({ sessions: {} }),
      (doc) => {
        const had = Object.hasOwn(doc.sessions, idHash);
        delete doc.sessions[idHash];
        return had;
      },
    );
    if (actor && existed) await auditAdmin(this.store, actor, 'auth.signout');
  }
  async audit(
    actor: string,
    action: string,
    subject: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await auditAdmin(this.store, actor, action, {
      detail: `${subject} ${JSON.stringify(detail)}`.slice(0, 500),
    });
  }
}

/** The console's sign-in and sessions: @charter/accounts over the gateway store; the actor is the email. */
export function consoleAccounts(store: GatewayStore): Accounts<OperatorRecord> {
  return new Accounts(new GatewayAccountStorage(store), (o) => o.email);
}
