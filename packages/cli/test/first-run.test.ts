/** `npm start` tells the whole story on a fresh machine: two apps admitted, three clones refused with their codes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
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
  assert.match(
    line('Nurse Alice signs in'),
    /admitted: DPoP user token from the IdP; GET \/orders → 200, the API saw app Beta Orders and user nurse\.alice/,
  );
  assert.match(line('attestation copied'), /refused by the identity provider: 401 invalid_client/);
});
