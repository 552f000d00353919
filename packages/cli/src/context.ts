/** What the commands share: where state lives, who is acting, and how a passphrase is obtained. */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { CharterError } from '@charter/core';
import { type AttesterRecords, openAttesterRecords, openVendorDb, Vendor } from '@charter/issuer';
import { type Flags, type Io, UsageError } from './command.ts';

/** The state folder: --home, else $CHARTER_HOME, else ~/.charter. */
export function homeOf(flags: Flags, io: Io): string {
  const home = typeof flags.home === 'string' ? flags.home : io.env.CHARTER_HOME;
  return resolve(home && home.length > 0 ? home : join(homedir(), '.charter'));
}

/**
 * The vendor attester's records a command reads (`--attester-db URL`, else HOME/attester.db when it
 * exists), or undefined when there are none; the caller closes them.
 */
export function attesterRecordsOf(flags: Flags, io: Io): AttesterRecords | undefined {
  const db = typeof flags['attester-db'] === 'string' ? flags['attester-db'] : undefined;
  const fallback = join(homeOf(flags, io), 'attester.db');
  return db !== undefined || existsSync(fallback) ? openAttesterRecords(db, fallback) : undefined;
}

/** The SQLite file a command should use for `name` (vendor.db, gateway.db), honouring --db sqlite:PATH. */
export function sqlitePathOf(flags: Flags, io: Io, name: string): string {
  const db = typeof flags.db === 'string' ? flags.db : undefined;
  if (db === undefined) return join(homeOf(flags, io), name);
  if (db.startsWith('sqlite:')) return resolve(db.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(db))
    throw new UsageError(
      'PostgreSQL is supported for gateway state only; the vendor keeps its state in SQLite',
    );
  throw new UsageError('--db takes sqlite:PATH or postgres://…');
}

/** Who is acting, for the decision record: $CHARTER_ACTOR, else the OS user. */
export function actorOf(io: Io): { name: string } {
  const fromEnv = io.env.CHARTER_ACTOR?.trim();
  if (fromEnv) return { name: fromEnv.slice(0, 200) };
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // Some containers have no passwd entry; the record still says it came from the CLI.
  }
  return { name: `${user} (cli)` };
}

/** Open the vendor's state for a command. */
export function openVendor(flags: Flags, io: Io): Vendor {
  return new Vendor(openVendorDb(sqlitePathOf(flags, io, 'vendor.db')), actorOf(io));
}

/**
 * The root key passphrase: $CHARTER_PASSPHRASE, else a prompt without echo when a person is at a
 * terminal. `confirm` asks twice (when the passphrase is being chosen).
 */
export async function passphraseOf(io: Io, purpose: string, confirm = false): Promise<string> {
  const fromEnv = io.env.CHARTER_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!io.stdin.isTTY) {
    throw new CharterError(
      'passphrase_required',
      'ERR_PASSPHRASE_MISSING',
      `${purpose} needs the root key passphrase: set CHARTER_PASSPHRASE or run at a terminal`,
    );
  }
  const first = await promptHidden(io, `Passphrase for the vendor root key (${purpose}): `);
  if (confirm) {
    const second = await promptHidden(io, 'Repeat the passphrase: ');
    if (first !== second)
      throw new CharterError('passphrase_required', 'ERR_PASSPHRASE_MISMATCH', 'the two passphrases differ');
  }
  return first;
}

/** Ask a question at the terminal without echoing the answer (passphrases, passwords). */
export async function promptHidden(io: Io, question: string): Promise<string> {
  io.stderr.write(question);
  const stdin = io.stdin as NodeJS.ReadStream;
  stdin.setRawMode?.(true);
  stdin.resume();
  let answer = '';
  try {
    await new Promise<void>((done, fail) => {
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            done();
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            fail(new UsageError('cancelled'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
          else answer += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    io.stderr.write('\n');
  }
  return answer;
}

/** Seconds since the epoch as an ISO date for people. */
export function iso(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? '-' : new Date(seconds * 1000).toISOString();
}

/** A simple aligned table for text output. */
export function table(rows: (string | number | null)[][]): string {
  if (rows.length === 0) return '';
  const cells = rows.map((r) => r.map((c) => (c === null ? '-' : String(c))));
  const widths = (cells[0] as string[]).map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
