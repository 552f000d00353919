/**
 * Short-lived shared state: used nonces, proof `jti`s and rate counters. Every operation is one
 * atomic step (set-if-absent, increment), never a read followed by a write, so that replicas sharing
 * a Redis (redis-cache.ts) cannot both accept the same proof or both slip under a rate limit.
 */

/** The ephemeral cache the gateway needs; implementations must make each call atomic. */
export interface EphemeralCache {
  /** Record `key` for `ttlS` seconds; true if it was absent (first use), false if already present. */
  setIfAbsent(key: string, ttlS: number): Promise<boolean>;
  /** Increment the counter `key`, created with a lifetime of `windowS` seconds; returns the new count. */
  incr(key: string, windowS: number): Promise<number>;
  /** Fail (with `unavailable`) unless the cache can be used now; absent for in-process caches. */
  ping?(): Promise<void>;
  /** Release resources. */
  close(): Promise<void>;
}
