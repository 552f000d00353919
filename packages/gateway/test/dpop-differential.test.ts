/**
 * The DPoP fast path (node:crypto, dpop.ts) against jose: RFC 9449 vectors, then fast-check proofs
 * mutated in header, claims, key, signature and bytes, each judged by both
 *   - ours: verifyDpopProof(proof, expectations)
 *   - jose: jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256', 'EdDSA'],
 *           maxTokenAge: 0, clockTolerance: skew, currentDate }) plus the same RFC 9449 claim rules
 * and required to agree. Ours is deliberately stricter in a few places jose allows (any `crit`/`b64`,
 * `key_ops`, `ext`, proofs over 8 KiB, whitespace inside segments); the generators below do produce
 * `crit`, `key_ops` and whitespace, and for those the property only requires ours ⊆ jose.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { EmbeddedJWK, jwtVerify } from 'jose';
import { type ProofExpectations, verifyDpopProof } from '../src/dpop.ts';
import { sha256B64url } from '../src/hash.ts';
import { normaliseHtu } from '../src/htu.ts';

type Alg = 'ES256' | 'EdDSA';
interface Key {
  alg: Alg;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function key(alg: Alg): Key {
  const { privateKey, publicKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { alg, privateKey, jwk };
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Sign header and payload with the key's real algorithm, whatever the header claims. */
function signRaw(header: unknown, payload: unknown, k: Key): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig =
    k.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: k.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(null, Buffer.from(input), k.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

async function joseAccepts(proof: string, e: ProofExpectations): Promise<boolean> {
  try {
    const { payload } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'EdDSA'],
      maxTokenAge: 0,
      clockTolerance: e.skewS,
      currentDate: new Date(e.now * 1000),
    });
    const { jti, htm, htu, ath, nonce } = payload as Record<string, unknown>;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) return false;
    if (htm !== e.method) return false;
    if (typeof htu !== 'string' || normaliseHtu(htu) !== e.htu) return false;
    if (e.ath !== undefined && ath !== e.ath) return false;
    if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length > 512)) return false;
    return true;
  } catch {
    return false;
  }
}

function oursAccepts(proof: string, e: ProofExpectations): boolean {
  try {
    verifyDpopProof(proof, e);
    return true;
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'invalid_dpop_proof');
    return false;
  }
}

test('RFC 9449 §4.2 example proof and §7.1 ath vector', async () => {
  const proof =
    'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19' +
    '.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ' +
    '.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg';
  const e: ProofExpectations = {
    method: 'POST',
    htu: 'https://server.example.com/token',
    now: 1562262616,
    skewS: 60,
  };
  assert.equal(await joseAccepts(proof, e), true);
  assert.equal(oursAccepts(proof, e), true);
  assert.equal(verifyDpopProof(proof, e).key.jkt, '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
  for (const other of [
    { ...e, now: e.now + 61 },
    { ...e, method: 'GET' },
    { ...e, htu: 'https://server.example.com/other' },
  ]) {
    assert.equal(await joseAccepts(proof, other), false);
    assert.equal(oursAccepts(proof, other), false);
  }
  assert.equal(
    sha256B64url('Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU'),
    'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo',
  );
});

const KEYS = [key('ES256'), key('EdDSA'), key('ES256'), key('EdDSA')] as const;
const NOW = 1_700_000_000;
const HTU = 'https://api.example.com/orders/1';
const TOKEN_HASH = sha256B64url('token');

const jwkVariant = (k: Key) =>
  fc.constantFrom<[string, (j: Record<string, unknown>) => unknown]>(
    ['same', (j) => j],
    ['other key', () => (KEYS.find((o) => o !== k && o.alg === k.alg) as Key).jwk],
    ['other type', () => (KEYS.find((o) => o.alg !== k.alg) as Key).jwk],
    ['with d', (j) => ({ ...j, d: 'AAAA' })],
    ['use sig', (j) => ({ ...j, use: 'sig' })],
    ['use enc', (j) => ({ ...j, use: 'enc' })],
    ['alg member', (j) => ({ ...j, alg: k.alg })],
    ['wrong alg member', (j) => ({ ...j, alg: k.alg === 'ES256' ? 'EdDSA' : 'ES256' })],
    ['kid', (j) => ({ ...j, kid: 'x' })],
    ['missing', () => undefined],
    ['array', () => []],
    ['string', () => 'jwk'],
    ['bad crv', (j) => ({ ...j, crv: j.kty === 'EC' ? 'P-384' : 'Ed448' })],
    ['short x', (j) => ({ ...j, x: String(j.x).slice(1) })],
    ['key_ops', (j) => ({ ...j, key_ops: ['verify'] })],
  );

/** Mostly the valid value, sometimes one of the variants: so that both verdicts are well exercised. */
function mostly<T>(valid: T, ...variants: T[]): fc.Arbitrary<T> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(valid) },
    { weight: 1, arbitrary: fc.constantFrom(...variants) },
  );
}

const headerArb = fc.record({
  typ: mostly<unknown>('dpop+jwt', 'DPoP+JWT', 'application/dpop+jwt', 'jwt', 'at+jwt', undefined, 7),
  alg: mostly<unknown>('keys', 'ES256', 'EdDSA', 'none', 'HS256', 'ES384', 'Ed25519', 'RS256', undefined),
  extra: mostly<Record<string, unknown>>(
    {},
    { kid: 'k' },
    { crit: ['exp'] },
    { x5c: [] },
    { jku: 'https://x' },
  ),
});

const claimsArb = fc.record({
  iat: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -70, max: 70 }).map((d) => NOW + d) },
    { weight: 1, arbitrary: fc.integer({ min: -1000, max: 1000 }).map((d) => NOW + d) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(undefined, '1700000000', null, NOW + 0.5, NOW - 60.5, NOW + 60),
    },
  ),
  htm: mostly<unknown>('GET', 'POST', 'get', undefined),
  htu: mostly<unknown>(
    HTU,
    HTU,
    `${HTU}?q=1`,
    `${HTU}#f`,
    'https://API.example.com:443/orders/1',
    'https://api.example.com/orders/1/',
    'https://api.example.com/orders/2',
    'http://api.example.com/orders/1',
    'https://api.example.com:8443/orders/1',
    'https://api.example.com/orders/%31',
    'not a url',
    undefined,
    42,
  ),
  jti: fc.oneof(
    { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('', undefined, 5, 'x'.repeat(300)) },
  ),
  ath: mostly<unknown>(TOKEN_HASH, undefined, sha256B64url('other'), 5),
  nonce: mostly<unknown>(undefined, 'n', 5, '', 'x'.repeat(600)),
  exp: mostly<unknown>(undefined, NOW + 10, NOW - 100, NOW - 60, 'soon'),
  nbf: mostly<unknown>(undefined, NOW - 10, NOW + 100, NOW + 60, NOW + 61),
});

const mutationArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant<{ kind: 'none' }>({ kind: 'none' }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant<'flip'>('flip'),
      at: fc.nat(),
      to: fc.constantFrom('A', '_', '-', '.', ' ', '=', '+', 'z'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant<'cut'>('cut'), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant<'resign'>('resign'), with: fc.nat({ max: KEYS.length - 1 }) }),
  },
);

function mutate(
  proof: string,
  m: fc.Arbitrary<unknown> extends never ? never : { kind: string; at?: number; to?: string; with?: number },
  build: (k: Key) => string,
): string {
  if (m.kind === 'flip') {
    const i = (m.at as number) % proof.length;
    return proof.slice(0, i) + m.to + proof.slice(i + 1);
  }
  if (m.kind === 'cut') return proof.slice(0, (m.at as number) % proof.length);
  if (m.kind === 'resign') {
    const other = build(KEYS[m.with as number] as Key);
    return `${proof.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}`;
  }
  return proof;
}

test('ours and jose agree on fuzzed and mutated proofs', async () => {
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: KEYS.length - 1 }),
      headerArb,
      claimsArb,
      fc.nat(),
      mutationArb,
      fc.boolean(),
      async (ki, h, c, jwkPick, m, expectAth) => {
        const k = KEYS[ki] as Key;
        const variants = fc.sample(jwkVariant(k), { seed: jwkPick, numRuns: 1 });
        const [, jwkOf] = (jwkPick % 3 === 0 ? variants[0] : ['same', (j: unknown) => j]) as [
          string,
          (j: Record<string, unknown>) => unknown,
        ];
        const header: Record<string, unknown> = { ...h.extra };
        if (h.typ !== undefined) header.typ = h.typ;
        const alg = h.alg === 'keys' ? k.alg : h.alg;
        if (alg !== undefined) header.alg = alg;
        const jwk = jwkOf(k.jwk);
        if (jwk !== undefined) header.jwk = jwk;
        const payload: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(c)) if (value !== undefined) payload[name] = value;
        const build = (signer: Key) => signRaw(header, payload, signer);
        const proof = mutate(build(k), m, build);
        const e: ProofExpectations = {
          method: 'GET',
          htu: HTU,
          now: NOW,
          skewS: 60,
          ...(expectAth ? { ath: TOKEN_HASH } : {}),
        };
        const ours = oursAccepts(proof, e);
        const theirs = await joseAccepts(proof, e);
        if (ours) accepted++;
        // Where ours is stricter by design, only ours ⇒ jose is required.
        const stricter =
          'crit' in header ||
          (typeof jwk === 'object' && jwk !== null && 'key_ops' in jwk) ||
          /\s/.test(proof);
        if (stricter) assert.ok(!ours || theirs, `ours accepted what jose refused: ${proof}`);
        else
          assert.equal(
            ours,
            theirs,
            `disagreement (ours ${ours}, jose ${theirs}) on ${proof} header ${JSON.stringify(header)} payload ${JSON.stringify(payload)}`,
          );
      },
    ),
    { numRuns: 3000 },
  );
  // The generators must reach the accepting side too, or agreement would be trivial.
  assert.ok(accepted > 20, `only ${accepted} accepted proofs were generated`);
});

test('payload bytes beyond ASCII: valid UTF-8 agrees with jose, invalid UTF-8 is refused', async () => {
  const k = KEYS[0] as Key;
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: k.jwk });
  const signBytes = (payload: Buffer) => {
    const input = `${header}.${payload.toString('base64url')}`;
    const sig = sign('sha256', Buffer.from(input), { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${sig.toString('base64url')}`;
  };
  const e: ProofExpectations = { method: 'GET', htu: HTU, now: NOW, skewS: 60 };
  const json = (jti: string) => Buffer.from(JSON.stringify({ jti, htm: 'GET', htu: HTU, iat: NOW }));
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      fc.constantFrom('utf8', 'bom', 'lone byte', 'overlong', 'surrogate'),
      async (jti, shape) => {
        const body = json(jti);
        const bytes =
          shape === 'utf8'
            ? body
            : shape === 'bom'
              ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body])
              : Buffer.concat([
                  body.subarray(0, 8),
                  Buffer.from(
                    shape === 'lone byte' ? [0xff] : shape === 'overlong' ? [0xc0, 0xaf] : [0xed, 0xa0, 0x80],
                  ),
                  body.subarray(8),
                ]);
        const proof = signBytes(bytes);
        const ours = oursAccepts(proof, e);
        const theirs = await joseAccepts(proof, e);
        if (ours) accepted++;
        // jose reads invalid UTF-8 as U+FFFD; ours refuses it (a proof is what its signer wrote, byte for byte).
        if (shape === 'utf8' || shape === 'bom')
          assert.equal(ours, theirs, `${shape} ${JSON.stringify(jti)}`);
        else assert.equal(ours, false, `${shape} accepted`);
      },
    ),
    { numRuns: 500 },
  );
  assert.ok(accepted > 50, `only ${accepted} accepted`);
});
