/** `@charter/gateway/redis` — the Redis cache replicas share (loads `ioredis`). */
export { RedisCache, type RedisCacheOptions } from '../redis-cache.ts';
