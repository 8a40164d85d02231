/**
 * One behavioural suite for every database driver: PGlite and real PostgreSQL
 * must be indistinguishable to the catalog.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ChangeApplier } from '../../src/apps/catalog/applier.js';
import type { Product } from '../../src/apps/catalog/product.js';
import { seedCatalog } from '../../src/apps/catalog/seed.js';
import { CatalogRepository, InvalidChangeError } from '../../src/apps/catalog/repository.js';
import type { Database } from '../../src/store/database.js';
import { migrations, migrateCatalog } from '../../src/apps/catalog/migrations/index.js';

export interface StoreHarness {
  /** A fresh, empty database. */
  open(): Promise<Database>;
  /**
   * A second, independent connection to the same database (another gateway
   * node), when the driver supports several; used for start-up race tests.
   */
  openPeer?(): Promise<Database>;
  cleanup(): Promise<void>;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const change = (product_id: number, changes: { price?: number; stock?: number }, event_id = randomUUID()) => ({
  event_id,
  product_id,
  changes,
  occurred_at: new Date().toISOString(),
});

export function runStoreSuite(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`store suite: ${name}`, () => {
    let harness: StoreHarness;
    let db: Database;
    let repo: CatalogRepository;

    before(async () => {
      harness = await makeHarness();
      db = await harness.open();
      repo = new CatalogRepository(db);
    });
    after(async () => {
      await db?.close();
      await harness?.cleanup();
    });

    test('isReady answers true on an open database', async () => {
      assert.equal(await db.isReady(), true);
    });

    test('migrations apply once and are idempotent', async () => {
      const first = await migrateCatalog(db);
      assert.deepEqual(
        first.applied,
        migrations.map((m) => m.version),
      );
      const second = await migrateCatalog(db);
      assert.deepEqual(second.applied, []);
      assert.equal(second.current, migrations.length);
      const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        migrations.map((m) => m.version),
      );
    });

    test('concurrent migrate and seed (several nodes starting) do the work once', async () => {
      const peer = harness.openPeer ? await harness.openPeer() : db;
      try {
        const results = await Promise.all([
          migrateCatalog(db).then(() => seedCatalog(db)),
          migrateCatalog(peer).then(() => seedCatalog(peer)),
          migrateCatalog(db).then(() => seedCatalog(db)),
        ]);
        const inserted = results.map((r) => r.inserted).filter((n) => n > 0);
        assert.equal(inserted.length, 1, 'exactly one start seeds');
        const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
        assert.equal(n, inserted[0]);
      } finally {
        if (peer !== db) await peer.close();
      }
    });

    test('seed: ≥ 50 believable products, each with a distinct PNG of tens of KB', async () => {
      assert.deepEqual(await seedCatalog(db), { inserted: 0 }, 're-seeding an existing catalog does nothing');
      const products = await repo.list();
      assert.ok(products.length >= 50, `got ${products.length} products`);
      assert.equal(new Set(products.map((p) => p.name)).size, products.length, 'names are distinct');
      const hashes = new Set<string>();
      for (const p of products) {
        assert.ok(Number.isInteger(p.id) && p.id > 0);
        assert.ok(p.price > 0 && Math.round(p.price * 100) === p.price * 100, `price ${p.price}`);
        assert.ok(Number.isInteger(p.stock) && p.stock >= 0);
        assert.equal(p.version, 1);
        assert.equal(new Date(p.updated_at).toISOString(), p.updated_at);
        assert.equal(p.photo_url, `/api/products/${p.id}/photo`);
        const photo = await repo.getPhoto(p.id);
        assert.ok(photo, `photo for ${p.id}`);
        assert.ok(Buffer.isBuffer(photo.bytes), 'bytes come back as a Buffer');
        assert.deepEqual(photo.bytes.subarray(0, 8), PNG_SIGNATURE);
        assert.ok(photo.bytes.length >= 10_000 && photo.bytes.length < 100_000, `size ${photo.bytes.length}`);
        assert.equal(photo.contentType, 'image/png');
        assert.match(photo.etag, /^"[^"]+"$/);
        hashes.add(photo.etag);
      }
      assert.equal(hashes.size, products.length, 'photos are distinct');
      assert.deepEqual(
        await repo.productIds(),
        products.map((p) => p.id),
      );
    });

    test('get and photoMeta agree with list; unknown ids are null', async () => {
      const [first] = await repo.list();
      assert.deepEqual(await repo.get(first.id), first);
      const meta = await repo.photoMeta(first.id);
      const photo = await repo.getPhoto(first.id);
      assert.deepEqual(meta, { contentType: photo!.contentType, etag: photo!.etag, version: photo!.version });
      assert.equal(await repo.get(999_999), null);
      assert.equal(await repo.getPhoto(999_999), null);
      assert.equal(await repo.photoMeta(999_999), null);
      assert.equal(await repo.get(2 ** 40), null, 'out of int4 range is just unknown');
    });

    test('applyChange applies once per event_id; the version moves by exactly 1', async () => {
      const before = (await repo.get(1))!;
      const event = change(1, { price: 12.34, stock: 7 });
      const first = await repo.applyChange(event);
      assert.equal(first.status, 'applied');
      assert.ok(first.status === 'applied');
      assert.equal(first.product.price, 12.34);
      assert.equal(first.product.stock, 7);
      assert.equal(first.product.version, before.version + 1);
      assert.ok(first.product.updated_at >= before.updated_at);

      // A duplicate changes nothing and answers with the product as it is now (for republishing).
      assert.deepEqual(await repo.applyChange(event), { status: 'duplicate', product: first.product });
      assert.deepEqual(await repo.applyChange({ ...event, changes: { stock: 99 } }), {
        status: 'duplicate',
        product: first.product,
      });
      const afterDup = (await repo.get(1))!;
      assert.equal(afterDup.version, before.version + 1);
      assert.equal(afterDup.stock, 7);
      assert.deepEqual(afterDup, first.product, 'the returned row is the committed row');
    });

    test('applyChange: a partial change keeps the other field', async () => {
      const before = (await repo.get(2))!;
      const r = await repo.applyChange(change(2, { stock: 0 }));
      assert.ok(r.status === 'applied');
      assert.equal(r.product.price, before.price);
      assert.equal(r.product.stock, 0);
    });

    test('applyChange: concurrent deliveries of one event apply once', async () => {
      const before = (await repo.get(3))!;
      const event = change(3, { stock: before.stock + 1 });
      const results = await Promise.all(Array.from({ length: 8 }, () => repo.applyChange(event)));
      assert.equal(results.filter((r) => r.status === 'applied').length, 1);
      assert.equal(results.filter((r) => r.status === 'duplicate').length, 7);
      assert.equal((await repo.get(3))!.version, before.version + 1);
    });

    test('applyChange: many distinct concurrent events each bump the version once', async () => {
      const before = (await repo.get(4))!;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => repo.applyChange(change(4, { stock: i }))),
      );
      assert.ok(results.every((r) => r.status === 'applied'));
      const versions = results.map((r) => (r.status === 'applied' ? r.product.version : 0)).sort((a, b) => a - b);
      assert.deepEqual(
        versions,
        Array.from({ length: 10 }, (_, i) => before.version + 1 + i),
      );
    });

    test('applyChange: unknown product changes nothing and records nothing', async () => {
      const event = change(987_654, { stock: 1 });
      assert.deepEqual(await repo.applyChange(event), { status: 'unknown_product' });
      const rows = await db.query('SELECT 1 FROM applied_events WHERE event_id = $1', [event.event_id]);
      assert.equal(rows.length, 0);
    });

    test('applyChange rejects out-of-range changes before and inside SQL, leaving no trace', async () => {
      const before = (await repo.get(5))!;
      const bad = [
        change(5, { price: 0 }),
        change(5, { price: -1 }),
        change(5, { price: 100_000_000 }),
        change(5, { price: Number.NaN }),
        change(5, { stock: -1 }),
        change(5, { stock: 1.5 }),
        change(5, {}),
        { ...change(5, { stock: 1 }), event_id: 'not-a-uuid' },
        { ...change(5, { stock: 1 }), occurred_at: 'yesterday' },
      ];
      for (const event of bad) {
        await assert.rejects(repo.applyChange(event), InvalidChangeError, JSON.stringify(event));
        const rows = await db.query('SELECT 1 FROM applied_events WHERE event_id::text = $1', [event.event_id]);
        assert.equal(rows.length, 0);
      }
      assert.deepEqual(await repo.get(5), before);
    });

    test('applyChanges: one result per event, in order, as applyChange would answer each alone', async () => {
      const [p8, p9, p10] = await Promise.all([repo.get(8), repo.get(9), repo.get(10)]);
      const first = change(8, { stock: 3 });
      assert.ok((await repo.applyChange(first)).status === 'applied');
      const batch = [
        change(9, { price: 9.5 }),
        { ...first, changes: { stock: 77 } }, // a copy: duplicate, answers with product 8 as it is
        change(987_654, { stock: 1 }), // unknown product
        change(10, { stock: -1 }), // refused before SQL
        change(10, { stock: 4 }),
        change(9, { stock: 2 }), // product 9 again: applied after the first change of 9
      ];
      const results = await repo.applyChanges(batch);
      assert.equal(results.length, batch.length);
      const [a, dup, unknown, bad, b, c] = results;
      assert.ok(!(a instanceof Error) && a.status === 'applied');
      assert.equal(a.product.price, 9.5);
      assert.equal(a.product.version, p9!.version + 1);
      assert.ok(!(dup instanceof Error) && dup.status === 'duplicate');
      assert.equal(dup.product.id, 8);
      assert.equal(dup.product.stock, 3);
      assert.equal(dup.product.version, p8!.version + 1);
      assert.deepEqual(unknown, { status: 'unknown_product' });
      assert.ok(bad instanceof InvalidChangeError);
      assert.ok(!(b instanceof Error) && b.status === 'applied');
      assert.equal(b.product.version, p10!.version + 1);
      assert.ok(!(c instanceof Error) && c.status === 'applied');
      assert.deepEqual([c.product.price, c.product.stock, c.product.version], [9.5, 2, p9!.version + 2]);
      assert.deepEqual(await repo.get(9), c.product);
      const recorded = await db.query('SELECT 1 FROM applied_events WHERE event_id::text = ANY($1)', [
        [batch[2].event_id, batch[3].event_id],
      ]);
      assert.equal(recorded.length, 0, 'neither the unknown nor the refused event is recorded');
      // The whole batch again: every event is a duplicate now (or stays unknown / refused).
      const again = await repo.applyChanges(batch);
      assert.deepEqual(
        again.map((r) => (r instanceof Error ? r.name : r.status)),
        ['duplicate', 'duplicate', 'unknown_product', 'InvalidChangeError', 'duplicate', 'duplicate'],
      );
      assert.equal((await repo.get(9))!.version, p9!.version + 2);
    });

    test('applyChanges: a value the database refuses fails that event only; the rest apply', async () => {
      const [p11, p12] = await Promise.all([repo.get(11), repo.get(12)]);
      // Year 0 passes Date.parse; PostgreSQL refuses it (22008): the batch statement fails whole.
      const refused = { ...change(12, { stock: 1 }), occurred_at: '0000-01-01T00:00:00.000Z' };
      const [ok, bad] = await repo.applyChanges([change(11, { stock: 6 }), refused]);
      assert.ok(!(ok instanceof Error) && ok.status === 'applied');
      assert.equal(ok.product.version, p11!.version + 1);
      assert.ok(bad instanceof InvalidChangeError, String(bad));
      assert.deepEqual(await repo.get(12), p12);
    });

    test('SQL constraints hold for any writer, not just the repository', async () => {
      await assert.rejects(
        db.query('UPDATE products SET stock = -1 WHERE id = 6'),
        (err: { code?: string }) => err.code === '23514',
      );
      await assert.rejects(
        db.query('UPDATE products SET price = 0 WHERE id = 6'),
        (err: { code?: string }) => err.code === '23514',
      );
      await assert.rejects(
        db.query("INSERT INTO products (name, price, stock) VALUES ('x', -5, 1)"),
        (err: { code?: string }) => err.code === '23514',
      );
    });

    test('a failing transaction rolls back everything it did', async () => {
      const before = (await repo.get(6))!;
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('UPDATE products SET stock = 42 WHERE id = 6');
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await repo.get(6), before);
    });

    test('prices keep two decimals through the round trip', async () => {
      for (const price of [0.01, 9.99, 19.95, 1234.5, 99_999_999.99]) {
        const r = await repo.applyChange(change(7, { price }));
        assert.ok(r.status === 'applied');
        assert.equal(r.product.price, price);
      }
      const r = await repo.applyChange(change(7, { price: 10.005 }));
      assert.ok(r.status === 'applied');
      assert.ok([10.0, 10.01].includes(r.product.price), 'rounded to NUMERIC(10,2)');
    });
  });
}

// Compile-time: the repository is what the consumer expects (catalog/applier.ts).
export const repositoryIsAnApplier = (db: Database): ChangeApplier<Product> => new CatalogRepository(db);
