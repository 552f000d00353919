/** Property tests for every parser facing the network: they answer a value or a catalogued refusal, never anything else. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharterError } from '@charter/core';
import fc from 'fast-check';
import { parseRegisterBody, parseTokenBody } from '../src/bodies.ts';
import {
  canonicalPath,
  compileRoutes,
  MemoryCache,
  matchRoute,
  parseAuthorization,
  scopesFor,
  verifyDpopProof,
  wildcardMatch,
} from '../src/index.ts';
import { NonceIssuer } from '../src/nonce.ts';

function refusesWith(code: string, fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof CharterError, `threw ${String(e)}`);
    assert.equal(e.code, code);
    return undefined;
  }
}

const b64json = fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64url'));
const segment = fc.oneof(
  b64json,
  fc.string(),
  fc.base64String().map((s) => s.replace(/=+$/, '')),
);

test('DPoP proof parsing: any header value is a proof or invalid_dpop_proof', () => {
  const expect = { method: 'GET', htu: 'https://a.example/x', now: 1_700_000_000, skewS: 60 };
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.tuple(segment, segment, segment).map((p) => p.join('.')),
      ),
      (value) => {
        refusesWith('invalid_dpop_proof', () => verifyDpopProof(value, expect));
      },
    ),
    { numRuns: 2000 },
  );
  assert.equal(
    refusesWith('invalid_dpop_proof', () => verifyDpopProof('a'.repeat(100_000), expect)),
    undefined,
  );
});

test('Authorization parsing: DPoP token68 round-trips, anything else is invalid_token', () => {
  const token68 = fc.stringMatching(/^[A-Za-z0-9._~+/-]{1,200}=*$/);
  fc.assert(fc.property(token68, (t) => assert.equal(parseAuthorization(`DPoP ${t}`), t)));
  fc.assert(fc.property(token68, (t) => assert.equal(parseAuthorization(`dpop ${t}`), t)));
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (value) => {
      const out = refusesWith('invalid_token', () => parseAuthorization(value));
      if (out !== undefined) assert.match(out as string, /^[A-Za-z0-9._~+/-]+=*$/);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(token68, (t) =>
      assert.equal(
        refusesWith('invalid_token', () => parseAuthorization(`Bearer ${t}`)),
        undefined,
      ),
    ),
  );
});

test('register and token bodies: valid ones parse, anything else is invalid_request', () => {
  const ct = 'application/json';
  fc.assert(
    fc.property(
      fc.oneof(fc.jsonValue(), fc.object()),
      fc.constantFrom(ct, 'text/plain', undefined, 'application/json; charset=utf-8'),
      (value, type) => {
        const text = JSON.stringify(value) ?? '';
        refusesWith('invalid_request', () => parseRegisterBody(Buffer.from(text), type));
        refusesWith('invalid_request', () => parseTokenBody(text, type));
        refusesWith('invalid_request', () => parseTokenBody(value, type));
      },
    ),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      refusesWith('invalid_request', () => parseRegisterBody(Buffer.from(bytes), ct));
    }),
  );
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z0-9._:~-]{1,128}$/),
      fc.constantFrom('android', 'ios', 'web', 'server'),
      (id, platform) => {
        assert.deepEqual(parseTokenBody(Buffer.from(JSON.stringify({ instance_id: id })), ct), {
          instance_id: id,
        });
        assert.equal(
          parseRegisterBody(JSON.stringify({ charter: 'a.b.c', platform }), ct).platform,
          platform,
        );
      },
    ),
  );
  assert.equal(
    refusesWith('invalid_request', () => parseRegisterBody(Buffer.alloc(70_000, 32), ct)),
    undefined,
  );
});

test('canonical paths: refused or free of dot segments, empty segments and encoded separators', () => {
  const pathArb = fc
    .array(
      fc.oneof(
        fc.string({ maxLength: 6 }),
        fc.constantFrom('.', '..', '%2e', '%2E%2e', '%2f', '%5C', '', '%zz', '%41', 'a%00'),
      ),
      { maxLength: 6 },
    )
    .map((segs) => `/${segs.join('/')}`);
  fc.assert(
    fc.property(fc.oneof(pathArb, fc.string({ maxLength: 40 })), (raw) => {
      const out = refusesWith('invalid_request', () => canonicalPath(raw)) as string | undefined;
      if (out === undefined) return;
      const segs = out.slice(1).split('/');
      for (const [i, s] of segs.entries()) {
        assert.ok(s !== '.' && s !== '..', out);
        assert.ok(s !== '' || i === segs.length - 1, out);
      }
      // Canonical is a fixed point once re-encoded: nothing left for an upstream to decode differently.
      assert.equal(
        canonicalPath(
          segs
            .map((s) => encodeURIComponent(s).replace(/%3B/g, ';'))
            .join('/')
            .replace(/^/, '/'),
        ),
        out,
      );
    }),
    { numRuns: 3000 },
  );
});

test('route matching: the wildcard matcher agrees with a regular expression oracle', () => {
  const alpha = fc.constantFrom('a', 'b', '/', '*');
  fc.assert(
    fc.property(
      fc.string({ unit: alpha, maxLength: 8 }),
      fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 10 }),
      (pattern, text) => {
        const oracle = new RegExp(
          `^${pattern
            .split('*')
            .map((p) => p.replace(/[/]/g, '\\/'))
            .join('.*')}$`,
          's',
        );
        assert.equal(wildcardMatch(pattern, text), oracle.test(text));
      },
    ),
    { numRuns: 3000 },
  );
  const routes = compileRoutes([
    { method: 'GET', path: '/orders/*', scope: 'orders:read' },
    { method: '*', path: '/admin*', scope: 'admin' },
  ]);
  fc.assert(
    fc.property(
      fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE'),
      fc.string({ maxLength: 30 }),
      (method, rest) => {
        const r = matchRoute(routes, method, `/${rest}`);
        if (`/${rest}`.startsWith('/admin')) assert.equal(r?.scope, 'admin');
        else if (`/${rest}`.startsWith('/orders/') && (method === 'GET' || method === 'HEAD'))
          assert.equal(r?.scope, 'orders:read');
        else assert.equal(r, undefined);
      },
    ),
  );
  // Any spelling a common server routes to a guarded handler (case, trailing slash, `;` parameters,
  // encoded letters) needs that handler's scope, or is refused; never no scope at all.
  const guarded = compileRoutes([
    { method: 'POST', path: '/orders/*', scope: 'orders:write' },
    { method: 'GET', path: '/admin', scope: 'orders:admin' },
  ]);
  const spelling = (word: string) =>
    fc
      .array(fc.constantFrom('lower', 'upper', 'encoded'), { minLength: word.length, maxLength: word.length })
      .map((how) =>
        [...word]
          .map((ch, i) =>
            how[i] === 'upper'
              ? ch.toUpperCase()
              : how[i] === 'encoded'
                ? `%${ch.charCodeAt(0).toString(16)}`
                : ch,
          )
          .join(''),
      );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.tuple(fc.constant('GET'), spelling('admin'), fc.constant('')),
        fc.tuple(fc.constant('POST'), spelling('orders'), fc.constantFrom('/1', '/a/b')),
      ),
      fc.constantFrom('', '/', ';x=1', ';x/'),
      ([method, word, rest], tail) => {
        const path = `/${word}${rest}${tail}`;
        const need = method === 'GET' ? 'orders:admin' : 'orders:write';
        const scopes = refusesWith('invalid_request', () => scopesFor(guarded, method, path)) as
          | string[]
          | undefined;
        if (scopes !== undefined) assert.deepEqual(scopes, [need], path);
      },
    ),
    { numRuns: 2000 },
  );
  // Pathological patterns stay fast (no regex backtracking).
  const t0 = Date.now();
  assert.equal(wildcardMatch('/*a*a*a*a*a*a*a*b', `/${'a'.repeat(8000)}`), false);
  assert.ok(Date.now() - t0 < 500);
  assert.throws(() => compileRoutes([{ method: 'GET', path: 'no-slash', scope: 'x' }]), {
    code: 'invalid_request',
  });
  assert.throws(() => compileRoutes({}), { code: 'invalid_request' });
});

test('nonces: issued ones spend exactly once, anything else never', async () => {
  const issuer = new NonceIssuer(Buffer.alloc(32, 7), new MemoryCache(), 120);
  const now = 1_700_000_000;
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 60 }), async (s) => {
      assert.equal(await issuer.spend(s, now), false);
    }),
  );
  const { nonce } = issuer.issue(now);
  assert.equal(await issuer.spend(nonce, now + 1), true);
  assert.equal(await issuer.spend(nonce, now + 2), false);
  const late = issuer.issue(now).nonce;
  assert.equal(await issuer.spend(late, now + 121), false);
  const foreign = new NonceIssuer(Buffer.alloc(32, 8), new MemoryCache(), 120).issue(now).nonce;
  assert.equal(await issuer.spend(foreign, now), false);
});
