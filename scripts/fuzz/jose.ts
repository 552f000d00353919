/**
 * Structure-aware mutation of compact JWS (DPoP proofs, access tokens, charters, licenses,
 * revocation updates, activation requests, usage reports): header and payload fields mutated as
 * JSON, alg/typ/kid/jwk/crit variants, base64url edge cases, wrong segment counts, splices of
 * segments from other tokens, raw text damage. When the fuzzer holds the signing key, a mutated
 * token is often signed again, so the claim checks behind the signature check are reached too.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mutateText } from './bytes.ts';
import { mutateJson, Raw, randomValue, toJsonText } from './json.ts';
import type { Rng } from './rng.ts';

/** Signs `header.payload` (both base64url) and returns the base64url signature. */
export type Resigner = (
  signingInput: string,
  header: Record<string, unknown> | undefined,
) => string | undefined;

const b64u = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

function decodeSegment(s: string): unknown {
  try {
    return JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const ALGS = [
  'none',
  'None',
  'HS256',
  'RS256',
  'PS256',
  'ES256',
  'ES384',
  'ES512',
  'ES256K',
  'EdDSA',
  'Ed25519',
  'ML-DSA-65',
  'es256',
  'ES256 ',
  '',
  'RSA-OAEP',
];
const TYPS = [
  'dpop+jwt',
  'DPOP+JWT',
  'application/dpop+jwt',
  'at+jwt',
  'JWT',
  'jwt',
  'charter+jwt',
  'license+jwt',
  'application/charter+jwt',
  'revocations+jwt',
  'oauth-client-attestation+jwt',
  '',
  'dpop+jwt; x=1',
];

const spare = (() => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  return { ec, ed, rsa };
})();

/** Header field variants an attacker would try. */
function headerVariant(rng: Rng, header: Record<string, unknown>): Record<string, unknown> {
  // An earlier mutation may have left a header that is not an object (null, an array, a number).
  const h = typeof header === 'object' && header !== null && !Array.isArray(header) ? header : {};
  const out = { ...h };
  switch (rng.int(8)) {
    case 0:
      out.alg = rng.pick(ALGS);
      break;
    case 1:
      out.typ = rng.pick(TYPS);
      break;
    case 2:
      out.kid = rng.pick<unknown>([
        '',
        'x'.repeat(5000),
        '../../../dev/null',
        0,
        null,
        ['a'],
        { a: 1 },
        // An earlier mutation may have made kid anything (a tree too deep to print): only a string is extended.
        `${typeof h.kid === 'string' ? h.kid : ''}x`,
      ]);
      break;
    case 3: {
      const jwk = (typeof h.jwk === 'object' && h.jwk !== null ? { ...h.jwk } : {}) as Record<
        string,
        unknown
      >;
      switch (rng.int(9)) {
        case 0:
          out.jwk = { ...jwk, d: 'AAAA' };
          break;
        case 1:
          out.jwk = rng.pick([spare.ec, spare.ed, spare.rsa]);
          break;
        case 2:
          out.jwk = { ...jwk, x: b64u(new Uint8Array(32)), y: b64u(new Uint8Array(32)) };
          break;
        case 3:
          out.jwk = { ...jwk, crv: rng.pick(['P-384', 'P-521', 'secp256k1', 'Ed448', 'X25519', '']) };
          break;
        case 4:
          out.jwk = { kty: 'oct', k: 'AAAA' };
          break;
        case 5:
          out.jwk = { ...jwk, kty: rng.pick(['EC', 'OKP', 'RSA', 'oct', '', 'AKP']) };
          break;
        case 6:
          out.jwk = { ...jwk, x: `${String(jwk.x ?? '')}A`.repeat(rng.pick([1, 100])) };
          break;
        case 7:
          out.jwk = randomValue(rng);
          break;
        default:
          out.jwk = { kty: 'RSA', n: 'AQAB', e: 'AQAB' };
      }
      break;
    }
    case 4:
      out.crit = rng.pick<unknown>([['b64'], ['exp'], [], 'b64', [1], ['x'.repeat(100)]]);
      if (rng.chance(0.5)) out.b64 = false;
      break;
    case 5:
      out.x5c = rng.pick<unknown>([['AAAA'], [], 'AAAA', [b64u(new Uint8Array(100))]]);
      break;
    case 6:
      out.jku = 'https://attacker.example/jwks';
      out.x5u = 'https://attacker.example/x5u';
      break;
    default:
      delete out[rng.pick(['alg', 'typ', 'kid', 'jwk'])];
  }
  return out;
}

/** base64url spellings that decode to the same or nearly the same bytes. */
function b64Edge(rng: Rng, seg: string): string {
  switch (rng.int(8)) {
    case 0:
      return `${seg}${rng.pick(['=', '==', '==='])}`;
    case 1:
      return seg.replace(/-/g, '+').replace(/_/g, '/');
    case 2: {
      // Non-canonical trailing bits: the last character moved within its 6-bit group.
      if (!seg) return 'A';
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const i = alphabet.indexOf(seg[seg.length - 1] as string);
      return seg.slice(0, -1) + (alphabet[(i + 1) % 64] as string);
    }
    case 3: {
      const at = rng.int(seg.length + 1);
      return (
        seg.slice(0, at) + rng.pick([' ', '\n', '\t', '.', '!', '\u00e9', '%', '\u0000']) + seg.slice(at)
      );
    }
    case 4:
      return seg.slice(0, Math.max(0, seg.length - rng.range(1, 3)));
    case 5:
      return Buffer.from(Buffer.from(seg, 'base64url')).toString('base64');
    case 6:
      return '';
    default:
      return `${seg}A`;
  }
}

/** One mutation of compact JWS `token`; `others` are corpus tokens for splices. */
export function mutateJws(rng: Rng, token: string, others: readonly string[], resign?: Resigner): string {
  const parts = token.split('.');
  const [h = '', p = '', s = ''] = parts;
  const header = decodeSegment(h) as Record<string, unknown> | undefined;
  const payload = decodeSegment(p);
  const sign = (hh: string, pp: string, hdr: Record<string, unknown> | undefined): string => {
    if (resign && rng.chance(0.75)) {
      const sig = resign(`${hh}.${pp}`, hdr);
      if (sig !== undefined) return `${hh}.${pp}.${sig}`;
    }
    return `${hh}.${pp}.${s}`;
  };
  switch (rng.int(10)) {
    case 0:
    case 1: {
      if (payload === undefined) return mutateText(rng, token);
      const pp = b64u(
        mutateJson(
          rng,
          payload,
          others.map((o) => decodeSegment(o.split('.')[1] ?? '')),
        ),
      );
      return sign(h, pp, header);
    }
    case 2: {
      if (header === undefined) return mutateText(rng, token);
      const text = rng.chance(0.5) ? mutateJson(rng, header) : toJsonText(headerVariant(rng, header));
      const hh = b64u(text);
      return sign(hh, p, decodeSegment(hh) as Record<string, unknown> | undefined);
    }
    case 3: {
      const sig = Buffer.from(s, 'base64url');
      const choice = rng.int(5);
      const out =
        choice === 0
          ? sig.subarray(0, rng.int(sig.length + 1))
          : choice === 1
            ? Buffer.concat([sig, sig])
            : choice === 2
              ? Buffer.alloc(sig.length)
              : choice === 3
                ? Buffer.from(rng.bytes(rng.pick([0, 1, 64, 65, 72, 512])))
                : (() => {
                    const c = Buffer.from(sig);
                    if (c.length) {
                      const i = rng.int(c.length);
                      c[i] = (c[i] as number) ^ (1 << rng.int(8));
                    }
                    return c;
                  })();
      return `${h}.${p}.${b64u(out)}`;
    }
    case 4: {
      // Segment counts: too few, too many, empty ones, a JWE-like five.
      return rng.pick([
        `${h}.${p}`,
        `${h}.${p}.`,
        `${h}..${s}`,
        `.${p}.${s}`,
        `${h}.${p}.${s}.`,
        `${h}.${p}.${s}.${s}.${s}`,
        `${h}.${p}.${s}.${p}.${s}`,
        `${h}${p}${s}`,
        '..',
        '.',
        `${h}.${p}.${s}`.replace(/\./g, '..'),
      ]);
    }
    case 5: {
      const i = rng.int(3);
      const segs = [h, p, s];
      segs[i] = b64Edge(rng, segs[i] as string);
      return segs.join('.');
    }
    case 6: {
      // A segment of another token: a valid header over a forged payload, a foreign signature.
      const other = (others.length ? rng.pick(others) : token).split('.');
      const segs = [h, p, s];
      const i = rng.int(3);
      segs[i] = other[i] ?? '';
      return rng.chance(0.5)
        ? segs.join('.')
        : sign(
            segs[0] as string,
            segs[1] as string,
            decodeSegment(segs[0] as string) as Record<string, unknown>,
          );
    }
    case 7: {
      // Huge or deep JSON in the header or payload.
      const big = rng.pick([
        `{"a":"${'x'.repeat(rng.pick([9000, 70_000]))}"}`,
        `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
        `{${Array.from({ length: 5000 }, (_, k) => `"k${k}":${k}`).join(',')}}`,
        '{"__proto__":{"alg":"none","admin":true}}',
        `{"exp":${rng.pick(['1e400', '-1', '9007199254740993', '"1"', 'null'])}}`,
      ]);
      return rng.chance(0.5) ? sign(b64u(big), p, undefined) : sign(h, b64u(big), header);
    }
    case 8:
      return rng.chance(0.5) ? `${token}${rng.pick([' ', '\n', ',', token])}` : ` ${token}`;
    default:
      return mutateText(rng, token, others.length ? rng.pick(others) : undefined);
  }
}

/** Raw JSON value not a string at all (the field's type swapped). */
export function notAString(rng: Rng): unknown {
  return rng.pick<unknown>([null, 0, 1.5, true, [], {}, ['a.b.c'], { token: 'a.b.c' }, new Raw('1e400')]);
}
