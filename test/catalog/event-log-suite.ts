/**
 * The event log on every database driver: written with the apply, never
 * without it, read back through the HTTP API exactly as the live table was.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { MemoryCache } from '../../src/cache/memory.js';
import { PhotoService } from '../../src/apps/catalog/photo-service.js';
import type { Product } from '../../src/apps/catalog/product.js';
import { ApplyBatcher } from '../../src/apps/catalog/apply-batcher.js';
import { EventLog } from '../../src/apps/catalog/event-log.js';
import { compactEventLog } from '../../src/apps/catalog/event-log-retention.js';
import { describeDifference, rebuildCatalog } from '../../src/apps/catalog/rebuild.js';
import { CatalogRepository, type ProductChange } from '../../src/apps/catalog/repository.js';
import { seedCatalog } from '../../src/apps/catalog/seed.js';
import type { Database, Queryable } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { migrations, migrateCatalog, CATALOG_MIGRATIONS_TABLE } from '../../src/apps/catalog/migrations/index.js';
import { catalogRoutes } from '../../src/apps/catalog/routes.js';
import { pollUntil } from '../helpers/e2e.js';
import { silent } from './fixture.js';

export interface EventLogHarness {
  /** A fresh, empty database. */
  open(): Promise<Database>;
  /** A second connection to the same database, when the driver has several (PostgreSQL). */
  openPeer?(): Promise<Database>;
  cleanup(): Promise<void>;
}

interface EventJson {
  position: number;
  product_id: number;
  event_id: string | null;
  kind: string;
  version: number;
  changes: Record<string, unknown>;
  price: number;
  stock: number;
  occurred_at: string | null;
  applied_at: string;
  message_id: string | null;
  producer: string | null;
}

export const change = (
  product_id: number,
  changes: { price?: number; stock?: number },
  extra: Partial<ProductChange> = {},
): ProductChange => ({
  event_id: randomUUID(),
  product_id,
  changes,
  occurred_at: new Date().toISOString(),
  ...extra,
});

/** Counts statements sent through `query`, to prove a batch is one statement. */
function counting(db: Database): { db: Database; statements: () => number } {
  let n = 0;
  const wrapped: Database = Object.create(db, {
    query: {
      value: (sql: string, params?: readonly unknown[]) => {
        n++;
        return db.query(sql, params);
      },
    },
  });
  return { db: wrapped, statements: () => n };
}

export function runEventLogSuite(name: string, makeHarness: () => Promise<EventLogHarness>): void {
  describe(`event log: ${name}`, () => {
    let harness: EventLogHarness;
    let db: Database;
    let repo: CatalogRepository;
    let app: FastifyInstance;

    const get = async <T>(url: string): Promise<{ status: number; body: T }> => {
      const res = await app.inject({ method: 'GET', url });
      return { status: res.statusCode, body: res.json() as T };
    };
    const logRows = (productId: number) =>
      db.query<{ version: number; kind: string; event_id: string | null; price: number; stock: number }>(
        'SELECT version, kind, event_id::text AS event_id, price, stock FROM product_events WHERE product_id = $1 ORDER BY version',
        [productId],
      );

    before(async () => {
      harness = await makeHarness();
      db = await harness.open();
      await migrateCatalog(db);
      await seedCatalog(db);
      repo = new CatalogRepository(db);
      app = Fastify({ logger: false });
      await app.register(catalogRoutes, {
        repository: repo,
        photos: new PhotoService({ repository: repo, cache: new MemoryCache(), logger: silent }),
      });
      await app.ready();
    });
    after(async () => {
      await app?.close();
      await db?.close();
      await harness?.cleanup();
    });

    test('seeding logs each product as created at version 1, with its whole state', async () => {
      const products = await repo.list();
      const rows = await db.query<{
        product_id: number;
        version: number;
        kind: string;
        changes: Record<string, unknown>;
        price: number;
        stock: number;
        applied_at: Date;
      }>(
        `SELECT product_id, version, kind, changes, price, stock, applied_at FROM product_events WHERE kind = 'created' ORDER BY product_id`,
      );
      assert.equal(rows.length, products.length);
      for (const [i, p] of products.entries()) {
        assert.deepEqual(
          {
            id: rows[i].product_id,
            version: rows[i].version,
            changes: rows[i].changes,
            price: rows[i].price,
            stock: rows[i].stock,
            at: rows[i].applied_at.toISOString(),
          },
          {
            id: p.id,
            version: 1,
            changes: { name: p.name, price: p.price, stock: p.stock },
            price: p.price,
            stock: p.stock,
            at: p.updated_at,
          },
        );
      }
    });

    test('an applied change is logged by the same statement: changes, resulting state, times, provenance', async () => {
      const { db: countingDb, statements } = counting(db);
      const r = new CatalogRepository(countingDb);
      const batch = [
        change(1, { price: 12.5 }, { source: { message_id: 'm-1', producer: 'pricing' } }),
        change(2, { stock: 3 }),
        change(3, { price: 7, stock: 0 }),
      ];
      const results = await r.applyChanges(batch);
      assert.equal(statements(), 1, 'the batch, its log rows included, is one statement');
      const products = results.map((x) => (x as { product: Product }).product);
      for (const [i, e] of batch.entries()) {
        const [row] = await db.query<{
          kind: string;
          version: number;
          changes: unknown;
          price: number;
          stock: number;
          occurred_at: Date;
          applied_at: Date;
          message_id: string | null;
          producer: string | null;
        }>(
          'SELECT kind, version, changes, price, stock, occurred_at, applied_at, message_id, producer FROM product_events WHERE event_id = $1',
          [e.event_id],
        );
        const p = products[i];
        assert.deepEqual(
          { ...row, occurred_at: row.occurred_at.toISOString(), applied_at: row.applied_at.toISOString() },
          {
            kind: 'changed',
            version: p.version,
            changes: e.changes,
            price: p.price,
            stock: p.stock,
            occurred_at: new Date(e.occurred_at).toISOString(),
            applied_at: p.updated_at,
            message_id: e.source?.message_id ?? null,
            producer: e.source?.producer ?? null,
          },
        );
      }
    });

    test('duplicates and redeliveries add no log row; unknown products log nothing', async () => {
      const e = change(4, { stock: 44 });
      await repo.applyChange(e);
      const before = (await logRows(4)).length;
      assert.equal((await repo.applyChange(e)).status, 'duplicate');
      const again = await repo.applyChanges([{ ...e, changes: { stock: 1 } }, e]);
      assert.ok(again.every((x) => !(x instanceof Error) && x.status === 'duplicate'));
      assert.equal((await logRows(4)).length, before);
      assert.equal((await repo.applyChange(change(999_999, { stock: 1 }))).status, 'unknown_product');
      const [{ n }] = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM product_events WHERE product_id = 999999',
      );
      assert.equal(n, 0);
    });

    test('an apply that fails leaves no log row, and a log row that cannot be written fails the apply', async () => {
      // The database refuses the product update: no log row either.
      await db.exec('ALTER TABLE products ADD CONSTRAINT test_stock_cap CHECK (stock < 1000000)');
      try {
        const refused = change(5, { stock: 2_000_000 });
        await assert.rejects(repo.applyChange(refused), { name: 'InvalidChangeError' });
        assert.equal(
          (await db.query('SELECT 1 FROM product_events WHERE event_id = $1', [refused.event_id])).length,
          0,
        );
      } finally {
        await db.exec('ALTER TABLE products DROP CONSTRAINT test_stock_cap');
      }
      // The log row cannot be written (its version is taken): the product and applied_events stay as they were.
      const before = (await repo.get(5))!;
      await db.query(
        `INSERT INTO product_events (product_id, version, kind, changes, price, stock) VALUES (5, $1, 'baseline', '{}', 1, 1)`,
        [before.version + 1],
      );
      try {
        const blocked = change(5, { stock: 77 });
        const [result] = await repo.applyChanges([blocked]);
        assert.ok(result instanceof Error, 'the apply fails with its log row');
        const afterwards = (await repo.get(5))!;
        assert.deepEqual([afterwards.version, afterwards.stock], [before.version, before.stock]);
        assert.equal(
          (await db.query('SELECT 1 FROM applied_events WHERE event_id = $1', [blocked.event_id])).length,
          0,
        );
      } finally {
        await db.query(`DELETE FROM product_events WHERE product_id = 5 AND version = $1`, [before.version + 1]);
      }
    });

    test('GET /api/products/:id/events: version order, after_version, limit', async () => {
      const id = 6;
      for (let i = 0; i < 5; i++) await repo.applyChange(change(id, { stock: 10 + i }));
      const all = await get<{ events: EventJson[] }>(`/api/products/${id}/events`);
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.events.map((e) => e.version),
        [1, 2, 3, 4, 5, 6],
      );
      assert.equal(all.body.events[0].kind, 'created');
      assert.equal(all.body.events[0].event_id, null);
      assert.deepEqual(
        all.body.events.slice(1).map((e) => e.stock),
        [10, 11, 12, 13, 14],
      );
      assert.deepEqual(
        all.body.events.slice(1).map((e) => e.changes),
        [10, 11, 12, 13, 14].map((stock) => ({ stock })),
      );
      for (const e of all.body.events.slice(1)) {
        assert.match(e.event_id!, /^[0-9a-f-]{36}$/);
        assert.equal(typeof e.occurred_at, 'string');
        assert.equal(typeof e.applied_at, 'string');
      }
      const page = await get<{ events: EventJson[] }>(`/api/products/${id}/events?after_version=2&limit=2`);
      assert.deepEqual(
        page.body.events.map((e) => e.version),
        [3, 4],
      );
      const end = await get<{ events: EventJson[] }>(`/api/products/${id}/events?after_version=6`);
      assert.deepEqual([end.status, end.body.events], [200, []]);
      const max = await get<{ events: EventJson[] }>(`/api/products/${id}/events?limit=1000`);
      assert.equal(max.body.events.length, 6);
    });

    test('bad limit / after_version / version / at / after answer 400 bad_request naming the parameter; unknown product 404', async () => {
      const cases: Array<[string, string]> = [
        ['/api/products/6/events?limit=0', 'limit'],
        ['/api/products/6/events?limit=1001', 'limit'],
        ['/api/products/6/events?limit=abc', 'limit'],
        ['/api/products/6/events?limit=1.5', 'limit'],
        ['/api/products/6/events?limit=1&limit=2', 'limit'],
        ['/api/products/6/events?after_version=-1', 'after_version'],
        ['/api/products/6/events?after_version=', 'after_version'],
        ['/api/products/6?version=0', 'version'],
        ['/api/products/6?version=x', 'version'],
        ['/api/products/6?at=yesterday', 'at'],
        ['/api/products/6?at=2026-02-30T00:00:00Z', 'at'],
        ['/api/products/6?at=2026-12-07', 'at'],
        ['/api/products/6?version=1&at=2026-12-07T00:00:00Z', 'version'],
        ['/api/events?after=-5', 'after'],
        ['/api/events?limit=5000', 'limit'],
      ];
      for (const [url, param] of cases) {
        const res = await get<{ error: { code: string; message: string } }>(url);
        assert.equal(res.status, 400, url);
        assert.equal(res.body.error.code, 'bad_request', url);
        assert.match(res.body.error.message, new RegExp(`"${param}"`), url);
      }
      for (const url of [
        '/api/products/424242/events',
        '/api/products/424242?version=1',
        '/api/products/424242?at=2026-01-01T00:00:00Z',
      ]) {
        const res = await get<{ error: { code: string } }>(url);
        assert.deepEqual([res.status, res.body.error.code], [404, 'not_found'], url);
      }
    });

    test('?version=n and ?at=<time> answer the product exactly as the live table was then; 404 before it existed', async () => {
      const id = 7;
      const seen: Product[] = [(await repo.get(id))!];
      for (const c of [{ price: 20.01 }, { stock: 2 }, { price: 30, stock: 9 }]) {
        // `?at=` names a millisecond: two versions applied within one are one moment to it.
        while (Date.now() <= Date.parse(seen.at(-1)!.updated_at)) await new Promise((r) => setImmediate(r));
        const r = await repo.applyChange(change(id, c));
        assert.equal(r.status, 'applied');
        seen.push((r as { product: Product }).product);
      }
      for (const p of seen) {
        const byVersion = await get<Product>(`/api/products/${id}?version=${p.version}`);
        assert.deepEqual([byVersion.status, byVersion.body], [200, p]);
        const byTime = await get<Product>(`/api/products/${id}?at=${encodeURIComponent(p.updated_at)}`);
        assert.deepEqual([byTime.status, byTime.body], [200, p], `at ${p.updated_at}`);
      }
      const live = await get<Product>(
        `/api/products/${id}?at=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      );
      assert.deepEqual(live.body, seen.at(-1));
      const tooNew = await get<{ error: { code: string; message: string } }>(
        `/api/products/${id}?version=${seen.at(-1)!.version + 1}`,
      );
      assert.equal(tooNew.status, 404);
      assert.match(tooNew.body.error.message, /latest is/);
      const beforeCreation = new Date(Date.parse(seen[0].updated_at) - 1).toISOString();
      const early = await get<{ error: { code: string; message: string } }>(
        `/api/products/${id}?at=${encodeURIComponent(beforeCreation)}`,
      );
      assert.deepEqual([early.status, early.body.error.code], [404, 'not_found']);
      assert.match(early.body.error.message, /did not exist/);
      // A time without an offset is UTC.
      const local = await get<Product>(`/api/products/${id}?at=${seen.at(-1)!.updated_at.replace('Z', '')}`);
      assert.deepEqual(local.body, seen.at(-1));
    });

    test('?at= finds the state by binary search over versions: every version, between versions, over a gap', async () => {
      const id = 13;
      for (let i = 0; i < 37; i++) await repo.applyChange(change(id, i % 2 ? { stock: i } : { price: 10 + i }));
      const rows = await logRows(id);
      const t0 = Date.parse('2026-01-01T00:00:00Z');
      const at = (version: number, plusMs = 0) => new Date(t0 + version * 1000 + plusMs);
      const rollback = new Error('rolled back on purpose');
      // In a transaction rolled back at the end: the log keeps its real times for the other tests.
      await assert.rejects(
        db.transaction(async (tx: Queryable) => {
          const log = new EventLog(tx);
          // One version per second from t0, so each moment names one version.
          await tx.query(
            `UPDATE product_events SET applied_at = $2::timestamptz + version * interval '1 second' WHERE product_id = $1`,
            [id, new Date(t0)],
          );
          for (const r of rows) {
            for (const plus of [0, 999]) {
              const p = await log.productAt(id, at(r.version, plus));
              assert.deepEqual(
                [p.version, p.price, p.stock],
                [r.version, r.price, r.stock],
                `at version ${r.version} + ${plus} ms`,
              );
            }
          }
          await assert.rejects(log.productAt(id, at(rows[0].version, -1)), /did not exist/);
          // A gap (a log that contradicts itself): moments in it answer the version before it.
          const gone = rows[20].version;
          await tx.query('DELETE FROM product_events WHERE product_id = $1 AND version = $2', [id, gone]);
          assert.equal((await log.productAt(id, at(gone))).version, gone - 1);
          assert.equal((await log.productAt(id, at(gone + 1))).version, gone + 1);
          throw rollback;
        }),
        (err) => err === rollback,
      );
    });

    test('GET /api/events follows the whole log once, in order, page by page', async () => {
      const [{ n: total }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM product_events');
      const seen: EventJson[] = [];
      let after = 0;
      for (let pages = 0; pages < 1000; pages++) {
        const res = await get<{ events: EventJson[]; next_after: number }>(`/api/events?after=${after}&limit=37`);
        assert.equal(res.status, 200);
        if (res.body.events.length === 0) {
          assert.equal(res.body.next_after, after);
          break;
        }
        seen.push(...res.body.events);
        after = res.body.next_after;
        assert.equal(after, res.body.events.at(-1)!.position);
      }
      assert.equal(seen.length, total);
      assert.equal(new Set(seen.map((e) => e.position)).size, total);
      // Per product, the feed is in version order.
      const last = new Map<number, number>();
      for (const e of seen) {
        assert.ok(
          (last.get(e.product_id) ?? 0) < e.version,
          `product ${e.product_id} version ${e.version} out of order`,
        );
        last.set(e.product_id, e.version);
      }
      const unknown = await get<{ error: { code: string } }>('/api/events?after=987654321');
      assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'not_found']);
    });

    test('two copies of one event applied at once on two connections: one applies, the other is a duplicate', async (t) => {
      if (!harness.openPeer) return t.skip('one connection: no concurrent writers');
      const peer = await harness.openPeer();
      const id = 12;
      try {
        const before = (await repo.get(id))!;
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let locked!: () => void;
        const holding = new Promise<void>((r) => (locked = r));
        // Both copies pass the "not applied yet" check, then queue on the product's row lock.
        const blocker = peer.transaction(async (tx: Queryable) => {
          await tx.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [id]);
          locked();
          await held;
        });
        await holding;
        const event = change(id, { stock: 31 });
        const copies = [repo.applyChanges([event]), new CatalogRepository(peer).applyChanges([event])];
        const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        await pollUntil(
          () => db.query<{ n: number }>(waiting).then(([r]) => r.n),
          (n) => n === 2,
          { intervalMs: 10, what: 'both copies waiting on the row lock' },
        );
        release();
        await blocker;
        const results = (await Promise.all(copies)).flat();
        assert.deepEqual(results.map((r) => (r instanceof Error ? r.message : r.status)).sort(), [
          'applied',
          'duplicate',
        ]);
        const now = (await repo.get(id))!;
        assert.deepEqual([now.version, now.stock], [before.version + 1, 31]);
        assert.equal((await db.query('SELECT 1 FROM product_events WHERE event_id = $1', [event.event_id])).length, 1);
      } finally {
        await peer.close();
      }
    });

    test('the feed holds back rows behind a transaction still running, so a follower never skips one', async (t) => {
      if (!harness.openPeer) return t.skip('one connection: no concurrent writers');
      const peer = await harness.openPeer();
      try {
        const res0 = await get<{ events: EventJson[]; next_after: number }>('/api/events?after=0&limit=1000');
        let after = res0.body.next_after;
        for (;;) {
          const r = await get<{ next_after: number }>(`/api/events?after=${after}&limit=1000`);
          if (r.body.next_after === after) break;
          after = r.body.next_after;
        }
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let started!: () => void;
        const inside = new Promise<void>((r) => (started = r));
        // A writer that took its transaction id first and commits last.
        const slow = peer.transaction(async (tx: Queryable) => {
          await tx.query(
            `INSERT INTO product_events (product_id, version, kind, changes, price, stock) VALUES (8, 100000, 'baseline', '{}', 1, 1)`,
          );
          started();
          await held;
        });
        await inside;
        const quick = change(9, { stock: 99 });
        await repo.applyChange(quick);
        const meanwhile = await get<{ events: EventJson[] }>(`/api/events?after=${after}&limit=1000`);
        assert.deepEqual(meanwhile.body.events, [], 'nothing is served past a transaction still running');
        release();
        await slow;
        const later = await get<{ events: EventJson[] }>(`/api/events?after=${after}&limit=1000`);
        assert.deepEqual(
          later.body.events.map((e) => [e.product_id, e.version]),
          [
            [8, 100000],
            [9, (await repo.get(9))!.version],
          ],
        );
      } finally {
        await db.query('DELETE FROM product_events WHERE product_id = 8 AND version = 100000');
        await peer.close();
      }
    });

    test('rebuild: random concurrent changes with duplicates rebuild exactly; a tampered row is listed; --swap repairs it', async () => {
      const batcher = new ApplyBatcher(repo);
      const ids = await repo.productIds();
      let seed = 42;
      const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
      const sent: ProductChange[] = [];
      for (let round = 0; round < 10; round++) {
        // One change per product per round (the consumer's lanes keep a product's events in order);
        // every fifth event also comes again, as a redelivery would.
        const round_: ProductChange[] = ids
          .filter(() => rand(3) > 0)
          .map((id) =>
            change(
              id,
              rand(2)
                ? { price: 1 + rand(100_000) / 100 }
                : rand(2)
                  ? { stock: rand(500) }
                  : { price: 2 + rand(900) / 10, stock: rand(50) },
            ),
          );
        const copies = sent.filter(() => rand(5) === 0).slice(0, 10);
        sent.push(...round_);
        const results = await Promise.all([...round_, ...copies].map((e) => batcher.applyChange(e)));
        assert.ok(results.slice(round_.length).every((r) => r.status === 'duplicate'));
      }
      const clean = await rebuildCatalog(db, { batchSize: 97 });
      assert.deepEqual([clean.differences, clean.logProblems], [[], []]);
      assert.equal(clean.products, ids.length);
      const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM product_events');
      assert.equal(clean.events, n);

      await db.query('UPDATE products SET stock = stock + 1 WHERE id = 3');
      const tampered = await rebuildCatalog(db);
      assert.deepEqual(
        tampered.differences.map((d) => d.id),
        [3],
      );
      assert.match(describeDifference(tampered.differences[0]), /^product 3: stock live \d+, rebuilt \d+$/);
      const swapped = await rebuildCatalog(db, { swap: true });
      assert.equal(swapped.swapped, 1);
      assert.deepEqual((await rebuildCatalog(db)).differences, []);
    });

    test('rebuild: a log that contradicts itself (a gap) is reported, not papered over', async () => {
      const [{ version }] = await db.query<{ version: number }>(
        `SELECT max(version) AS version FROM product_events WHERE product_id = 10`,
      );
      assert.ok(version >= 3);
      const [removed] = await db.query('DELETE FROM product_events WHERE product_id = 10 AND version = 2 RETURNING *');
      try {
        const report = await rebuildCatalog(db);
        assert.deepEqual(report.logProblems, ['product 10 version 3: follows version 1 (a gap in the log)']);
        assert.deepEqual(
          report.differences.map((d) => [d.id, d.rebuilt]),
          [[10, null]],
        );
      } finally {
        const r = removed as Record<string, unknown>;
        await db.query(
          `INSERT INTO product_events (position, tx, product_id, version, kind, event_id, changes, price, stock, occurred_at, applied_at, message_id, producer)
           VALUES ($1, $2::text::xid8, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [
            r.position,
            String(r.tx),
            r.product_id,
            r.version,
            r.kind,
            r.event_id,
            r.changes,
            r.price,
            r.stock,
            r.occurred_at,
            r.applied_at,
            r.message_id,
            r.producer,
          ],
        );
      }
      assert.deepEqual((await rebuildCatalog(db)).logProblems, []);
    });

    test("compaction keeps each product's newest old state as its baseline: rebuild stays exact, later states unchanged", async () => {
      const id = 11;
      const kept: Product[] = [];
      const compacted = [change(id, { price: 3.33 }), change(id, { stock: 4 })];
      for (const c of compacted) kept.push(((await repo.applyChange(c)) as { product: Product }).product);
      const cutoff = new Date(Date.parse(kept[1].updated_at) + 1);
      for (let i = 0; i < 1e7 && Date.now() <= cutoff.getTime(); i++); // the next apply must come after the cutoff
      const newer = ((await repo.applyChange(change(id, { stock: 5 }))) as { product: Product }).product;
      const [{ n: before }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM product_events');

      const result = await compactEventLog(db, cutoff);
      assert.ok(result.deleted > 0 && result.rebased > 0, JSON.stringify(result));
      const [{ n: afterwards }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM product_events');
      assert.equal(afterwards, before - result.deleted);
      assert.deepEqual(await compactEventLog(db, cutoff), { deleted: 0, rebased: 0 }, 'a second run finds nothing');
      // Their rows are gone or rebased, their ids are not: a redelivery changes nothing.
      for (const c of compacted) assert.equal((await repo.applyChange(c)).status, 'duplicate');
      const ids = compacted.map((c) => c.event_id);
      const [{ n: listed }] = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM applied_events WHERE event_id = ANY($1::uuid[])',
        [ids],
      );
      assert.equal(listed, 2, 'applied_events lists each compacted event once');

      const report = await rebuildCatalog(db);
      assert.deepEqual([report.differences, report.logProblems], [[], []]);
      const rows = (await get<{ events: EventJson[] }>(`/api/products/${id}/events`)).body.events;
      assert.deepEqual(
        rows.map((e) => [e.kind, e.version]),
        [
          ['baseline', kept[1].version],
          ['changed', newer.version],
        ],
      );
      assert.deepEqual(rows[0].changes, { name: kept[1].name, price: kept[1].price, stock: kept[1].stock });
      assert.deepEqual((await get<Product>(`/api/products/${id}?version=${kept[1].version}`)).body, kept[1]);
      assert.deepEqual((await get<Product>(`/api/products/${id}?version=${newer.version}`)).body, newer);
      assert.deepEqual(
        (await get<Product>(`/api/products/${id}?at=${encodeURIComponent(kept[1].updated_at)}`)).body,
        kept[1],
      );
      const gone = await get<{ error: { message: string } }>(`/api/products/${id}?version=${kept[0].version}`);
      assert.equal(gone.status, 404);
      assert.match(gone.body.error.message, /starts at version/);
    });

    test('products that existed before the log get a baseline row from the migration', async () => {
      const fresh = await harness.open();
      try {
        await migrate(fresh, undefined, migrations.slice(0, 1), CATALOG_MIGRATIONS_TABLE);
        await fresh.query(`INSERT INTO products (name, price, stock, version) VALUES ('Old Lamp', 19.5, 4, 7)`);
        const old = change(1, { stock: 4 });
        await fresh.query('INSERT INTO applied_events (event_id, product_id) SELECT $1, id FROM products', [
          old.event_id,
        ]);
        await migrateCatalog(fresh);
        const rows = await fresh.query<{
          version: number;
          kind: string;
          changes: unknown;
          price: number;
          stock: number;
        }>('SELECT version, kind, changes, price, stock FROM product_events');
        assert.deepEqual(rows, [
          { version: 7, kind: 'baseline', changes: { name: 'Old Lamp', price: 19.5, stock: 4 }, price: 19.5, stock: 4 },
        ]);
        const r = new CatalogRepository(fresh);
        const [{ id }] = await fresh.query<{ id: number }>('SELECT id FROM products');
        await assert.rejects(r.log.productAtVersion(id, 3), /starts at version 7/);
        assert.equal((await r.log.productAtVersion(id, 7)).stock, 4);
        // An event applied before the log is still known: its redelivery is a duplicate.
        assert.equal((await r.applyChange({ ...old, product_id: id })).status, 'duplicate');
        assert.equal((await r.get(id))!.version, 7);
      } finally {
        await fresh.close();
      }
    });
  });
}
