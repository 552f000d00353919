/**
 * The command dispatcher of the `charter` executable (and of the sealed gateway, which passes only the
 * gateway's commands): finds the command, parses its flags strictly, runs it, and prints text or one
 * JSON object (--json). Exit codes (SPEC.md §4): 0 success, 1 refused input with its code, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { CharterError, httpErrorOf } from '@charter/core';
import { type CommandSpec, type Flags, type Io, type Output, UsageError } from './command.ts';

const GLOBAL_FLAGS = {
  home: { type: 'string', description: 'state folder (default $CHARTER_HOME or ~/.charter)', value: 'DIR' },
  db: { type: 'string', description: 'database URL: sqlite:PATH or postgres://…', value: 'URL' },
  json: { type: 'boolean', description: 'print one JSON object on stdout' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
} as const;

/** Find the command whose path is the longest prefix of argv's leading words. */
function findCommand(
  commands: readonly CommandSpec[],
  argv: string[],
): { command?: CommandSpec; rest: string[]; prefix: string[] } {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  let best: CommandSpec | undefined;
  for (const c of commands) {
    if (
      c.path.length <= words.length &&
      c.path.every((w, i) => words[i] === w) &&
      (!best || c.path.length > best.path.length)
    )
      best = c;
  }
  if (best) return { command: best, rest: argv.slice(best.path.length), prefix: best.path };
  return { rest: argv, prefix: words };
}

function helpFor(c: CommandSpec): string {
  const pos = (c.positionals ?? []).map((p) => (p.required ? p.name : `[${p.name}]`)).join(' ');
  const flags = Object.entries({ ...c.flags, ...GLOBAL_FLAGS }).map(([name, f]) => {
    const left = `  --${name}${'value' in f && f.value ? ` ${f.value}` : ''}${'multiple' in f && f.multiple ? ' …' : ''}`;
    return `${left.padEnd(34)} ${f.description}`;
  });
  return [
    `charter ${c.path.join(' ')}${pos ? ` ${pos}` : ''} [flags]`,
    '',
    `${c.summary[0]?.toUpperCase()}${c.summary.slice(1)}.`,
    ...(c.positionals ?? []).map((p) => `  ${p.name.padEnd(32)} ${p.description}`),
    '',
    'Flags:',
    ...flags,
    ...(c.help ? ['', c.help] : []),
  ].join('\n');
}

function overview(commands: readonly CommandSpec[], prefix: string[]): string {
  const shown = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const list = (shown.length > 0 ? shown : commands).map(
    (c) => `  charter ${c.path.join(' ').padEnd(30)} ${c.summary}`,
  );
  return [
    'charter — vendor-signed admission of apps to on-premise APIs',
    '',
    'Usage: charter <command> [flags]   (charter <command> --help for its flags)',
    '',
    'Commands:',
    ...list,
    '',
    'Every command takes --home DIR (or --db URL) and --json. Exit 0 success, 1 refused, 2 usage.',
  ].join('\n');
}

function defaultIo(json: boolean): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    note: (line) => {
      if (!json) process.stderr.write(`${line}\n`);
    },
  };
}

/** Run one of `commands` as `argv` says (without node and script); resolves to the exit code. */
export async function dispatch(
  commands: readonly CommandSpec[],
  argv: string[],
  ioOverride?: Partial<Io>,
): Promise<number> {
  const wantsJson = argv.includes('--json');
  const io: Io = { ...defaultIo(wantsJson), ...ioOverride };
  const print = (out: Output): number => {
    io.stdout.write(wantsJson ? `${JSON.stringify(out.json)}\n` : `${out.text}\n`);
    return out.exitCode ?? 0;
  };
  const { command, rest, prefix } = findCommand(commands, argv);
  if (!command) {
    const asksHelp =
      argv.length === 0 || argv.includes('--help') || argv.includes('-h') || argv[0] === 'help';
    if (asksHelp) {
      io.stdout.write(
        `${overview(
          commands,
          prefix.filter((w) => w !== 'help'),
        )}\n`,
      );
      return 0;
    }
    io.stderr.write(
      `charter: unknown command "${prefix.join(' ')}"\n\n${overview(commands, prefix.slice(0, 1))}\n`,
    );
    return 2;
  }
  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...command.flags, ...GLOBAL_FLAGS } as never,
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
    }
    const flags = parsed.values as Flags;
    if (flags.help) {
      io.stdout.write(`${helpFor(command)}\n`);
      return 0;
    }
    const specs = command.positionals ?? [];
    const required = specs.filter((p) => p.required).length;
    if (
      parsed.positionals.length < required ||
      (!command.variadic && parsed.positionals.length > specs.length)
    ) {
      throw new UsageError(
        specs.length === 0
          ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}`
          : `expected ${specs.map((p) => p.name).join(' ')}`,
      );
    }
    return print(await command.run({ flags, positionals: parsed.positionals, io }));
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(
        `charter ${command.path.join(' ')}: ${e.message}\nRun "charter ${command.path.join(' ')} --help" for usage.\n`,
      );
      return 2;
    }
    if (e instanceof CharterError) {
      // The operator is the one who ran the command: core's mapper with the reason exposed.
      if (wantsJson) io.stdout.write(`${JSON.stringify(httpErrorOf(e, { expose: 'reason' }).body)}\n`);
      io.stderr.write(`charter ${command.path.join(' ')}: ${e.code}: ${e.message}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && typeof err.path === 'string') {
      // A file the user named cannot be read or written: a refused input, not a crash.
      if (wantsJson)
        io.stdout.write(`${JSON.stringify({ error: 'invalid_request', error_description: err.message })}\n`);
      io.stderr.write(`charter ${command.path.join(' ')}: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(
      `charter ${command.path.join(' ')}: internal error: ${(e as Error)?.message ?? String(e)}\n`,
    );
    if (io.env.CHARTER_DEBUG) io.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    return 1;
  }
}
