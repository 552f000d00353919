/** A new web account's password (vendor portal and gateway console accounts), from the environment or a prompt. */
import { CharterError } from '@charter/core';
import type { Io } from '../command.ts';
import { promptHidden } from '../context.ts';

/** The new account's password: $CHARTER_PASSWORD, else a hidden prompt asked twice at a terminal. */
export async function passwordOf(io: Io, email: string): Promise<string> {
  const fromEnv = io.env.CHARTER_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!io.stdin.isTTY)
    throw new CharterError(
      'passphrase_required',
      'ERR_PASSWORD_MISSING',
      'the account needs a password: set CHARTER_PASSWORD or run at a terminal',
    );
  const first = await promptHidden(io, `Password for ${email}: `);
  const second = await promptHidden(io, 'Repeat the password: ');
  if (first !== second)
    throw new CharterError('passphrase_required', 'ERR_PASSWORD_MISMATCH', 'the two passwords differ');
  return first;
}
