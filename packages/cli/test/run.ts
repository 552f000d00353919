/** Test helpers: run the CLI in-process (fast) or as the real executable (what users run). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '@charter/cli';

/** What one CLI run printed and returned. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
}

/** The repository root, where `node_modules/.bin/charter` lives. */
export const ROOT = join(import.meta.dirname, '..', '..', '..');

/** A fresh temporary folder. */
export function tempDir(prefix = 'charter-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const BASE_ENV = { CHARTER_PASSPHRASE: 'test passphrase 123', CHARTER_ACTOR: 'tester' };

function parseJson(text: string): Record<string, unknown> {
  const lines = text.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1] ?? '');
  } catch {
    return {};
  }
}

/** Run `charter …args` in this process with a non-TTY stdin. */
export async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return runCaptured(args, { ...process.env, ...BASE_ENV, ...env });
}

/** Run the real `charter` executable, as `npx charter` would. */
export function exe(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Run {
  const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'charter'), args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...BASE_ENV, ...opts.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: parseJson(r.stdout) };
}
