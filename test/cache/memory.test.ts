import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createCache } from '../../src/cache/index.js';
import { MemoryCache } from '../../src/cache/memory.js';
import { runCacheSuite } from './cache-suite.js';

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

runCacheSuite('memory', async () => {
  const c = clock();
  return {
    cache: new MemoryCache({ now: c.now }),
    elapse: async (ms) => c.advance(ms),
    cleanup: async () => {},
  };
});

test('createCache without REDIS_URL chooses the memory driver', async () => {
  const cache = await createCache({}, pino({ level: 'silent' }));
  assert.equal(cache.driver, 'memory');
  await cache.close();
});

test('memory LRU stays within its byte bound and evicts the least recently used', async () => {
  const cache = new MemoryCache({ maxBytes: 10_000 });
  const value = (n: number) => Buffer.alloc(2_000, n);
  for (let i = 0; i < 4; i++) await cache.set(`k${i}`, value(i), 60); // ~8 KB
  await cache.get('k0'); // k0 is now the most recently used; k1 the least
  await cache.set('k4', value(4), 60);
  await cache.set('k5', value(5), 60);
  assert.ok(cache.size <= 10_000, `size ${cache.size}`);
  assert.equal(await cache.get('k1'), null, 'least recently used went first');
  assert.ok(await cache.get('k0'), 'recently read entry survived');
  assert.ok(await cache.get('k5'));
  for (let i = 0; i < 100; i++) await cache.set(`bulk${i}`, value(i), 60);
  assert.ok(cache.size <= 10_000, `size ${cache.size} after bulk`);
  assert.ok(cache.count <= 5);
});

test('memory cache ignores values larger than its bound instead of flushing everything', async () => {
  const cache = new MemoryCache({ maxBytes: 1_000 });
  await cache.set('small', Buffer.alloc(100), 60);
  await cache.set('huge', Buffer.alloc(5_000), 60);
  assert.equal(await cache.get('huge'), null);
  assert.ok(await cache.get('small'));
});

test('memory cache accounting stays exact across overwrite and expiry', async () => {
  const c = clock();
  const cache = new MemoryCache({ now: c.now });
  await cache.set('a', Buffer.alloc(100), 1);
  await cache.set('a', Buffer.alloc(300), 1);
  assert.equal(cache.size, 300 + 2);
  c.advance(1000);
  assert.equal(await cache.get('a'), null);
  assert.equal(cache.size, 0);
  assert.equal(cache.count, 0);
});

test('memory cache stores a copy: later mutation of the caller’s buffer does not leak in', async () => {
  const cache = new MemoryCache();
  const buf = Buffer.from('abc');
  await cache.set('k', buf, 60);
  buf[0] = 0x7a;
  assert.equal((await cache.get('k'))!.toString(), 'abc');
});
