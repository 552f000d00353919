/** `charter gateway start` and `gateway license install` with licenses made by the vendor's own commands. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { gatewayStart, licenseInstall } from '../src/commands/gateway.ts';
import { cli, tempDir } from './run.ts';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  stderr.resume();
  return {
    io: { stdout, stderr, stdin: new PassThrough(), env: { CHARTER_LOG_LEVEL: 'silent' }, note: () => {} },
    out: () => out,
  };
}

async function json(args: string[]): Promise<Record<string, unknown>> {
  const r = await cli([...args, '--json']);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.json;
}

test('gateway start runs until SIGTERM; license install raises the serial; refusals are clear', async () => {
  const dir = tempDir();
  const V = join(dir, 'V');
  await json(['vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme']);
  const trust = join(dir, 'trust.json');
  await json(['vendor', 'export-trust', '--home', V, '--out', trust]);
  const { publisher_id } = await json(['vendor', 'publisher', 'add', '--home', V, '--name', 'Acme']);
  const sub = await json([
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id as string,
    '--name',
    'A',
    '--scopes',
    'a:b',
    '--server',
  ]);
  await json([
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub.submission_id as string,
    '--ttl',
    '30d',
    '--out',
    join(dir, 'a.charter'),
  ]);
  const { site_id } = await json(['vendor', 'site', 'add', '--home', V, '--name', 'S']);
  const issue = (out: string) =>
    json([
      'vendor',
      'license',
      'issue',
      '--home',
      V,
      '--site',
      site_id as string,
      '--apps',
      sub.app_id as string,
      '--ttl',
      '30d',
      '--out',
      join(dir, out),
    ]);
  await issue('one.license');
  const upstream = createServer((_req, res) => res.end('{}'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const home = join(dir, 'G');
  const lic1 = join(dir, 'one.license');
  try {
    const { io: io1, out } = io();
    // One process: run in-process, a worker forked from here would be this test runner, not `charter`.
    const flags = {
      home,
      license: lic1,
      upstream: upstreamUrl,
      listen: '127.0.0.1:0',
      trust,
      json: true,
      workers: '1',
    };
    const running = gatewayStart.run({ flags, positionals: [], io: io1 });
    while (!out().includes('\n')) await new Promise((r) => setTimeout(r, 20));
    const info = JSON.parse(out().trim()) as { url: string; license_serial: number; integrity: string };
    assert.equal(info.license_serial, 1);
    assert.equal(info.integrity, 'unsealed');

    await issue('two.license');
    const installed = await licenseInstall.run({
      flags: { home, trust },
      positionals: [join(dir, 'two.license')],
      io: io().io,
    });
    assert.equal(installed.json.serial, 2);
    await new Promise((r) => setTimeout(r, 1300));
    const wk = (await (await fetch(`${info.url}/.well-known/charter`)).json()) as { license_serial: number };
    assert.equal(wk.license_serial, 2, 'the running gateway picked up the new license');
    await assert.rejects(licenseInstall.run({ flags: { home, trust }, positionals: [lic1], io: io().io }), {
      code: 'license_invalid',
    });

    process.emit('SIGTERM');
    const result = await running;
    assert.equal(result.json.stopped, 'SIGTERM');

    await assert.rejects(
      gatewayStart.run({ flags: { ...flags, license: lic1 }, positionals: [], io: io().io }),
      {
        code: 'license_invalid',
      },
    );
    await assert.rejects(
      gatewayStart.run({ flags: { ...flags, trust: undefined }, positionals: [], io: io().io }),
      {
        name: 'UsageError',
      },
    );
    await assert.rejects(
      gatewayStart.run({ flags: { ...flags, listen: 'nope' }, positionals: [], io: io().io }),
      {
        name: 'UsageError',
      },
    );
  } finally {
    upstream.close();
  }
});
