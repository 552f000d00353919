/** The license's per-app `web_origins` (the gateway's CORS source): canonical origins only, at most 50. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharterError, checkLicenseClaims } from '@charter/core';

function claims(webOrigins: unknown): Record<string, unknown> {
  return {
    iss: 'acme',
    sub: 'site_a',
    jti: 'lic_1',
    serial: 1,
    iat: 1,
    nbf: 1,
    exp: 2,
    site: { id: 'site_a', name: 'A' },
    keys: [],
    apps: [{ app_id: 'app_a', ...(webOrigins === undefined ? {} : { web_origins: webOrigins }) }],
    revoked: {},
    policy: { mode: 'enforce' },
  };
}

test('a license may list canonical web origins per app, and nothing else there', () => {
  checkLicenseClaims(claims(undefined));
  checkLicenseClaims(claims([]));
  checkLicenseClaims(claims(['https://orders.beta.example', 'http://localhost:5173', 'http://[::1]:8080']));
  const bad = [
    'https://Orders.beta.example',
    'https://orders.beta.example/',
    'https://orders.beta.example/app',
    'https://orders.beta.example:443',
    'null',
    '*',
    'ftp://orders.beta.example',
    'https://user@orders.beta.example',
    'orders.beta.example',
    '',
  ];
  for (const o of bad)
    assert.throws(
      () => checkLicenseClaims(claims([o])),
      (e) => e instanceof CharterError && e.code === 'license_invalid' && e.detail === 'ERR_CLAIMS',
      o,
    );
  for (const v of ['https://a.example', [1], {}, null])
    assert.throws(() => checkLicenseClaims(claims(v)), CharterError, JSON.stringify(v));
  const many = Array.from({ length: 51 }, (_, i) => `https://a${i}.example`);
  assert.throws(() => checkLicenseClaims(claims(many)), CharterError);
  checkLicenseClaims(claims(many.slice(0, 50)));
});
