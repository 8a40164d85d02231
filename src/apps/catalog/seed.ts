import type { Logger } from '../../logger.js';
import type { Database } from '../../store/database.js';
import { PHOTO_CONTENT_TYPE, photoEtag } from './photo-art.js';
import { SEED_PRODUCTS } from './seed-data.js';
import { seedPhotos } from './seed-photos.js';

/** Advisory lock key for seeding (differs from the migration key on purpose). */
export const SEED_LOCK_KEY = 0x68756264;

export interface SeedResult {
  /** Products inserted by this call: 0 when the catalog already had any. */
  inserted: number;
}

/**
 * Fill an empty catalog. Race-safe across nodes: the emptiness check and the
 * inserts share one transaction under an advisory lock, so exactly one node
 * seeds and the others see a populated table. Photos are read (or rendered,
 * without a build: seed-photos.ts) before the lock is taken (work that should
 * not hold a lock other nodes wait on); the cheap pre-check skips it on every
 * later start.
 */
export async function seedCatalog(db: Database, logger?: Logger): Promise<SeedResult> {
  if (await hasProducts(db)) return { inserted: 0 };

  const started = performance.now();
  const photos = seedPhotos(SEED_PRODUCTS.length);
  const rows = SEED_PRODUCTS.map(([name, price], i) => {
    const bytes = photos[i];
    return { name, price, stock: seedStock(i), bytes, etag: photoEtag(bytes) };
  });

  const inserted = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK_KEY]);
    const [{ n }] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
    if (n > 0) return 0; // another node won the race

    // Two multi-row statements instead of 2×N round trips: seeding is on the start path.
    const ids = await tx.query<{ id: number }>(
      `INSERT INTO products (name, price, stock)
       SELECT * FROM unnest($1::text[], $2::numeric[], $3::int[])
       RETURNING id`,
      [rows.map((r) => r.name), rows.map((r) => r.price), rows.map((r) => r.stock)],
    );
    // RETURNING follows the unnest order for a plain INSERT … SELECT; sort to be safe anyway.
    const sorted = ids.map((r) => r.id).sort((a, b) => a - b);
    // Each product's log starts here: a rebuild from the log alone yields the seeded state too.
    await tx.query(
      `INSERT INTO product_events (product_id, version, kind, changes, price, stock, applied_at)
       SELECT id, version, 'created', jsonb_build_object('name', name, 'price', price, 'stock', stock), price, stock, updated_at
         FROM products WHERE id = ANY($1::int[]) ORDER BY id`,
      [sorted],
    );
    // One photo per statement: PGlite's memory never shrinks, and one statement
    // carrying all 60 photos (3 MB, twice that as hex) grew it by ~60 MB for good.
    for (const [i, r] of rows.entries()) {
      await tx.query('INSERT INTO product_photos (product_id, bytes, content_type, etag) VALUES ($1, $2, $3, $4)', [
        sorted[i],
        r.bytes,
        PHOTO_CONTENT_TYPE,
        r.etag,
      ]);
    }
    return rows.length;
  });

  if (inserted > 0) {
    logger?.info({ products: inserted, ms: Math.round(performance.now() - started) }, 'catalog seeded');
  }
  return { inserted };
}

async function hasProducts(db: Database): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM products LIMIT 1');
  return rows.length > 0;
}

/** Mostly healthy stock, with a few sold-out items so the UI shows that state too. */
function seedStock(i: number): number {
  if (i % 13 === 7) return 0;
  return 5 + ((i * 37) % 120);
}
