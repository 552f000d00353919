/**
 * The shape of one `charter` command. Each command lives in its own file under `commands/`, declares
 * its flags, and returns an {@link Output}; main.ts parses, prints text or `--json`, and maps errors
 * to the exit codes of SPEC.md §4 (0 success, 1 refused input with its code, 2 usage).
 */
import type { Readable, Writable } from 'node:stream';

/** One flag of a command. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Shown in --help. */
  description: string;
  /** Placeholder shown in --help, e.g. `DIR`. */
  value?: string;
}

/** Parsed flags: strings, booleans, or string arrays for `multiple` flags. */
export type Flags = Record<string, string | boolean | string[] | undefined>;

/** What a command hands back: a JSON object for `--json`, and text for people. */
export interface Output {
  json: Record<string, unknown>;
  text: string;
  /** 0 by default; 1 for a refusal a command reports itself (e.g. attest verify). */
  exitCode?: 0 | 1;
}

/** Streams and environment a command may use; tests pass their own. */
export interface Io {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Progress and notes for people; silent under --json. */
  note(line: string): void;
}

/** A command of the `charter` executable. */
export interface CommandSpec {
  /** e.g. ['vendor', 'app', 'submit'] */
  path: string[];
  summary: string;
  /** Positional arguments, in order. */
  positionals?: { name: string; required: boolean; description: string }[];
  /** The last positional may repeat. */
  variadic?: boolean;
  flags: Record<string, FlagSpec>;
  /** Extra help text shown under the flags. */
  help?: string;
  run(input: { flags: Flags; positionals: string[]; io: Io }): Promise<Output>;
}

/** A usage error: wrong flags or arguments. Exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Read a required string flag or throw a {@link UsageError}. */
export function requireFlag(flags: Flags, name: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** Read an optional string flag. */
export function optionalFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** Read a repeatable string flag as an array (possibly empty). */
export function listFlag(flags: Flags, name: string): string[] {
  const v = flags[name];
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [v];
  return [];
}
