/** `charter vendor user add` and `charter vendor serve`: accounts from the CLI, the portal as a process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { openVendorDb, Users } from '@charter/issuer';
import { cli, ROOT, tempDir } from './run.ts';

const PASSWORD = { CHARTER_PASSWORD: 'a long enough password' };

async function vendorHome(): Promise<{ V: string; publisher_id: string }> {
  const V = join(tempDir(), 'V');
  assert.equal(
    (await cli(['vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme', '--json'])).code,
    0,
  );
  const p = await cli(['vendor', 'publisher', 'add', '--home', V, '--name', 'Beta', '--json']);
  return { V, publisher_id: p.json.publisher_id as string };
}

test('vendor user add: roles, publisher binding, password source, duplicates', async () => {
  const { V, publisher_id } = await vendorHome();
  const add = (args: string[], env: Record<string, string | undefined> = PASSWORD) =>
    cli(['vendor', 'user', 'add', '--home', V, ...args, '--json'], env);
  const ok = await add(['--email', 'Pub@Beta.example', '--role', 'publisher', '--publisher', publisher_id]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(
    { email: ok.json.email, role: ok.json.role },
    { email: 'pub@beta.example', role: 'publisher' },
  );
  assert.equal((await add(['--email', 'rev@acme.example', '--role', 'reviewer'])).code, 0);

  const refusals: [string[], Record<string, string | undefined>, string][] = [
    [['--email', 'pub@beta.example', '--role', 'reviewer'], PASSWORD, 'conflict'],
    // Bad input (no --publisher for a publisher, one for a reviewer, an unknown role) is invalid_request.
    [['--email', 'x@acme.example', '--role', 'publisher'], PASSWORD, 'invalid_request'],
    [
      ['--email', 'x@acme.example', '--role', 'reviewer', '--publisher', publisher_id],
      PASSWORD,
      'invalid_request',
    ],
    [['--email', 'x@acme.example', '--role', 'root'], PASSWORD, 'invalid_request'],
    [['--email', 'not an email', '--role', 'admin'], PASSWORD, 'conflict'],
    [['--email', 'x@acme.example', '--role', 'admin'], { CHARTER_PASSWORD: 'short' }, 'conflict'],
    [
      ['--email', 'x@acme.example', '--role', 'admin'],
      { CHARTER_PASSWORD: undefined },
      'passphrase_required',
    ],
    [['--email', 'x@acme.example', '--role', 'publisher', '--publisher', 'pub_nope'], PASSWORD, 'not_found'],
  ];
  for (const [args, env, code] of refusals) {
    const r = await add(args, env);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.json.error, code, args.join(' '));
  }
  assert.equal((await cli(['vendor', 'user', 'add', '--home', V, '--role', 'admin'])).code, 2);

  // Stored as a salted scrypt hash; the record says who added whom.
  const db = openVendorDb(join(V, 'vendor.db'));
  const rows = db.prepare('SELECT email, password FROM users ORDER BY email').all() as {
    email: string;
    password: string;
  }[];
  assert.equal(rows.length, 2);
  for (const r of rows) assert.match(r.password, /^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  assert.notEqual(rows[0]?.password.split('$')[4], rows[1]?.password.split('$')[4], 'per-user salt');
  assert.equal(new Users(db).list().length, 2);
  const log = await cli(['vendor', 'log', '--home', V, '--json']);
  const adds = (log.json.events as { actor: string; action: string }[]).filter(
    (e) => e.action === 'user.add',
  );
  assert.deepEqual(
    adds.map((e) => e.actor),
    ['tester', 'tester'],
  );
  db.close();
});

test('vendor serve builds the portal if needed, prints its URL, serves it, and stops cleanly on SIGTERM', async () => {
  const { V } = await vendorHome();
  const child = spawn(
    join(ROOT, 'node_modules', '.bin', 'charter'),
    ['vendor', 'serve', '--home', V, '--listen', '127.0.0.1:0', '--json'],
    {
      cwd: ROOT,
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    err += c;
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    const started = Date.now();
    while (!out.includes('\n') && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 100));
    const { url } = JSON.parse(out.split('\n')[0] as string) as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);
    assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const api = await fetch(`${url}/api/session`);
    assert.equal(api.status, 401);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, err);
  assert.match(out, /"stopped":"SIGTERM"/);
});

test('vendor serve refuses a home without a vendor and a malformed --listen', async () => {
  const empty = join(tempDir(), 'V');
  const r = await cli(['vendor', 'serve', '--home', empty, '--listen', '127.0.0.1:0', '--json']);
  assert.equal(r.code, 1);
  assert.equal(r.json.error, 'not_found');
  const { V } = await vendorHome();
  const bad = await cli(['vendor', 'serve', '--home', V, '--listen', 'nowhere', '--json']);
  assert.equal(bad.code, 1);
  assert.equal(bad.json.error, 'invalid_request');
});
