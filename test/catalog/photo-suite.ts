/** Photo serving through a real Fastify app, for every cache driver. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cache } from '../../src/cache/cache.js';
import { catalogApp, seededPglite, type CatalogApp, type SeededDb } from './fixture.js';

export function runPhotoSuite(
  name: string,
  makeCache: () => Promise<{ cache: Cache; cleanup(): Promise<void> }>,
): void {
  describe(`photos via HTTP: ${name}`, () => {
    let seeded: SeededDb;
    let made: { cache: Cache; cleanup(): Promise<void> };
    let ctx: CatalogApp;

    before(async () => {
      seeded = await seededPglite();
      made = await makeCache();
      ctx = await catalogApp(seeded.db, made.cache);
    });
    after(async () => {
      await ctx?.app.close();
      await made?.cache.close();
      await made?.cleanup();
      await seeded?.close();
    });

    test('first GET is a MISS, the second a HIT with identical bytes and headers', async () => {
      const first = await ctx.app.inject({ url: '/api/products/1/photo' });
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers['x-cache'], 'MISS');
      assert.equal(first.headers['content-type'], 'image/png');
      assert.match(String(first.headers.etag), /^"[^"]+"$/);
      assert.match(String(first.headers['cache-control']), /max-age=\d+/);
      assert.ok(first.rawPayload.length > 10_000);

      const second = await ctx.app.inject({ url: '/api/products/1/photo' });
      assert.equal(second.statusCode, 200);
      assert.equal(second.headers['x-cache'], 'HIT');
      assert.ok(second.rawPayload.equals(first.rawPayload), 'identical bytes');
      assert.equal(second.headers.etag, first.headers.etag);
      assert.equal(second.headers['content-type'], 'image/png');

      const fromDb = await ctx.repository.getPhoto(1);
      assert.ok(fromDb!.bytes.equals(first.rawPayload), 'bytes are the stored photo');
      assert.equal(fromDb!.etag, first.headers.etag);
    });

    test('If-None-Match with the current ETag answers 304 without a body', async () => {
      const { headers } = await ctx.app.inject({ url: '/api/products/2/photo' });
      const etag = String(headers.etag);
      const reads = ctx.repository.photoReads;
      for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const res = await ctx.app.inject({ url: '/api/products/2/photo', headers: { 'if-none-match': inm } });
        assert.equal(res.statusCode, 304, inm);
        assert.equal(res.rawPayload.length, 0);
        assert.equal(res.headers.etag, etag);
      }
      assert.equal(ctx.repository.photoReads, reads, 'a 304 reads no bytes');
      const stale = await ctx.app.inject({ url: '/api/products/2/photo', headers: { 'if-none-match': '"stale"' } });
      assert.equal(stale.statusCode, 200);
    });

    test('N concurrent misses for one photo cost one database read', async () => {
      const reads = ctx.repository.photoReads;
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => ctx.app.inject({ url: '/api/products/3/photo' })),
      );
      assert.ok(responses.every((r) => r.statusCode === 200));
      assert.equal(ctx.repository.photoReads - reads, 1);
      assert.ok(responses.every((r) => r.rawPayload.equals(responses[0].rawPayload)));
      assert.ok(responses.every((r) => r.headers['x-cache'] === 'MISS'));
      const next = await ctx.app.inject({ url: '/api/products/3/photo' });
      assert.equal(next.headers['x-cache'], 'HIT');
    });

    test('distinct photos are served distinctly', async () => {
      const a = await ctx.app.inject({ url: '/api/products/4/photo' });
      const b = await ctx.app.inject({ url: '/api/products/5/photo' });
      assert.ok(!a.rawPayload.equals(b.rawPayload));
      assert.notEqual(a.headers.etag, b.headers.etag);
    });

    test('a new photo version is served fresh, never the stale cached bytes', async () => {
      const old = await ctx.app.inject({ url: '/api/products/6/photo' });
      assert.equal(old.statusCode, 200);
      const replacement = Buffer.concat([old.rawPayload, Buffer.from('v2')]);
      await seeded.db.query(`UPDATE product_photos SET bytes = $1, etag = '"v2"' WHERE product_id = 6`, [replacement]);
      await seeded.db.query('UPDATE products SET photo_version = photo_version + 1 WHERE id = 6');
      // A fresh service stands for "another node" / "after the metadata TTL".
      const other = await catalogApp(seeded.db, made.cache);
      try {
        const res = await other.app.inject({ url: '/api/products/6/photo' });
        assert.equal(res.headers['x-cache'], 'MISS');
        assert.equal(res.headers.etag, '"v2"');
        assert.ok(res.rawPayload.equals(replacement));
      } finally {
        await other.app.close();
      }
    });

    test('unknown product → 404 JSON, non-integer id → 400 naming the parameter', async () => {
      const missing = await ctx.app.inject({ url: '/api/products/424242/photo' });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error.code, 'not_found');
      const bad = await ctx.app.inject({ url: '/api/products/abc/photo' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'bad_request');
      assert.match(bad.json().error.message, /\bid\b/);
    });
  });
}
