/** Run the CLI in-process and capture what it prints: for tests, scripts and the first run. */
import { PassThrough, Readable } from 'node:stream';
import { main } from './main.ts';

/** What one in-process run printed and returned; `json` is the last stdout line parsed, or {}. */
export interface CapturedRun {
  code: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: each command answers with its own JSON object.
  json: any;
}

/** Run `charter …args` with a non-TTY stdin and the given environment, capturing stdout and stderr. */
export async function runCaptured(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<CapturedRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += c;
  });
  stderr.on('data', (c) => {
    err += c;
  });
  const code = await main(args, { stdout, stderr, stdin: Readable.from([]), env, note: () => {} });
  let json: unknown = {};
  try {
    json = JSON.parse(out.trim().split('\n').at(-1) ?? '');
  } catch {
    // Text output, or nothing: callers that asked for --json see {}.
  }
  return { code, stdout: out, stderr: err, json };
}
