/**
 * The store and cache a gateway process runs on, from the command line's `--home`, `--db` and
 * `--redis`: embedded (SQLite under the home, in-process cache) for one replica, or PostgreSQL and
 * Redis shared by many. A bad URL is a TypeError (a usage error to the CLI); a backend that cannot be
 * reached is `unavailable`, so a replica never starts without the state it would need. Each driver
 * (native better-sqlite3, `pg`, `ioredis`) is imported only when its URL is opened, so a process
 * loads only the backends it runs on.
 */
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { EphemeralCache } from './cache.ts';
import type { RedisCache } from './redis-cache.ts';
import type { GatewayStore } from './store.ts';

/** Where a gateway keeps its state. */
export interface BackendOptions {
  /** `sqlite:PATH` or `postgres://…` (`?schema=NAME` puts the tables in that schema). */
  db?: string | undefined;
  /** `redis://…` or `rediss://…`: the cache shared by replicas; absent, an in-process cache. */
  redis?: string | undefined;
  /** The gateway home: `HOME/gateway.db` when `db` is absent. */
  home?: string | undefined;
  /** Backend outages and recoveries are logged here. */
  logger?: Logger | undefined;
  /**
   * This process is one of several workers of one gateway (`gateway start --workers N`): an embedded
   * store is opened as shared by them (rate counts in the file, WAL checkpointed by the supervisor).
   */
  workers?: boolean | undefined;
}

/** The opened backends; close them after the gateway. */
export interface Backends {
  store: GatewayStore;
  /** Absent: the engine makes its own in-process cache. */
  cache: EphemeralCache | undefined;
  /** Calls `listener` when a license is installed anywhere (PostgreSQL only; polling covers the rest). */
  watchLicenses(listener: () => void): void;
  close(): Promise<void>;
}

/** True for the URLs {@link openBackends} accepts as `db`. */
export function isDbUrl(db: string): boolean {
  return db.startsWith('sqlite:') || /^postgres(ql)?:\/\//.test(db);
}

/** True for the URLs {@link openBackends} accepts as `redis`. */
export function isRedisUrl(redis: string): boolean {
  return /^rediss?:\/\//.test(redis);
}

/** The opened store, and how to hear of licenses installed elsewhere when the store can tell. */
interface OpenedStore {
  store: GatewayStore;
  watchLicenses?: (listener: () => void) => void;
}

/** The SQLite file `options` name (`--db sqlite:PATH`, else `HOME/gateway.db`); undefined for PostgreSQL. */
export function sqlitePathOf(options: Pick<BackendOptions, 'db' | 'home'>): string | undefined {
  const { db, home } = options;
  if (db === undefined) return home === undefined ? undefined : join(resolve(home), 'gateway.db');
  return db.startsWith('sqlite:') ? resolve(db.slice('sqlite:'.length)) : undefined;
}

async function openStore(options: BackendOptions): Promise<OpenedStore> {
  const { db, logger } = options;
  const path = sqlitePathOf(options);
  if (path !== undefined) {
    const { SqliteStore } = await import('./sqlite-store.ts');
    return { store: new SqliteStore(path, { sharedByWorkers: options.workers === true }) };
  }
  if (db === undefined) throw new TypeError('--home or --db is required');
  if (!isDbUrl(db)) throw new TypeError('--db takes sqlite:PATH or postgres://…');
  // `schema` is ours, not a libpq parameter: take it off before the driver sees the URL.
  const url = new URL(db);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  const { PgStore } = await import('./pg-store.ts');
  const store = await PgStore.open(url.href, {
    ...(schema ? { schema } : {}),
    ...(logger ? { logger } : {}),
  });
  return { store, watchLicenses: (listener) => store.watchLicenses(listener) };
}

/** Open the store and cache named by `options`. */
export async function openBackends(options: BackendOptions): Promise<Backends> {
  if (options.redis !== undefined && !isRedisUrl(options.redis))
    throw new TypeError('--redis takes redis://… or rediss://…');
  const { store, watchLicenses } = await openStore(options);
  let cache: RedisCache | undefined;
  if (options.redis !== undefined) {
    const { RedisCache } = await import('./redis-cache.ts');
    cache = new RedisCache(options.redis, options.logger ? { logger: options.logger } : {});
    try {
      await cache.ready();
    } catch (e) {
      await cache.close();
      await store.close();
      throw e;
    }
  }
  return {
    store,
    cache,
    watchLicenses(listener) {
      watchLicenses?.(listener);
    },
    async close() {
      await cache?.close();
      await store.close();
    },
  };
}
