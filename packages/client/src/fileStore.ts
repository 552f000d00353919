/**
 * Node key store: the private key as a JWK in a 0600 file, written atomically. Node modules are
 * reached through `process.getBuiltinModule` (Node >= 20.16) rather than imported, so this file can
 * sit behind the package's single, browser-safe entry without bundlers trying to resolve `node:fs`.
 */
import type * as FsPromises from 'node:fs/promises';
import type * as NodePath from 'node:path';
import { CharterError } from './core.ts';
import { base64url } from './encoding.ts';
import { importInstanceKeyPair } from './keys.ts';
import type { InstanceRecord, KeyStore, StoredInstance } from './store.ts';

interface NodeModules {
  fs: typeof FsPromises;
  path: typeof NodePath;
  windows: boolean;
}

function nodeModules(): NodeModules {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (typeof proc?.getBuiltinModule !== 'function') {
    throw new CharterError('key_unavailable', 'ERR_CLIENT_NOT_NODE', 'FileKeyStore needs Node.js >= 20.16');
  }
  return {
    fs: proc.getBuiltinModule('node:fs/promises'),
    path: proc.getBuiltinModule('node:path'),
    windows: proc.platform === 'win32',
  };
}

function keyFileError(reason: string, cause?: unknown): CharterError {
  return new CharterError('key_unavailable', 'ERR_CLIENT_KEYFILE', reason, { cause });
}

/** The JSON document the key file holds. */
interface KeyFile {
  v: 1;
  private_jwk: JsonWebKey;
  record?: InstanceRecord;
}

/**
 * Keeps the instance key in one file (mode 0600, directory created 0700). Writes go to a temporary
 * file that is synced and renamed over the old one, so a crash leaves either the old or the new key,
 * never a torn file. A file readable by group or others is refused, as ssh does.
 */
export class FileKeyStore implements KeyStore {
  readonly requiresExtractable = true;
  /** Private JWKs of the keys this store loaded: they are imported non-extractable, yet a later save (of the record) must rewrite them. */
  readonly #loaded = new WeakMap<CryptoKey, JsonWebKey>();

  /** `path`: the key file; its directory is created (0700) on first save. */
  constructor(readonly path: string) {}

  async load(): Promise<StoredInstance | undefined> {
    const { fs, windows } = nodeModules();
    let text: string;
    try {
      const handle = await fs.open(this.path, 'r');
      try {
        const st = await handle.stat();
        if (!windows && (st.mode & 0o077) !== 0) {
          throw keyFileError(
            `${this.path} is accessible by other users (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
          );
        }
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (e instanceof CharterError) throw e;
      throw keyFileError(`cannot read ${this.path}`, e);
    }
    let doc: Partial<KeyFile>;
    try {
      doc = JSON.parse(text) as Partial<KeyFile>;
    } catch (cause) {
      throw keyFileError(`${this.path} is not a Charter key file`, cause);
    }
    if (doc?.v !== 1 || typeof doc.private_jwk !== 'object' || doc.private_jwk === null) {
      throw keyFileError(`${this.path} is not a Charter key file`);
    }
    const keyPair = await importInstanceKeyPair(doc.private_jwk);
    this.#loaded.set(keyPair.privateKey, doc.private_jwk);
    return doc.record ? { keyPair, record: doc.record } : { keyPair };
  }

  async save(instance: StoredInstance): Promise<void> {
    const { fs, path } = nodeModules();
    let privateJwk = this.#loaded.get(instance.keyPair.privateKey);
    try {
      privateJwk ??= await globalThis.crypto.subtle.exportKey('jwk', instance.keyPair.privateKey);
    } catch (cause) {
      throw keyFileError('the private key is not extractable, so a file cannot hold it', cause);
    }
    const { kty, crv, x, y, d } = privateJwk;
    const doc: KeyFile = {
      v: 1,
      private_jwk: { kty, crv, x, y, d },
      ...(instance.record && { record: instance.record }),
    };
    const dir = path.dirname(this.path);
    const rand = new Uint8Array(8);
    globalThis.crypto.getRandomValues(rand);
    const tmp = path.join(dir, `.${path.basename(this.path)}.${base64url(rand)}.tmp`);
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      // 'wx' refuses to follow a pre-planted file or symlink at the temporary name.
      const handle = await fs.open(tmp, 'wx', 0o600);
      try {
        await handle.chmod(0o600); // the umask cannot widen it, but be explicit on odd filesystems
        await handle.writeFile(`${JSON.stringify(doc)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, this.path);
    } catch (cause) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw keyFileError(`cannot write ${this.path}`, cause);
    }
    await syncDirectory(fs, dir);
  }

  async clear(): Promise<void> {
    const { fs } = nodeModules();
    await fs.rm(this.path, { force: true });
  }
}

/** fsync the directory so the rename itself survives a power cut; not possible on Windows, so best effort. */
async function syncDirectory(fs: typeof FsPromises, dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort only: the data file itself was synced before the rename.
  }
}
