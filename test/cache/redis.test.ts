import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createCache } from '../../src/cache/index.js';
import { RedisCache } from '../../src/cache/redis.js';
import { redisPrefix, serviceUrls, startPrivateRedis } from '../helpers/services.js';
import { runCacheSuite, waitFor } from './cache-suite.js';

const silent = pino({ level: 'silent' });

/** Remove a test's keys from the shared server (they would expire anyway; be tidy). */
async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  try {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

runCacheSuite('redis', async () => {
  const { redisUrl } = serviceUrls();
  const keyPrefix = redisPrefix();
  const cache = await createCache({ redisUrl }, silent, { keyPrefix });
  return {
    cache,
    elapse: async () => {}, // real time: the TTL test polls until Redis expired the key
    cleanup: () => dropPrefix(redisUrl, keyPrefix),
  };
});

test('redis: keys carry the prefix on the server', async () => {
  const { redisUrl } = serviceUrls();
  const keyPrefix = redisPrefix();
  const cache = new RedisCache(redisUrl, silent, { keyPrefix });
  const raw = new Redis(redisUrl);
  try {
    assert.ok(await cache.waitReady(3000));
    await cache.set('k', Buffer.from([0, 1, 2]), 30);
    assert.ok((await raw.getBuffer(`${keyPrefix}k`))!.equals(Buffer.from([0, 1, 2])));
    const ttl = await raw.ttl(`${keyPrefix}k`);
    assert.ok(ttl > 0 && ttl <= 30, `ttl ${ttl}`);
  } finally {
    raw.disconnect();
    await cache.close();
    await dropPrefix(redisUrl, keyPrefix);
  }
});

test('redis stopped: fast rejections, not ready, no crash; back to work after a restart', async () => {
  const redis = await startPrivateRedis();
  const cache = new RedisCache(redis.url, silent, { maxReconnectDelayMs: 200 });
  try {
    assert.ok(await cache.waitReady(3000));
    await cache.set('k', Buffer.from('v'), 60);

    await redis.stop();
    assert.ok(await waitFor(async () => !cache.isReady(), 2000), 'notices the server is gone');
    const started = performance.now();
    for (let i = 0; i < 5; i++) await assert.rejects(cache.get('k'));
    await assert.rejects(cache.set('k', Buffer.from('v'), 60));
    // Six commands waiting out the 500 ms command timeout would take 3 s.
    assert.ok(performance.now() - started < 1500, 'each rejection is immediate');

    await redis.restart();
    assert.ok(await cache.waitReady(5000), 'reconnects on its own');
    assert.equal(await cache.get('k'), null, 'the restarted server is empty');
    await cache.set('k', Buffer.from('again'), 60);
    assert.equal((await cache.get('k'))!.toString(), 'again');
  } finally {
    // Server first: the helper's child process is unref'd, so its exit is only
    // awaited while something else (our connected client) keeps the loop alive.
    await redis.stop();
    await cache.close();
  }
});
