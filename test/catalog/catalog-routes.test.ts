import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { MemoryCache } from '../../src/cache/memory.js';
import { catalogApp, seededPglite, type CatalogApp, type SeededDb } from './fixture.js';

describe('GET /api/products and /api/products/:id', () => {
  let seeded: SeededDb;
  let ctx: CatalogApp;
  before(async () => {
    seeded = await seededPglite();
    ctx = await catalogApp(seeded.db, new MemoryCache());
  });
  after(async () => {
    await ctx?.app.close();
    await seeded?.close();
  });

  test('the list has every product in wire shape, ordered by id', async () => {
    const res = await ctx.app.inject({ url: '/api/products' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const list = res.json() as Array<Record<string, unknown>>;
    assert.ok(list.length >= 50);
    for (const p of list) {
      assert.deepEqual(Object.keys(p).sort(), ['id', 'name', 'photo_url', 'price', 'stock', 'updated_at', 'version']);
    }
    assert.deepEqual(
      list.map((p) => p.id),
      [...list.map((p) => p.id as number)].sort((a, b) => a - b),
    );
    assert.deepEqual(list, await ctx.repository.list());
  });

  test('one product by id, reflecting an applied change', async () => {
    const r = await ctx.repository.applyChange({
      event_id: randomUUID(),
      product_id: 9,
      changes: { price: 10.5, stock: 3 },
      occurred_at: new Date().toISOString(),
    });
    assert.ok(r.status === 'applied');
    const res = await ctx.app.inject({ url: '/api/products/9' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), r.product);
    assert.equal(res.json().price, 10.5);
  });

  test('unknown id → 404 not_found JSON', async () => {
    const res = await ctx.app.inject({ url: '/api/products/999999' });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(Object.keys(res.json()), ['error']);
    assert.equal(res.json().error.code, 'not_found');
    assert.equal(typeof res.json().error.message, 'string');
  });

  test('non-integer ids → 400 bad_request naming the parameter', async () => {
    for (const raw of ['abc', '1.5', '-1', '0', '01', '99999999999', '1e3', '%20']) {
      const res = await ctx.app.inject({ url: `/api/products/${raw}` });
      assert.equal(res.statusCode, 400, raw);
      assert.equal(res.json().error.code, 'bad_request');
      assert.match(res.json().error.message, /"id"/);
    }
  });
});
