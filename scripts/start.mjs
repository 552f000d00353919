#!/usr/bin/env node
// `npm start`: the first run. Until the gateway lands this walks the vendor's side of the main flow
// in a throwaway folder and prints what it made; see README "First run".
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', 'node_modules', '.bin', 'charter');
const dir = mkdtempSync(join(tmpdir(), 'charter-first-run-'));
const env = {
  ...process.env,
  CHARTER_PASSPHRASE: process.env.CHARTER_PASSPHRASE ?? 'first-run passphrase (throwaway)',
};
function charter(...args) {
  const r = spawnSync(bin, [...args, '--json'], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(r.status ?? 1);
  }
  return JSON.parse(r.stdout);
}
console.log(`Charter first run, in ${dir}\n`);
const v = charter('vendor', 'init', '--home', 'V', '--vendor-id', 'acme', '--name', 'Acme Health');
console.log(`1. The vendor "acme" exists; its root key ${v.root_kid.slice(0, 12)}… is encrypted at rest.`);
charter('vendor', 'export-trust', '--home', 'V', '--out', 'trust.json');
const own = charter('vendor', 'publisher', 'add', '--home', 'V', '--name', 'Acme Health');
const beta = charter('vendor', 'publisher', 'add', '--home', 'V', '--name', 'Beta Apps');
const a1 = charter(
  'vendor',
  'app',
  'submit',
  '--home',
  'V',
  '--publisher',
  own.publisher_id,
  '--name',
  'Acme Ward',
  '--scopes',
  'orders:read,orders:write',
  '--web-origin',
  'http://localhost:5173',
);
const a2 = charter(
  'vendor',
  'app',
  'submit',
  '--home',
  'V',
  '--publisher',
  beta.publisher_id,
  '--name',
  'Beta Orders',
  '--scopes',
  'orders:read',
  '--server',
);
console.log(`2. Two apps submitted: the vendor's own (${a1.app_id}) and a third party's (${a2.app_id}).`);
const c1 = charter(
  'vendor',
  'app',
  'approve',
  '--home',
  'V',
  a1.submission_id,
  '--ttl',
  '180d',
  '--out',
  'acme-ward.charter',
);
const c2 = charter(
  'vendor',
  'app',
  'approve',
  '--home',
  'V',
  a2.submission_id,
  '--ttl',
  '180d',
  '--out',
  'beta-orders.charter',
);
console.log(`3. Both approved: charters ${c1.charter_id} and ${c2.charter_id}.`);
const site = charter('vendor', 'site', 'add', '--home', 'V', '--name', 'Hospital A');
const lic = charter(
  'vendor',
  'license',
  'issue',
  '--home',
  'V',
  '--site',
  site.site_id,
  '--apps',
  `${a1.app_id},${a2.app_id}`,
  '--ttl',
  '365d',
  '--out',
  'hospital-a.license',
);
console.log(`4. Hospital A's license (serial ${lic.serial}) admits both apps.\n`);
const inspect = spawnSync(bin, ['license', 'inspect', 'hospital-a.license', '--trust', 'trust.json'], {
  cwd: dir,
  env,
  encoding: 'utf8',
});
console.log(inspect.stdout);
console.log(
  `The files are in ${dir}. Try: npx charter license inspect ${join(dir, 'hospital-a.license')} --trust ${join(dir, 'trust.json')}`,
);
