/**
 * The Redis {@link EphemeralCache} shared by gateway replicas: used nonces and proof `jti`s, and rate
 * counters. Each call is one round trip and atomic on the server: `SET NX PX` for first use, one Lua
 * script for a windowed counter. Every key is touched alone, so the cache works unchanged on Redis
 * Cluster (no hash tags needed).
 *
 * Failure is fast and closed: no offline queue and a short command timeout, so while Redis is away
 * calls fail at once with `unavailable` instead of piling up; ioredis reconnects by itself.
 * A Redis that comes back empty (restarted without persistence) has forgotten which proofs were used;
 * first use is then refused for `lossGuardS` seconds, the longest any of them could still be
 * presented, so none can be replayed.
 */
import { randomUUID } from 'node:crypto';
import { CharterError } from '@charter/core';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BackendStatus, type HasBackendStatus } from './backend-status.ts';
import type { EphemeralCache } from './cache.ts';

/** Options of {@link RedisCache}. */
export interface RedisCacheOptions {
  /** Prepended to every key, e.g. per site sharing one Redis; default `charter:`. */
  prefix?: string;
  /** Milliseconds a command may take before it fails closed; default 1000. */
  commandTimeoutMs?: number;
  /**
   * Seconds first use stays refused after Redis lost its data; default the longest lifetime this
   * process has asked for (at least 121 s: two default proof skews).
   */
  lossGuardS?: number;
  /** Outage and recovery lines go here. */
  logger?: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/**
 * INCR, and start the window on the first increment. The PTTL check also repairs a counter that
 * somehow has no expiry, so a key can never count forever.
 */
const INCR_WINDOW = `local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** The key whose absence shows that Redis lost its data since this process last saw it. */
const MARKER = 'epoch';

type WithScripts = Redis & { charterIncr(key: string, windowMs: number): Promise<number> };

/** An {@link EphemeralCache} in Redis. */
export class RedisCache implements EphemeralCache, HasBackendStatus {
  readonly backendStatus: BackendStatus;
  readonly #redis: WithScripts;
  #lossGuardMs: number;
  readonly #fixedGuard: boolean;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  /** The marker's value when this process last saw it: a different one means data was lost. */
  #epoch: string | undefined;
  #guardUntil = 0;
  /** Whether the marker was checked on the current connection (first use waits for it). */
  #checked = false;

  /** Connect to `url` (`redis://…` or `rediss://…`); commands fail closed until the connection is ready. */
  constructor(url: string, options: RedisCacheOptions = {}) {
    this.#lossGuardMs = (options.lossGuardS ?? 121) * 1000;
    this.#fixedGuard = options.lossGuardS !== undefined;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.backendStatus = new BackendStatus('redis', options.logger);
    this.#redis = new Redis(url, {
      keyPrefix: options.prefix ?? 'charter:',
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails instead of being replayed later.
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      // Reconnect quickly and keep trying: recovery within a second of Redis answering again.
      retryStrategy: (times) => Math.min(100 * times, 1000),
      scripts: { charterIncr: { lua: INCR_WINDOW, numberOfKeys: 1 } },
    }) as WithScripts;
    this.#redis.on('ready', () => void this.#onReady());
    this.#redis.on('error', (e) => this.backendStatus.failed(e));
    this.#redis.on('close', () => {
      this.#checked = false;
      this.backendStatus.failed(new Error('connection closed'));
    });
  }

  /** Resolves once connected (or rejects with `unavailable` after `timeoutMs`); for start-up checks. */
  async ready(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#redis.status !== 'ready' || !this.#checked) {
      if (Date.now() > deadline)
        throw new CharterError('unavailable', 'ERR_CACHE', 'the shared cache (Redis) cannot be reached');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async setIfAbsent(key: string, ttlS: number): Promise<boolean> {
    this.#checkGuard();
    const ttlMs = Math.ceil(ttlS * 1000);
    if (!this.#fixedGuard && ttlMs > this.#lossGuardMs) this.#lossGuardMs = ttlMs;
    const r = await this.#call('record a first use', () => this.#redis.set(key, '1', 'PX', ttlMs, 'NX'));
    return r === 'OK';
  }

  async incr(key: string, windowS: number): Promise<number> {
    return this.#call('count', () => this.#redis.charterIncr(key, Math.ceil(windowS * 1000)));
  }

  /** Fails with `unavailable` unless Redis answers now (and has not just lost its data). */
  async ping(): Promise<void> {
    this.#checkGuard();
    await this.#call('answer a ping', () => this.#redis.ping());
  }

  /** The underlying client, for publishing and tests. */
  get client(): Redis {
    return this.#redis;
  }

  async close(): Promise<void> {
    this.#redis.disconnect(false);
  }

  /** First use is refused until the marker is checked, and for the guard after a loss. */
  #checkGuard(): void {
    if (!this.#checked)
      throw new CharterError('unavailable', 'ERR_CACHE', 'the shared cache (Redis) is not connected');
    if (this.#now() < this.#guardUntil)
      throw new CharterError(
        'unavailable',
        'ERR_CACHE_LOST',
        'the shared cache lost its data; first use is refused until no used proof can still be presented',
      );
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      this.backendStatus.ok();
      return r;
    } catch (cause) {
      this.backendStatus.failed(cause);
      throw new CharterError('unavailable', 'ERR_CACHE', `the shared cache failed to ${what}`, { cause });
    }
  }

  /**
   * On every (re)connection: read the marker (creating it if absent). A Redis that lost its data has
   * none, or a new one another replica wrote after the loss: either way not the value seen before.
   */
  async #onReady(): Promise<void> {
    try {
      // A value never written before, so that a marker recreated after a loss always differs.
      await this.#redis.set(MARKER, randomUUID(), 'NX');
      const epoch = (await this.#redis.get(MARKER)) ?? '';
      if (this.#epoch !== undefined && epoch !== this.#epoch) {
        this.#guardUntil = this.#now() + this.#lossGuardMs;
        this.#logger?.error(
          { backend: 'redis', guard_s: this.#lossGuardMs / 1000 },
          'redis came back without its data: proofs and nonces are refused until none used before can be replayed',
        );
      }
      this.#epoch = epoch;
      this.#checked = true;
      this.backendStatus.ok();
    } catch (e) {
      this.backendStatus.failed(e);
    }
  }
}
