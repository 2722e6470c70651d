export type { RedisClient } from './lua-scripts.js';
export { createRedisStore, DEFAULT_REDIS_PREFIX, type RedisStoreOptions } from './redis-store.js';
