import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Cache } from './cache.js';
import { MemoryCache, type MemoryCacheOptions } from './memory.js';
import { RedisCache, type RedisCacheOptions } from './redis.js';

export type { Cache } from './cache.js';
export { MemoryCache } from './memory.js';
export { RedisCache } from './redis.js';

export interface CreateCacheOptions extends RedisCacheOptions, MemoryCacheOptions {
  /** How long start-up waits for Redis before going on not-ready (it keeps reconnecting). */
  connectWaitMs?: number;
}

/**
 * The one place the cache driver is chosen: REDIS_URL set → Redis (keys under
 * REDIS_PREFIX), otherwise the in-process LRU. An unreachable Redis does not stop the start: /readyz
 * reports it and the photo service serves from the database meanwhile.
 */
export async function createCache(
  config: Pick<Config, 'redisUrl'> & Partial<Pick<Config, 'redisPrefix'>>,
  logger: Logger,
  options: CreateCacheOptions = {},
): Promise<Cache> {
  const log = logger.child({ component: 'cache' });
  if (!config.redisUrl) {
    log.info({ driver: 'memory' }, 'cache driver chosen');
    return new MemoryCache(options);
  }
  log.info({ driver: 'redis' }, 'cache driver chosen');
  // REDIS_PREFIX covers the cache's keys like every other Redis key (options.keyPrefix wins: tests).
  const cache = new RedisCache(config.redisUrl, log, { keyPrefix: config.redisPrefix, ...options });
  if (!(await cache.waitReady(options.connectWaitMs ?? 3000))) {
    log.warn('redis not reachable yet; serving without cache until it is');
  }
  return cache;
}
