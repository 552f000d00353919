/**
 * Where an installation keeps its instance key and the registration that goes with it. Storage
 * ({@link KeyStore}) is separate from use ({@link InstanceKeySource}) so hardware-backed keys that
 * never leave a native module fit the same client.
 */
import { CharterError, type Platform } from './core.ts';
import {
  generateInstanceKeyPair,
  type InstanceAlg,
  jwkThumbprint,
  type ProofSigner,
  webCryptoSigner,
} from './keys.ts';

/** What the gateway answered at registration, plus what it was for, persisted with the key. */
export interface InstanceRecord {
  instance_id: string;
  app_id: string;
  scopes: string[];
  /** Thumbprint of the key registered: a record never outlives, or moves to, another key. */
  jkt: string;
  /** The gateway base URL the instance is registered at: another gateway means another registration. */
  gateway: string;
  /** base64url SHA-256 of the charter registered with: a new charter means a new registration. */
  charter_sha256: string;
  platform: Platform;
}

/** A WebCrypto instance key pair and its registration, if any. */
export interface StoredInstance {
  keyPair: CryptoKeyPair;
  record?: InstanceRecord;
}

/** Persists one WebCrypto instance key pair and its record for this installation. */
export interface KeyStore {
  load(): Promise<StoredInstance | undefined>;
  save(instance: StoredInstance): Promise<void>;
  clear(): Promise<void>;
  /** True when `save` must serialise the private key (a file), so generated keys must be extractable. */
  readonly requiresExtractable?: boolean;
}

/** A usable instance key: its signer and registration record, if any. */
export interface LoadedInstance {
  signer: ProofSigner;
  record?: InstanceRecord;
}

/**
 * What the client actually uses: a signer plus record persistence. Built from a {@link KeyStore} by
 * {@link keySourceFromStore}, or implemented natively (see REACT_NATIVE.md).
 */
export interface InstanceKeySource {
  load(): Promise<LoadedInstance | undefined>;
  /** Make (and persist) a new key, replacing any old one and its record; `nonce` is the registration challenge. */
  create(context: { nonce: string }): Promise<ProofSigner>;
  saveRecord(record: InstanceRecord): Promise<void>;
  clear(): Promise<void>;
  /**
   * True when every registration needs a new key: Android bakes the challenge into the key's
   * attestation certificate at generation, so an old key cannot be attested to a new nonce.
   */
  readonly newKeyPerRegistration?: boolean;
}

/** Keeps the key pair in memory only: for tests and for short-lived processes. */
export class MemoryKeyStore implements KeyStore {
  #instance: StoredInstance | undefined;

  async load(): Promise<StoredInstance | undefined> {
    return this.#instance && { ...this.#instance };
  }

  async save(instance: StoredInstance): Promise<void> {
    this.#instance = { ...instance };
  }

  async clear(): Promise<void> {
    this.#instance = undefined;
  }
}

/** Options of {@link IndexedDbKeyStore}. */
export interface IndexedDbKeyStoreOptions {
  /** Database name; default `charter`. */
  database?: string;
  /** Entry name, so several clients can share the database; default `instance`. */
  name?: string;
  /** The IndexedDB factory; default `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
}

const IDB_STORE = 'instances';

function idbError(what: string, cause: unknown): CharterError {
  return new CharterError('key_unavailable', 'ERR_CLIENT_IDB', `IndexedDB ${what} failed`, { cause });
}

/**
 * Browser store: a non-extractable key pair kept in IndexedDB. CryptoKey objects are
 * structured-clonable, so the private key is stored without ever being exportable by script.
 */
export class IndexedDbKeyStore implements KeyStore {
  readonly #database: string;
  readonly #name: string;
  readonly #factory: IDBFactory | undefined;

  /** Nothing is opened until the first load or save. */
  constructor(options: IndexedDbKeyStoreOptions = {}) {
    this.#database = options.database ?? 'charter';
    this.#name = options.name ?? 'instance';
    this.#factory = options.indexedDB ?? globalThis.indexedDB;
  }

  #open(): Promise<IDBDatabase> {
    const factory = this.#factory;
    if (!factory) return Promise.reject(idbError('is not available here and', undefined));
    return new Promise((resolve, reject) => {
      const req = factory.open(this.#database, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(IDB_STORE)) req.result.createObjectStore(IDB_STORE);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(idbError('open', req.error));
      req.onblocked = () => reject(idbError('open (blocked by another tab)', undefined));
    });
  }

  async #run<T>(mode: IDBTransactionMode, op: (store: IDBObjectStore) => IDBRequest | undefined): Promise<T> {
    const db = await this.#open();
    try {
      return await new Promise<T>((resolve, reject) => {
        const tx = db.transaction(IDB_STORE, mode);
        const req = op(tx.objectStore(IDB_STORE));
        // Resolve on commit, not on the request: a put is durable only once the transaction completes.
        tx.oncomplete = () => resolve(req?.result as T);
        tx.onerror = () => reject(idbError(mode, tx.error));
        tx.onabort = () => reject(idbError(`${mode} (aborted)`, tx.error));
      });
    } finally {
      db.close();
    }
  }

  async load(): Promise<StoredInstance | undefined> {
    const value = await this.#run<unknown>('readonly', (s) => s.get(this.#name));
    if (value === undefined) return undefined;
    const v = value as Partial<StoredInstance>;
    if (typeof v.keyPair?.privateKey !== 'object' || typeof v.keyPair?.publicKey !== 'object') {
      throw new CharterError(
        'key_unavailable',
        'ERR_CLIENT_IDB',
        'the stored instance entry is not a key pair',
      );
    }
    return v.record ? { keyPair: v.keyPair, record: v.record } : { keyPair: v.keyPair };
  }

  async save(instance: StoredInstance): Promise<void> {
    const value = {
      keyPair: { privateKey: instance.keyPair.privateKey, publicKey: instance.keyPair.publicKey },
      record: instance.record,
    };
    await this.#run<void>('readwrite', (s) => s.put(value, this.#name));
  }

  async clear(): Promise<void> {
    await this.#run<void>('readwrite', (s) => s.delete(this.#name));
  }
}

/** Adapt a WebCrypto {@link KeyStore} to the {@link InstanceKeySource} the client uses. */
export function keySourceFromStore(store: KeyStore, alg: InstanceAlg = 'ES256'): InstanceKeySource {
  return {
    async load() {
      const stored = await store.load();
      if (!stored) return undefined;
      const signer = await webCryptoSigner(stored.keyPair);
      return stored.record ? { signer, record: stored.record } : { signer };
    },
    async create() {
      await store.save({ keyPair: await generateInstanceKeyPair(alg, store.requiresExtractable === true) });
      // Sign with what was persisted (a file store re-imports it non-extractable), so a key that
      // failed to save is never registered.
      const stored = await store.load();
      if (!stored)
        throw new CharterError(
          'key_unavailable',
          'ERR_CLIENT_STORE',
          'the key store did not keep the new key',
        );
      return webCryptoSigner(stored.keyPair);
    },
    async saveRecord(record) {
      const stored = await store.load();
      // Another tab or process may have replaced the key meanwhile: never attach a record to it.
      const jkt = stored && (await jwkThumbprint((await webCryptoSigner(stored.keyPair)).jwk));
      if (!stored || jkt !== record.jkt) {
        throw new CharterError(
          'key_unavailable',
          'ERR_CLIENT_STORE',
          'the instance key changed in its store during registration',
        );
      }
      await store.save({ keyPair: stored.keyPair, record });
    },
    clear: () => store.clear(),
  };
}
