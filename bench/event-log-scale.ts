/**
 * The event log at size: a seeded catalog plus `--events` synthetic `changed`
 * rows (spread over the products, written straight into product_events with
 * the live table set to their last state), then
 *   - `rebuildCatalog` over the whole log (time, rows/s), and
 *   - state-at reads (`?version=` and `?at=`) at random products and points in history, and
 *   - feed pages (`/api/events?after=`, 100 rows) from random positions.
 *
 *   eval "$(bash scripts/services.sh env)"
 *   node --import tsx bench/event-log-scale.ts --driver postgres --events 1000000
 */
import { pino } from 'pino';
import { rebuildCatalog } from '../src/apps/catalog/rebuild.js';
import { CatalogRepository } from '../src/apps/catalog/repository.js';
import { seedCatalog } from '../src/apps/catalog/seed.js';
import type { Database } from '../src/store/database.js';
import { createDatabase } from '../src/store/index.js';
import { migrateCatalog } from '../src/apps/catalog/migrations/index.js';
import { createScratchDatabase } from './lib/scratch-db.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const driver = args.get('driver') ?? 'pglite';
const events = Number(args.get('events') ?? 100_000);
const reads = Number(args.get('reads') ?? 1000);
const logger = pino({ level: 'silent' });

const scratch = await createScratchDatabase(driver, `hubcast_bench_log_${process.pid}`);

const quantiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(3);
  return { median_ms: q(0.5), p99_ms: q(0.99), max_ms: q(1) };
};

const db: Database = await createDatabase(scratch.config, logger);
try {
  await migrateCatalog(db);
  await seedCatalog(db);
  const [{ n: products }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
  const perProduct = Math.ceil(events / products);
  const fillStarted = performance.now();
  // One millisecond apart per version, ending now; every change sets price and stock, so the
  // recorded state is the replay's by construction.
  await db.query(
    `INSERT INTO product_events (product_id, version, kind, event_id, changes, price, stock, occurred_at, applied_at)
     SELECT p.id, v, 'changed', gen_random_uuid(),
            jsonb_build_object('price', pr, 'stock', st), pr, st, t, t
       FROM products p, generate_series(2, $1::int + 1) AS v,
            LATERAL (SELECT round((1 + ((p.id * 7919 + v * 104729) % 100000) / 100.0)::numeric, 2) AS pr,
                            ((p.id * 31 + v * 17) % 500)::int AS st,
                            now() - ($1::int + 1 - v) * interval '1 millisecond' AS t) x`,
    [perProduct],
  );
  await db.query(
    `UPDATE products p SET price = e.price, stock = e.stock, version = e.version, updated_at = e.applied_at
       FROM product_events e WHERE e.product_id = p.id AND e.version = $1::int + 1`,
    [perProduct],
  );
  await db.exec('ANALYZE product_events');
  const [{ rows, size }] = await db.query<{ rows: number; size: number }>(
    `SELECT count(*)::bigint AS rows, pg_total_relation_size('product_events')::bigint AS size FROM product_events`,
  );
  const fillMs = performance.now() - fillStarted;

  const rebuildStarted = performance.now();
  const report = await rebuildCatalog(db, { batchSize: 20_000 });
  const rebuildMs = performance.now() - rebuildStarted;
  if (report.differences.length + report.logProblems.length > 0) {
    throw new Error(
      `rebuild differs: ${JSON.stringify(report.differences.slice(0, 3))} ${report.logProblems.slice(0, 3)}`,
    );
  }

  const log = new CatalogRepository(db).log;
  const [{ first, last }] = await db.query<{ first: Date; last: Date }>(
    "SELECT min(applied_at) AS first, max(applied_at) AS last FROM product_events WHERE kind = 'changed'",
  );
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const byVersion: number[] = [];
  const byTime: number[] = [];
  for (let i = 0; i < reads; i++) {
    const id = 1 + rand(products);
    let t0 = performance.now();
    await log.productAtVersion(id, 1 + rand(perProduct + 1));
    byVersion.push(performance.now() - t0);
    const at = new Date(first.getTime() + rand(Math.max(1, last.getTime() - first.getTime())));
    t0 = performance.now();
    await log.productAt(id, at);
    byTime.push(performance.now() - t0);
  }
  // The feed from a random position: the cursor's lookup by position, then one page in (tx, position) order.
  const [{ lo, hi }] = await db.query<{ lo: number; hi: number }>(
    'SELECT min(position) AS lo, max(position) AS hi FROM product_events',
  );
  const feedPage: number[] = [];
  for (let i = 0; i < reads; i++) {
    const after = Number(lo) + rand(Number(hi) - Number(lo));
    const t0 = performance.now();
    await log.feed(after, 100);
    feedPage.push(performance.now() - t0);
  }
  console.log(
    JSON.stringify({
      driver,
      log_rows: rows,
      log_bytes: size,
      bytes_per_row: Math.round(size / rows),
      fill_s: +(fillMs / 1000).toFixed(1),
      rebuild_s: +(rebuildMs / 1000).toFixed(2),
      rebuild_rows_per_s: Math.round(report.events / (rebuildMs / 1000)),
      state_at_version: quantiles(byVersion),
      state_at_time: quantiles(byTime),
      feed_page_100: quantiles(feedPage),
    }),
  );
} finally {
  await db.close();
  await scratch.drop();
}
