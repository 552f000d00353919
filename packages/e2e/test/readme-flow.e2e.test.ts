/**
 * The README's main flow, run as written: the shell block under "The main flow, step by step" is read
 * from README.md and run by bash in an empty folder inside the repository, with only its two ports
 * swapped for free ones (so parallel runs do not collide). Step 5 must carry the revocation to the
 * running gateway: a revocation update at once, then the renewal without the revoked app.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './processes.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** The main flow's shell block, exactly as the README prints it. */
function mainFlow(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('## The main flow, step by step')[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the README has a main flow block');
  return block;
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

test('the README main flow runs as written, and step 5 cuts the revoked app off at the running gateway', {
  skip: hasPython ? false : 'python3 is needed for the flow’s throwaway upstream',
  timeout: 240_000,
}, async () => {
  const [gw, up] = [await freePort(), await freePort()];
  const flow = mainFlow();
  assert.match(flow, /127\.0\.0\.1:8443/);
  assert.match(flow, /--bind 127\.0\.0\.1|http\.server 9000/);
  // The ports, and nothing else, change; `wait` lets the killed gateway finish its log before we read.
  const script = `${flow.replaceAll('8443', String(gw)).replaceAll('9000', String(up))}\nwait\n`;
  mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'test-artifacts', 'readme-flow-'));
  writeFileSync(join(dir, 'flow.sh'), script);
  // The flow exports its own passphrase; nothing of the test's environment stands in for it.
  const env: NodeJS.ProcessEnv = { ...process.env, CHARTER_ACTOR: 'readme' };
  delete env.CHARTER_PASSPHRASE;
  const child = spawn('bash', ['flow.sh'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    out += c;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 220_000);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  // `kill $GW` must have stopped the gateway: nothing of the flow may still hold the port.
  const probe = await fetch(`http://127.0.0.1:${gw}/charter/healthz`).then(
    () => 'still running',
    () => 'stopped',
  );
  child.stdout.destroy();
  child.stderr.destroy();
  try {
    assert.equal(code, 0, out);
    assert.equal(probe, 'stopped', 'the flow’s last line stops the gateway it started');
    // Step 4: the gateway is up and refuses a request with no charter.
    assert.match(out, /"license_serial":1/);
    assert.match(out, /"error":"invalid_token"/);
    // Step 5: revoke says exactly what to run for the site.
    const site = /"site_id":"(site_[a-z0-9]+)"/.exec(out)?.[1] as string;
    assert.ok(site, out);
    assert.ok(out.includes(`charter vendor revocations issue --home V --site ${site} --out`), out);
    assert.ok(out.includes(`charter vendor license issue --home V --site ${site} --out`), out);
    // The update is installed and in force at the running gateway at once; the app was its only one.
    assert.match(out, /installed revocation update #2 for site/);
    assert.match(out, /"revocations_serial":2[^\n]*revocation update in force/);
    assert.match(out, /admits no apps: every app is refused \(app_not_admitted\)/);
    // The renewal: same apps minus the revoked one, a higher serial, installed and reloaded.
    assert.match(out, /\(serial 3\)[^\n]*Renewed from serial 1, without revoked app\(s\) app_/);
    assert.match(out, /installed license #3 for site/);
    assert.match(out, /"license_serial":3[^\n]*license reloaded/);
    // Naming the revoked app stays refused, and the refusal says what to run instead.
    assert.match(
      out,
      /conflict: app app_\w+ is revoked[^\n]*charter vendor license issue --site [^\n]*charter vendor revocations issue --site/,
    );
    assert.match(out, /"license_serial":3,"mode":"enforce"/);
    // The record has every decision.
    for (const action of ['revoke', 'revocations.issue', 'license.issue'])
      assert.match(out, new RegExp(`readme\\s+${action.replace('.', '\\.')}\\s`));
  } finally {
    if (code === 0) rmSync(dir, { recursive: true, force: true });
  }
});
