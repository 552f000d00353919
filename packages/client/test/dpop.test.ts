import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { describe, it } from 'node:test';
import { CharterError } from '@charter/core';
import fc from 'fast-check';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, type JWK, jwtVerify } from 'jose';
import { base64, base64url, decodeBase64 } from '../src/encoding.ts';
import {
  accessTokenHash,
  attestationBinding,
  createDpopProof,
  ecdsaDerToJose,
  generateInstanceKeyPair,
  htuOf,
  type InstanceAlg,
  jwkThumbprint,
  type ProofSigner,
  publicJwkOf,
  webCryptoSigner,
} from '../src/index.ts';
import { sha256Sync } from '../src/sha256.ts';

async function verifyProof(proof: string) {
  return jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256', 'EdDSA'] });
}

for (const alg of ['ES256', 'EdDSA'] as InstanceAlg[]) {
  describe(`DPoP proofs with ${alg}`, () => {
    it('verify with jose and carry the RFC 9449 claims', async () => {
      const signer = await webCryptoSigner(await generateInstanceKeyPair(alg));
      const proof = await createDpopProof(signer, {
        method: 'POST',
        url: 'https://gw.example:8443/charter/v1/token?x=1#frag',
        nonce: 'n-123',
        iat: 1_700_000_000,
      });
      const { payload, protectedHeader } = await verifyProof(proof);
      assert.equal(protectedHeader.typ, 'dpop+jwt');
      assert.equal(protectedHeader.alg, alg);
      assert.equal(payload.htm, 'POST');
      assert.equal(payload.htu, 'https://gw.example:8443/charter/v1/token');
      assert.equal(payload.nonce, 'n-123');
      assert.equal(payload.iat, 1_700_000_000);
      assert.equal(payload.ath, undefined);
      assert.match(String(payload.jti), /^[A-Za-z0-9_-]{22}$/);
      const jwk = protectedHeader.jwk as JWK;
      assert.equal(jwk.d, undefined, 'no private material in the header');
      assert.deepEqual(
        Object.keys(jwk).sort(),
        alg === 'ES256' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'],
      );
      assert.equal(await jwkThumbprint(signer.jwk), await calculateJwkThumbprint(jwk, 'sha256'));
    });

    it('binds the access token with ath and uses a fresh jti each time', async () => {
      const signer = await webCryptoSigner(await generateInstanceKeyPair(alg));
      const token = 'eyJhbGciOiJFZERTQSJ9.e30.sig-_~+/=';
      const a = await createDpopProof(signer, {
        method: 'GET',
        url: 'https://gw.example/orders/1',
        accessToken: token,
      });
      const b = await createDpopProof(signer, {
        method: 'GET',
        url: 'https://gw.example/orders/1',
        accessToken: token,
      });
      const pa = (await verifyProof(a)).payload;
      const pb = (await verifyProof(b)).payload;
      assert.equal(pa.ath, createHash('sha256').update(token, 'ascii').digest('base64url'));
      assert.equal(pa.ath, await accessTokenHash(token));
      assert.equal(pa.nonce, undefined);
      assert.notEqual(pa.jti, pb.jti);
      assert.ok(Math.abs(Number(pa.iat) - Date.now() / 1000) < 5);
    });
  });
}

describe('keys', () => {
  it('WebCrypto instance keys are non-extractable by default', async () => {
    const pair = await generateInstanceKeyPair('ES256');
    assert.equal(pair.privateKey.extractable, false);
    await assert.rejects(crypto.subtle.exportKey('jwk', pair.privateKey));
  });

  it('publicJwkOf strips private and extra members and refuses other keys', () => {
    const jwk = {
      kty: 'EC',
      crv: 'P-256',
      x: 'A'.repeat(43),
      y: 'B'.repeat(43),
      d: 'C'.repeat(43),
      kid: 'k',
    };
    assert.deepEqual(publicJwkOf(jwk), { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'B'.repeat(43) });
    for (const bad of [
      null,
      {},
      { kty: 'RSA', n: 'x', e: 'AQAB' },
      { kty: 'EC', crv: 'P-384', x: 'A'.repeat(64), y: 'A'.repeat(64) },
    ]) {
      assert.throws(() => publicJwkOf(bad), CharterError);
    }
  });

  it('a native signer returning DER is refused; ecdsaDerToJose converts it', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicJwkOf(publicKey.export({ format: 'jwk' }));
    const derSigner: ProofSigner = {
      alg: 'ES256',
      jwk,
      sign: async (d) => nodeSign('sha256', d, privateKey),
    };
    await assert.rejects(
      createDpopProof(derSigner, { method: 'GET', url: 'https://gw.example/' }),
      CharterError,
    );
    const nativeLike: ProofSigner = {
      ...derSigner,
      sign: async (d) => ecdsaDerToJose(nodeSign('sha256', d, privateKey)),
    };
    for (let i = 0; i < 50; i++) {
      // Many signatures, so short r or s (leading zero bytes) are exercised too.
      const proof = await createDpopProof(nativeLike, { method: 'GET', url: 'https://gw.example/' });
      await verifyProof(proof);
    }
    assert.throws(() => ecdsaDerToJose(new Uint8Array([0x30, 0x02, 0x02, 0x00])), CharterError);
  });
});

describe('attestation binding and encodings', () => {
  it('binding = SHA-256(ASCII(nonce) "." ASCII(jkt))', async () => {
    const nonce = 'abc-123';
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const expected = createHash('sha256').update(`${nonce}.${jkt}`, 'ascii').digest();
    assert.deepEqual(Buffer.from(await attestationBinding(nonce, jkt)), expected);
  });

  it('the JS SHA-256 fallback matches node:crypto', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 7) & 255);
      assert.equal(
        Buffer.from(sha256Sync(data)).toString('hex'),
        createHash('sha256').update(data).digest('hex'),
      );
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        assert.equal(
          Buffer.from(sha256Sync(data)).toString('hex'),
          createHash('sha256').update(data).digest('hex'),
        );
      }),
    );
  });

  it('base64 helpers match Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        assert.equal(base64url(data), Buffer.from(data).toString('base64url'));
        assert.equal(base64(data), Buffer.from(data).toString('base64'));
        assert.deepEqual(decodeBase64(base64(data)), data);
        assert.deepEqual(decodeBase64(base64url(data)), data);
      }),
    );
    assert.equal(decodeBase64('a!b'), undefined);
  });

  it('htu drops query and fragment and refuses relative URLs', () => {
    assert.equal(htuOf('https://GW.example:443/a/b?c#d'), 'https://gw.example/a/b');
    assert.throws(() => htuOf('/relative'), CharterError);
  });

  it('the proof header is what jose decodes', async () => {
    const signer = await webCryptoSigner(await generateInstanceKeyPair());
    const header = decodeProtectedHeader(
      await createDpopProof(signer, { method: 'GET', url: 'https://gw.example/' }),
    );
    assert.deepEqual(Object.keys(header).sort(), ['alg', 'jwk', 'typ']);
  });
});
