/**
 * The photo path with a Redis that is not there at all: photos are still
 * served (from the database, MISS every time), nothing hangs.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { RedisCache } from '../../src/cache/redis.js';
import { catalogApp, seededPglite, silent, type CatalogApp, type SeededDb } from './fixture.js';

let seeded: SeededDb;
let cache: RedisCache;
let ctx: CatalogApp;

before(async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  seeded = await seededPglite();
  cache = new RedisCache(`redis://127.0.0.1:${port}`, silent);
  ctx = await catalogApp(seeded.db, cache);
});
after(async () => {
  await ctx?.app.close();
  await cache?.close();
  await seeded?.close();
});

test('photos are served from the database while the cache is unreachable', async () => {
  const expected = (await ctx.repository.getPhoto(1))!;
  for (let i = 0; i < 3; i++) {
    const res = await ctx.app.inject({ url: '/api/products/1/photo' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-cache'], 'MISS');
    assert.ok(res.rawPayload.equals(expected.bytes));
  }
  assert.ok(ctx.photos.stats.cacheErrors >= 3, 'the failures were noticed, not silently swallowed');
  assert.equal(ctx.photos.stats.hits, 0);
});

test('concurrent requests still share one database read with the cache down', async () => {
  const reads = ctx.repository.photoReads;
  const responses = await Promise.all(
    Array.from({ length: 10 }, () => ctx.app.inject({ url: '/api/products/2/photo' })),
  );
  assert.ok(responses.every((r) => r.statusCode === 200));
  assert.equal(ctx.repository.photoReads - reads, 1);
});
