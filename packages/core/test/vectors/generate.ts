/**
 * Regenerates the verification vectors in this folder: `node --import tsx packages/core/test/vectors/generate.ts`.
 * Keys are seeded (helpers.ts), so Ed25519 vectors come out byte-identical each run; the few ES256
 * and RSA ones change bytes but not meaning. Each file is `{ title, kind, at, input, expected }`.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signCharter, signLicense } from '@charter/core';
import { AT, charterClaims, licenseClaims, otherKeys, rawJws, testVendor } from '../helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const v = await testVendor();
const other = otherKeys();
const ck = v.signer(v.charterKey);
const lk = v.signer(v.licenseKey);
const allKeys = Object.values(v.delegations);
const H = (over: Record<string, unknown> = {}, typ = 'charter+jwt') => ({ alg: 'EdDSA', typ, kid: v.charterKey.jwk.kid, ...over });
const edsign = (header: object, payload: object | string | Uint8Array, key = v.charterKey.privateKey) => rawJws(header, payload, key);
const goodCharter = await signCharter(charterClaims(), ck);
const [gh, gp, gs] = goodCharter.split('.') as [string, string, string];
const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
/** The last character of a 64-byte base64url signature with one of its four spare bits set. */
const spareBit = (s: string) => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return abc[abc.indexOf(s.slice(-1)) | 1];
};
const lic = (over = {}) => licenseClaims(allKeys, over);

type Expected = { ok: true } | { code: string; detail: string };
const vectors: { name: string; title: string; kind: 'charter' | 'license'; input: unknown; expected: Expected }[] = [];
const add = (name: string, title: string, kind: 'charter' | 'license', input: unknown, expected: Expected) =>
  vectors.push({ name, title, kind, input, expected });
const bad = (code: string, detail: string) => ({ code, detail });
const IC = 'invalid_charter';
const LI = 'license_invalid';

add('charter-valid', 'a well-formed charter signed by the delegated charter key', 'charter', goodCharter, { ok: true });
add('charter-valid-web-only', 'a charter for the web platform only', 'charter',
  await signCharter(charterClaims({ platforms: { web: { origins: ['http://localhost:5173'] } } }), ck), { ok: true });
add('license-valid', 'a well-formed license signed by the delegated license key', 'license', await signLicense(lic(), lk), { ok: true });

add('not-a-string', 'input that is not a string', 'charter', 12345, bad(IC, 'ERR_FORMAT'));
add('two-parts', 'a JWS with two parts', 'charter', `${gh}.${gp}`, bad(IC, 'ERR_FORMAT'));
add('json-serialization', 'JWS JSON serialization instead of compact', 'charter', JSON.stringify({ protected: gh, payload: gp, signature: gs }), bad(IC, 'ERR_FORMAT'));
add('too-large', 'an artifact over 64 KiB', 'charter', edsign(H(), charterClaims({ client_name: 'x'.repeat(70000) })), bad(IC, 'ERR_SIZE'));
add('non-canonical-base64', 'a signature with spare bits set in its last base64url character', 'charter', `${gh}.${gp}.${gs.slice(0, -1)}${spareBit(gs)}`, bad(IC, 'ERR_FORMAT'));
add('header-not-json', 'a protected header that is not JSON', 'charter', `${Buffer.from('{alg:EdDSA').toString('base64url')}.${gp}.${gs}`, bad(IC, 'ERR_HEADER'));
add('alg-none', 'alg none with an empty signature', 'charter', rawJws({ alg: 'none', typ: 'charter+jwt', kid: v.charterKey.jwk.kid }, charterClaims(), null), bad(IC, 'ERR_ALG_NONE'));
add('alg-hs256', 'HS256 keyed with the public key bytes (algorithm confusion)', 'charter',
  rawJws(H({ alg: 'HS256' }), charterClaims(), Buffer.from(v.charterKey.jwk.x as string, 'base64url')), bad(IC, 'ERR_ALG_HMAC'));
add('alg-es256', 'ES256, an algorithm vendor artifacts never use', 'charter', rawJws(H({ alg: 'ES256' }), charterClaims(), other.p256, 'ES256'), bad(IC, 'ERR_ALG'));
add('alg-rs256', 'RS256', 'charter', rawJws(H({ alg: 'RS256' }), charterClaims(), other.rsa, 'RS256'), bad(IC, 'ERR_ALG'));
add('alg-missing', 'no alg in the header', 'charter', edsign({ typ: 'charter+jwt', kid: v.charterKey.jwk.kid }, charterClaims()), bad(IC, 'ERR_ALG'));
add('typ-license-as-charter', 'a license presented as a charter', 'charter', await signLicense(lic(), lk), bad(IC, 'ERR_TYP'));
add('typ-charter-as-license', 'a charter presented as a license', 'license', goodCharter, bad(LI, 'ERR_TYP'));
add('typ-missing', 'no typ', 'charter', edsign({ alg: 'EdDSA', kid: v.charterKey.jwk.kid }, charterClaims()), bad(IC, 'ERR_TYP'));
add('typ-jwt', 'typ JWT', 'charter', edsign(H({ typ: 'JWT' }), charterClaims()), bad(IC, 'ERR_TYP'));
add('typ-key-as-charter', 'a key delegation presented as a charter', 'charter', v.delegations.charter, bad(IC, 'ERR_TYP'));
add('header-jku', 'a jku header pointing at attacker keys', 'charter', edsign(H({ jku: 'https://evil.example/jwks' }), charterClaims()), bad(IC, 'ERR_HEADER_KEY'));
add('header-x5u', 'an x5u header', 'charter', edsign(H({ x5u: 'https://evil.example/cert' }), charterClaims()), bad(IC, 'ERR_HEADER_KEY'));
add('header-jwk', 'an embedded jwk, signed by that (attacker) key', 'charter',
  edsign(H({ jwk: v.foreignKey.jwk, kid: v.foreignKey.jwk.kid }), charterClaims(), v.foreignKey.privateKey), bad(IC, 'ERR_HEADER_KEY'));
add('header-x5c', 'an x5c header', 'charter', edsign(H({ x5c: ['MIIB'] }), charterClaims()), bad(IC, 'ERR_HEADER_KEY'));
add('crit-unknown', 'an unknown critical extension', 'charter', edsign(H({ crit: ['exp2'], exp2: 1 }), charterClaims()), bad(IC, 'ERR_CRIT'));
add('b64-false', 'an unencoded payload (RFC 7797)', 'charter', edsign(H({ b64: false }), charterClaims()), bad(IC, 'ERR_HEADER'));
add('kid-missing', 'no kid', 'charter', edsign({ alg: 'EdDSA', typ: 'charter+jwt' }, charterClaims()), bad(IC, 'ERR_KID'));
add('kid-unknown', 'signed by a key the vendor never delegated', 'charter',
  edsign(H({ kid: 'Zm9yZWlnbi1rZXktdGhhdC1ub2JvZHktZGVsZWdhdGVk' }), charterClaims(), v.foreignRoot.privateKey), bad(IC, 'ERR_KID_UNKNOWN'));
add('root-signs-charter', 'the root key signing a charter directly', 'charter',
  edsign(H({ kid: v.root.jwk.kid }), charterClaims(), v.root.privateKey), bad(IC, 'ERR_KEY_USE'));
add('license-key-signs-charter', 'a charter signed by the license key', 'charter',
  edsign(H({ kid: v.licenseKey.jwk.kid }), charterClaims(), v.licenseKey.privateKey), bad(IC, 'ERR_KEY_USE'));
add('charter-key-signs-license', 'a license signed by the charter key', 'license',
  edsign(H({ kid: v.charterKey.jwk.kid }, 'charter-license+jwt'), lic(), v.charterKey.privateKey), bad(LI, 'ERR_KEY_USE'));
add('key-expired', 'signed by a key whose delegation has expired', 'charter',
  edsign(H({ kid: v.expiredKey.jwk.kid }), charterClaims({ iat: AT - 86400 * 10, nbf: AT - 86400 * 10 }), v.expiredKey.privateKey), bad(IC, 'ERR_KEY_EXPIRED'));
add('key-not-yet-valid', 'signed by a key whose delegation starts tomorrow', 'charter',
  edsign(H({ kid: v.futureKey.jwk.kid }), charterClaims(), v.futureKey.privateKey), bad(IC, 'ERR_KEY_NOT_YET_VALID'));
add('key-foreign-delegation', 'signed by a key delegated by another vendor’s root', 'charter',
  edsign(H({ kid: v.foreignKey.jwk.kid }), charterClaims(), v.foreignKey.privateKey), bad(IC, 'ERR_KEY_DELEGATION'));
add('signature-flipped', 'one signature byte changed', 'charter', `${gh}.${gp}.${flip(gs, 10)}`, bad(IC, 'ERR_SIGNATURE'));
add('payload-edited', 'a claim edited after signing (scopes widened)', 'charter',
  `${gh}.${Buffer.from(JSON.stringify({ ...charterClaims(), scopes: ['orders:read', 'orders:write', 'admin'] })).toString('base64url')}.${gs}`, bad(IC, 'ERR_SIGNATURE'));
add('payload-not-json', 'a payload that is not JSON', 'charter', edsign(H(), 'not json at all'), bad(IC, 'ERR_PAYLOAD'));
add('payload-array', 'a payload that is a JSON array', 'charter', edsign(H(), '[1,2,3]'), bad(IC, 'ERR_PAYLOAD'));
add('payload-invalid-utf8', 'a payload that is not UTF-8', 'charter', edsign(H(), new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), bad(IC, 'ERR_PAYLOAD'));
add('iss-foreign', 'a charter from another vendor id', 'charter', edsign(H(), charterClaims({ iss: 'evil' })), bad(IC, 'ERR_ISS'));
add('claim-missing-scopes', 'no scopes claim', 'charter', edsign(H(), { ...charterClaims(), scopes: undefined }), bad(IC, 'ERR_CLAIMS'));
add('claim-exp-string', 'exp as a string', 'charter', edsign(H(), { ...charterClaims(), exp: String(AT + 1000) }), bad(IC, 'ERR_CLAIMS'));
add('claim-platforms-empty', 'no platform', 'charter', edsign(H(), charterClaims({ platforms: {} })), bad(IC, 'ERR_CLAIMS'));
add('claim-platform-unknown', 'an unknown platform', 'charter', edsign(H(), { ...charterClaims(), platforms: { windows: {} } }), bad(IC, 'ERR_CLAIMS'));
add('claim-android-digest-upper', 'an Android digest in upper case', 'charter',
  edsign(H(), charterClaims({ platforms: { android: { package_name: 'com.beta.orders', signing_cert_sha256: ['AB'.repeat(32)] } } })), bad(IC, 'ERR_CLAIMS'));
add('claim-web-origin-path', 'a web origin with a path', 'charter',
  edsign(H(), charterClaims({ platforms: { web: { origins: ['https://orders.beta.example/app'] } } })), bad(IC, 'ERR_CLAIMS'));
add('claim-attestation-bogus', 'an attestation policy that is neither required nor optional', 'charter',
  edsign(H(), { ...charterClaims(), attestation: { android: 'never' } }), bad(IC, 'ERR_CLAIMS'));
add('charter-expired', 'a charter past its exp', 'charter', edsign(H(), charterClaims({ iat: AT - 86400 * 200, nbf: AT - 86400 * 200, exp: AT - 86400 })), bad('charter_expired', 'ERR_EXPIRED'));
add('charter-not-yet-valid', 'a charter whose nbf is tomorrow', 'charter', edsign(H(), charterClaims({ nbf: AT + 86400 })), bad(IC, 'ERR_NOT_YET_VALID'));
add('charter-iat-future', 'a charter issued tomorrow', 'charter', edsign(H(), charterClaims({ iat: AT + 86400 })), bad(IC, 'ERR_IAT'));
add('charter-outside-key-window', 'a charter dated before its signing key was delegated', 'charter',
  edsign(H(), charterClaims({ iat: AT - 86400 * 400, nbf: AT - 86400 * 400 })), bad(IC, 'ERR_KEY_WINDOW'));
add('license-expired', 'a license past its exp', 'license',
  edsign(H({ kid: v.licenseKey.jwk.kid }, 'charter-license+jwt'), lic({ iat: AT - 86400 * 30, nbf: AT - 86400 * 30, exp: AT - 1000 }), v.licenseKey.privateKey), bad(LI, 'ERR_EXPIRED'));
add('license-serial-zero', 'a license with serial 0', 'license',
  edsign(H({ kid: v.licenseKey.jwk.kid }, 'charter-license+jwt'), lic({ serial: 0 }), v.licenseKey.privateKey), bad(LI, 'ERR_CLAIMS'));
add('license-mode-bogus', 'a license whose mode is neither enforce nor monitor', 'license',
  edsign(H({ kid: v.licenseKey.jwk.kid }, 'charter-license+jwt'), { ...lic(), policy: { mode: 'off' } }, v.licenseKey.privateKey), bad(LI, 'ERR_CLAIMS'));
add('license-site-mismatch', 'a license whose site.id differs from sub', 'license',
  edsign(H({ kid: v.licenseKey.jwk.kid }, 'charter-license+jwt'), lic({ site: { id: 'site_other', name: 'Other' } }), v.licenseKey.privateKey), bad(LI, 'ERR_CLAIMS'));
add('license-no-keys', 'a license that carries no key delegations (its own key unknown)', 'license',
  await signLicense(licenseClaims([]), lk), bad(LI, 'ERR_KID_UNKNOWN'));
add('license-alg-none', 'an unsigned license', 'license',
  rawJws({ alg: 'none', typ: 'charter-license+jwt', kid: v.licenseKey.jwk.kid }, lic(), null), bad(LI, 'ERR_ALG_NONE'));

for (const f of readdirSync(here)) if (f.endsWith('.json')) rmSync(join(here, f));
writeFileSync(join(here, '_context.json'), `${JSON.stringify({ at: AT, trust: v.trust, keys: allKeys }, null, 2)}\n`);
for (const { name, ...rest } of vectors) writeFileSync(join(here, `${name}.json`), `${JSON.stringify({ ...rest, at: AT }, null, 2)}\n`);
console.log(`${vectors.length} vectors, ${vectors.filter((x) => !('ok' in x.expected)).length} invalid`);
