import assert from 'node:assert/strict';
import { chmod, link, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CharterError } from '@charter/core';
import { EmbeddedJWK, jwtVerify } from 'jose';
import {
  createDpopProof,
  FileKeyStore,
  generateInstanceKeyPair,
  type InstanceRecord,
  jwkThumbprint,
  keySourceFromStore,
  MemoryKeyStore,
  webCryptoSigner,
} from '../src/index.ts';

const posix = process.platform !== 'win32';

describe('FileKeyStore', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charter-client-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads nothing before the first save', async () => {
    assert.equal(await new FileKeyStore(join(dir, 'none', 'key.json')).load(), undefined);
  });

  for (const alg of ['ES256', 'EdDSA'] as const) {
    it(`writes a ${alg} key 0600 in a 0700 directory and reads it back non-extractable`, async () => {
      const path = join(dir, `nested-${alg}`, 'deeper', 'instance.json');
      const store = new FileKeyStore(path);
      const source = keySourceFromStore(store, alg);
      const signer = await source.create({ nonce: 'n' });
      assert.equal(signer.alg, alg);
      if (posix) {
        assert.equal((await stat(path)).mode & 0o777, 0o600);
        assert.equal((await stat(join(dir, `nested-${alg}`, 'deeper'))).mode & 0o777, 0o700);
      }
      const doc = JSON.parse(await readFile(path, 'utf8'));
      assert.equal(doc.v, 1);
      assert.equal(typeof doc.private_jwk.d, 'string');
      const loaded = await store.load();
      assert.ok(loaded);
      assert.equal(loaded.keyPair.privateKey.extractable, false, 're-imported non-extractable');
      // The key read back is the key that was written: same thumbprint, and it signs verifiable proofs.
      const again = await webCryptoSigner(loaded.keyPair);
      assert.equal(await jwkThumbprint(again.jwk), await jwkThumbprint(signer.jwk));
      await jwtVerify(
        await createDpopProof(again, { method: 'GET', url: 'https://gw.example/' }),
        EmbeddedJWK,
        {
          typ: 'dpop+jwt',
        },
      );
    });
  }

  it('keeps the record with the key and refuses a record for another key', async () => {
    const path = join(dir, 'record', 'instance.json');
    const source = keySourceFromStore(new FileKeyStore(path));
    const signer = await source.create({ nonce: 'n' });
    const record: InstanceRecord = {
      instance_id: 'inst_1',
      app_id: 'app_1',
      scopes: ['a'],
      jkt: await jwkThumbprint(signer.jwk),
      gateway: 'https://gw.example/',
      charter_sha256: 'h',
      platform: 'server',
    };
    await source.saveRecord(record);
    assert.deepEqual((await source.load())?.record, record);
    await assert.rejects(
      source.saveRecord({ ...record, jkt: 'other' }),
      (e: unknown) => e instanceof CharterError && e.code === 'key_unavailable',
    );
  });

  it('replaces the file atomically: readers see the old or the new key, never a torn file, and no temp files stay', async () => {
    const path = join(dir, 'atomic', 'instance.json');
    const store = new FileKeyStore(path);
    await store.save({ keyPair: await generateInstanceKeyPair('ES256', true) });
    // A second name for the first file: an in-place rewrite would change what it shows, a rename does not.
    await link(path, `${path}.old`);
    const first = await readFile(path, 'utf8');
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const loaded = await store.load(); // throws on a partial file
        assert.ok(loaded);
        reads++;
      }
    })();
    for (let i = 0; i < 30; i++)
      await store.save({ keyPair: await generateInstanceKeyPair(i % 2 ? 'EdDSA' : 'ES256', true) });
    writing = false;
    await reader;
    assert.ok(reads > 0);
    assert.equal(await readFile(`${path}.old`, 'utf8'), first, 'replaced by rename, not rewritten in place');
    assert.notEqual(await readFile(path, 'utf8'), first);
    await unlink(`${path}.old`);
    assert.deepEqual(await readdir(join(dir, 'atomic')), ['instance.json']);
  });

  it('refuses a key file readable by others, and garbage', { skip: !posix }, async () => {
    const path = join(dir, 'perm', 'instance.json');
    const store = new FileKeyStore(path);
    await store.save({ keyPair: await generateInstanceKeyPair('ES256', true) });
    await chmod(path, 0o644);
    await assert.rejects(
      store.load(),
      (e: unknown) =>
        e instanceof CharterError && e.code === 'key_unavailable' && /chmod 600/.test(e.message),
    );
    await writeFile(path, '{"v":1,"private_jwk":{"kty":"EC"}}', { mode: 0o600 });
    await chmod(path, 0o600);
    await assert.rejects(store.load(), CharterError);
    await writeFile(path, 'not json');
    await assert.rejects(store.load(), CharterError);
  });

  it('refuses to save a non-extractable key rather than writing nothing useful', async () => {
    const store = new FileKeyStore(join(dir, 'nx', 'instance.json'));
    await assert.rejects(
      store.save({ keyPair: await generateInstanceKeyPair('ES256', false) }),
      CharterError,
    );
  });

  it('clear removes the file', async () => {
    const path = join(dir, 'clear', 'instance.json');
    const store = new FileKeyStore(path);
    await store.save({ keyPair: await generateInstanceKeyPair('ES256', true) });
    await store.clear();
    assert.equal(await store.load(), undefined);
  });
});

describe('MemoryKeyStore', () => {
  it('round-trips a key pair and clears', async () => {
    const store = new MemoryKeyStore();
    const keyPair = await generateInstanceKeyPair();
    await store.save({ keyPair });
    assert.equal((await store.load())?.keyPair, keyPair);
    await store.clear();
    assert.equal(await store.load(), undefined);
  });
});
