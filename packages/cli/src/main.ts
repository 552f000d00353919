/**
 * The `charter` executable: every command of the registry, run by the dispatcher. Exit codes
 * (SPEC.md §4): 0 success, 1 refused input with its code, 2 usage error.
 */
import type { Io } from './command.ts';
import { dispatch } from './dispatch.ts';
import { commands } from './registry.ts';

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], ioOverride?: Partial<Io>): Promise<number> {
  return dispatch(commands, argv, ioOverride);
}
