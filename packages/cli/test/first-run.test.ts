/** `npm start` tells the whole story on a fresh machine: two apps admitted, three clones refused with their codes. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { ROOT } from './run.ts';

test('the first run admits the approved apps and refuses each clone with its reason', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'start.ts')], {
    cwd: ROOT,
    env: { ...process.env, CHARTER_DEMO_EXIT: '1', CHARTER_DEMO_PORT: '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const line = (who: string) => r.stdout.split('\n').find((l) => l.includes(who)) ?? '';
  assert.match(line('Acme Ward (the vendor'), /admitted: GET \/orders → 200, the API saw app Acme Ward/);
  assert.match(line('Beta Orders (approved'), /admitted: GET \/orders → 200, the API saw app Beta Orders/);
  assert.match(line('Clone with no charter'), /refused: 401 invalid_token/);
  assert.match(line('forged with another key'), /refused: invalid_charter/);
  assert.match(line('Gamma Reports (genuine'), /refused: app_not_admitted/);
});

test('npm start serves the web client and a clone page, and every URL and command it prints works as printed', async () => {
  assert.ok(existsSync('/usr/bin/chromium'), '/usr/bin/chromium is needed (apt-get install chromium)');
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'start.ts')], {
    cwd: ROOT,
    env: { ...process.env, CHARTER_DEMO_PORT: '0', CHARTER_DEMO_WEB_PORT: '0', CHARTER_DEMO_CLONE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    err += c;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let browser: Browser | undefined;
  try {
    const deadline = Date.now() + 120_000;
    while (!/Charters, license, trust file and routes are in/.test(out)) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `npm start did not finish: ${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const line = (who: string) => out.split('\n').find((l) => l.includes(who)) ?? '';
    const urlIn = (text: string) => /http:\/\/[^\s'/,]+/.exec(text)?.[0] ?? '';
    const appUrl = urlIn(line('the approved web app'));
    const cloneUrl = urlIn(line('a clone with the copied charter'));
    const gatewayUrl = urlIn(line('The gateway is still running at'));
    for (const u of [appUrl, cloneUrl, gatewayUrl]) assert.match(u, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(new Set([appUrl, cloneUrl, gatewayUrl]).size, 3, 'three origins');

    // Every command printed, run exactly as printed (from the repository root, as the README says).
    const commands = out
      .split('\n')
      .filter((l) => /^ {2}(curl|npx) /.test(l))
      .map((l) => l.replace(/\s+#.*$/, '').trim());
    assert.equal(commands.length, 5, commands.join('\n'));
    for (const command of commands) {
      const r = spawnSync('sh', ['-c', command], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `${command}: ${r.stderr}`);
      if (command.includes('well-known')) assert.match(r.stdout, /"site_id"/);
      if (command.includes('-i ') && command.includes('/orders') && !command.includes('OPTIONS'))
        assert.match(r.stdout, /^HTTP\/1\.1 401/);
      if (command.includes('OPTIONS')) {
        assert.match(r.stdout, /^HTTP\/1\.1 403/);
        assert.doesNotMatch(r.stdout, /access-control-allow-origin/i);
      }
      if (command.includes('metrics')) assert.match(r.stdout, /charter_cors_preflights_total/);
      if (command.includes('license inspect')) assert.match(r.stdout, /verif/i);
    }

    // The two pages, in a real browser: the web app is admitted, the clone is refused at the preflight.
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking'],
    });
    const page = await browser.newPage();
    await page.goto(appUrl);
    await page.getByText('Admitted: the gateway let this app call the API.').waitFor({ timeout: 30_000 });
    assert.match((await page.locator('#traffic').textContent()) ?? '', /GET \/orders\s*200/);
    const clonePage = await browser.newPage();
    await clonePage.goto(cloneUrl);
    await clonePage.getByText(/^Refused: the gateway’s CORS preflight does not allow this origin/).waitFor({
      timeout: 30_000,
    });
    const metrics = await (await fetch(`${gatewayUrl}/charter/metrics`)).text();
    assert.match(
      metrics,
      /charter_cors_preflights_total\{outcome="refused",code="platform_mismatch"\} [1-9]/,
    );
  } finally {
    await browser?.close();
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, err);
});
