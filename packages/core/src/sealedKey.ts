/**
 * Private keys encrypted at rest with a passphrase: scrypt (N=2^17, r=8, p=1) derives an AES-256-GCM
 * key; the key id is bound as associated data so a sealed file cannot be relabelled as another key.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { CharterError } from './errors.ts';

/** The JSON form of an encrypted private key. */
export interface SealedKey {
  format: 'charter-sealed-key/1';
  kid: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  iv: string;
  tag: string;
  ciphertext: string;
}

const N = 2 ** 17;
const R = 8;
const P = 1;

function derive(passphrase: string, salt: Buffer, n: number, r: number, p: number): Buffer {
  return scryptSync(passphrase.normalize('NFC'), salt, 32, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
}

/** Encrypt PKCS#8 DER bytes of a private key under a passphrase. */
export function sealPrivateKey(pkcs8: Uint8Array, kid: string, passphrase: string): SealedKey {
  if (passphrase.length < 8) {
    throw new CharterError(
      'passphrase_required',
      'ERR_PASSPHRASE_SHORT',
      'the passphrase must have at least 8 characters',
    );
  }
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derive(passphrase, salt, N, R, P), iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  return {
    format: 'charter-sealed-key/1',
    kid,
    kdf: { name: 'scrypt', N, r: R, p: P, salt: salt.toString('base64') },
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

/** Decrypt a {@link SealedKey}; a wrong passphrase or any edit is `wrong_passphrase`. */
export function openSealedKey(sealed: SealedKey, passphrase: string): Buffer {
  const { N: n, r, p, salt } = sealed.kdf;
  if (
    sealed.format !== 'charter-sealed-key/1' ||
    sealed.kdf.name !== 'scrypt' ||
    n > 2 ** 20 ||
    r > 16 ||
    p > 4
  ) {
    throw new CharterError(
      'wrong_passphrase',
      'ERR_SEALED_FORMAT',
      'the sealed key is not in a known format',
    );
  }
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      derive(passphrase, Buffer.from(salt, 'base64'), n, r, p),
      Buffer.from(sealed.iv, 'base64'),
    );
    decipher.setAAD(Buffer.from(sealed.kid, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch (cause) {
    throw new CharterError(
      'wrong_passphrase',
      'ERR_PASSPHRASE',
      'the passphrase does not open the sealed key',
      { cause },
    );
  }
}
