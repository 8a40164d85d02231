import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createCache } from '../../src/cache/index.js';
import { RedisCache } from '../../src/cache/redis.js';
import { redisPrefix, serviceUrls, startPrivateRedis } from '../helpers/services.js';
import { catalogApp, seededPglite, silent } from './fixture.js';
import { runPhotoSuite } from './photo-suite.js';

runPhotoSuite('redis cache', async () => {
  const { redisUrl } = serviceUrls();
  const keyPrefix = redisPrefix();
  const cache = await createCache({ redisUrl }, silent, { keyPrefix });
  return {
    cache,
    cleanup: async () => {
      const raw = new Redis(redisUrl);
      const keys = await raw.keys(`${keyPrefix}*`);
      if (keys.length) await raw.del(...keys);
      raw.disconnect();
    },
  };
});

test('photos keep being served when Redis stops, and HIT again once it is back', async () => {
  const redis = await startPrivateRedis();
  const seeded = await seededPglite();
  const cache = new RedisCache(redis.url, silent, { maxReconnectDelayMs: 200 });
  const ctx = await catalogApp(seeded.db, cache);
  try {
    assert.ok(await cache.waitReady(3000));
    const first = await ctx.app.inject({ url: '/api/products/1/photo' });
    assert.equal(first.headers['x-cache'], 'MISS');
    assert.equal((await ctx.app.inject({ url: '/api/products/1/photo' })).headers['x-cache'], 'HIT');

    await redis.stop();
    const started = performance.now();
    for (let i = 0; i < 5; i++) {
      const res = await ctx.app.inject({ url: '/api/products/1/photo' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-cache'], 'MISS');
      assert.ok(res.rawPayload.equals(first.rawPayload));
    }
    assert.ok(performance.now() - started < 2000, 'a dead cache costs no waiting');
    assert.ok(ctx.photos.stats.cacheErrors > 0);

    await redis.restart();
    assert.ok(await cache.waitReady(5000));
    assert.equal((await ctx.app.inject({ url: '/api/products/1/photo' })).headers['x-cache'], 'MISS');
    assert.equal((await ctx.app.inject({ url: '/api/products/1/photo' })).headers['x-cache'], 'HIT');
  } finally {
    // Server first: the helper's child process is unref'd, so its exit is only
    // awaited while something else (our connected client) keeps the loop alive.
    await redis.stop();
    await ctx.app.close();
    await cache.close();
    await seeded.close();
  }
});
