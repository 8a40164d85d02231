/**
 * The apply statement's cost, comparing builds in one run (e.g. without and
 * with the event log): each build in `--dist` (comma-separated) gets a fresh,
 * seeded database of its own, and batches of one change per product are
 * applied through that build's `CatalogRepository.applyChanges`, one batch
 * (one statement) at a time, alternating between the builds batch by batch,
 * so the noise of a shared machine falls on all of them alike.
 *
 *   git archive <base> | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/ && (cd /tmp/base && npx tsc)
 *   eval "$(bash scripts/services.sh env)"
 *   node --import tsx bench/apply-log.ts --driver postgres --dist /tmp/base/dist,dist --batches 1000
 *
 * postgres uses HUBCAST_TEST_DATABASE_URL to create and drop databases of its
 * own; pglite temp directories. `--sql '<statement>'` runs on the last
 * build's database before measuring (to try a schema variant).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createScratchDatabase } from './lib/scratch-db.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const dists = (args.get('dist') ?? 'dist').split(',').map((d) => resolve(d));
const driver = args.get('driver') ?? 'pglite';
const batches = Number(args.get('batches') ?? 500);
const warmup = Math.min(20, Math.floor(batches / 10));
const logger = pino({ level: 'silent' });

interface Db {
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, number>>>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

interface Subject {
  dist: string;
  db: Db;
  repo: { applyChanges(events: unknown[]): Promise<unknown[]>; productIds(): Promise<number[]> };
  times: number[];
  cleanup: () => Promise<void>;
}

async function open(dist: string, index: number): Promise<Subject> {
  // A build from before the catalog moved under apps/ (the baseline) has it at catalog/.
  const app = existsSync(join(dist, 'apps/catalog')) ? 'apps/catalog' : 'catalog';
  const load = (path: string) => import(pathToFileURL(join(dist, path)).href);
  const { createDatabase, migrate } = await load('store/index.js');
  const { seedCatalog } = await load(`${app}/seed.js`);
  const { CatalogRepository } = await load(`${app}/repository.js`);
  const catalogMigrations = app === 'catalog' ? null : await load(`${app}/migrations/index.js`);
  const migrateCatalog = (db: Db) => (catalogMigrations === null ? migrate(db) : catalogMigrations.migrateCatalog(db));
  const scratch = await createScratchDatabase(driver, `hubcast_bench_apply_${process.pid}_${index}`);
  const db: Db = await createDatabase(scratch.config, logger);
  await migrateCatalog(db);
  await seedCatalog(db);
  return { dist, db, repo: new CatalogRepository(db), times: [], cleanup: scratch.drop };
}

const subjects: Subject[] = [];
try {
  for (const [i, d] of dists.entries()) subjects.push(await open(d, i));
  if (args.get('sql')) await subjects[subjects.length - 1].db.exec(args.get('sql')!);
  const ids = await subjects[0].repo.productIds();
  for (let b = 0; b < batches + warmup; b++) {
    for (const s of b % 2 ? [...subjects].reverse() : subjects) {
      const events = ids.map((id, i) => ({
        event_id: randomUUID(),
        product_id: id,
        changes: (b + i) % 2 ? { stock: (b * 7 + i) % 500 } : { price: 1 + ((b * 13 + i) % 10_000) / 100 },
        occurred_at: new Date().toISOString(),
      }));
      const started = performance.now();
      const results = await s.repo.applyChanges(events);
      const ms = performance.now() - started;
      if (results.some((r) => r instanceof Error))
        throw new Error(`a batch failed: ${results.find((r) => r instanceof Error)}`);
      if (b >= warmup) s.times.push(ms);
    }
  }
  for (const s of subjects) {
    const times = [...s.times].sort((a, c) => a - c);
    const total = times.reduce((a, c) => a + c, 0);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
    const [{ logged }] = await s.db.query(`SELECT (to_regclass('product_events') IS NOT NULL)::int AS logged`);
    const [{ rows, size }] = logged
      ? await s.db.query(
          `SELECT count(*)::bigint AS rows, pg_total_relation_size('product_events')::bigint AS size FROM product_events`,
        )
      : [{ rows: 0, size: 0 }];
    console.log(
      JSON.stringify({
        dist: s.dist,
        driver,
        batch_events: ids.length,
        batches: times.length,
        median_ms: +q(0.5).toFixed(2),
        p90_ms: +q(0.9).toFixed(2),
        mean_ms: +(total / times.length).toFixed(2),
        events_per_s: Math.round((times.length * ids.length) / (total / 1000)),
        log_rows: rows,
        log_bytes_per_row: rows > 0 ? Math.round(size / rows) : null,
      }),
    );
  }
} finally {
  for (const s of subjects) {
    await s.db.close();
    await s.cleanup();
  }
}
