import type { Application } from '../../application.js';
import { seedCatalog } from './seed.js';
import { CatalogRepository } from './repository.js';
import { startEventLogRetention } from './event-log-retention.js';
import { createCache } from '../../cache/index.js';
import { PhotoService } from './photo-service.js';
import { catalogRoutes } from './routes.js';
import { createBroker } from '../../broker/index.js';
import { ApplyBatcher } from './apply-batcher.js';
import { CatalogConsumer, consumerStatsFields } from './consumer.js';
import { EventGenerator, generatorStatsFields } from './generator.js';
import { CATALOG_MIGRATIONS_TABLE, migrations } from './migrations/index.js';
import { CATALOG_METRICS } from './metrics.js';
import { CATALOG_ROUTES } from './route-docs.js';
import { dashboardPage } from './dashboard-page.js';
import { CatalogEvent, CATALOG_CHANNEL, productChannel } from './channels.js';

/** The first change after the gateway listens: time for a dashboard opened at start to subscribe, well under an interval. */
const FIRST_EVENT_AFTER_LISTEN_MS = 250;

export interface CatalogOptions {
  /** Run the event generator in this process too (`npm start`). */
  withGenerator: boolean;
}

/**
 * The catalog's channels: `products` (every change) and `product:<id>` (one
 * product's), published by the catalog alone; a stream naming no channel
 * joins `products`.
 */
export const CATALOG_CHANNELS = [
  { pattern: CATALOG_CHANNEL, publish: 'server' },
  { pattern: productChannel('*'), publish: 'server' },
] as const;

/**
 * The product pipeline as an application (docs/protocol.md, "The product and
 * the event pipeline"): database (migrated, seeded) → catalog API, event log
 * and cached photos → broker consumer applying change events and publishing
 * `product.updated`; with `withGenerator`, the generator publishing those
 * events. Each driver is chosen once from the config: a URL selects the real
 * service, its absence the embedded default.
 *
 * @example
 * await createGateway(config, { apps: [catalogApp({ withGenerator: true })] });
 */
export function catalogApp(options: CatalogOptions): Application {
  return {
    name: 'catalog',
    channels: CATALOG_CHANNELS,
    defaultChannels: [CATALOG_CHANNEL],
    events: Object.values(CatalogEvent),
    migrations: { table: CATALOG_MIGRATIONS_TABLE, list: migrations },
    metrics: CATALOG_METRICS,
    routes: CATALOG_ROUTES,
    async setup(ctx) {
      const { config, log } = ctx;
      const db = await ctx.database();
      await seedCatalog(db, log);
      const repository = new CatalogRepository(db);
      // Compaction (EVENT_LOG_RETENTION_DAYS) uses the database: components close in reverse
      // order, so this stops before the database (registered when it opened) closes.
      const stopRetention = startEventLogRetention({ db, days: config.eventLogRetentionDays, logger: log });
      ctx.component({ name: 'event-log-retention', ready: () => true, close: stopRetention });

      const cache = await createCache(config, log);
      ctx.component({ name: 'cache', ready: () => cache.isReady(), close: () => cache.close() });
      const photos = new PhotoService({ repository, cache, logger: log.child({ component: 'photos' }) });
      await ctx.http.register(catalogRoutes, { repository, photos });
      ctx.page('/', dashboardPage);

      const broker = await createBroker(config, log);
      // Events that arrive together are applied in one statement (see apply-batcher.ts).
      const consumer = new CatalogConsumer({
        broker,
        applier: new ApplyBatcher(repository),
        publisher: ctx.publisher,
        logger: log,
      });
      let generator: EventGenerator | null = null;
      if (options.withGenerator) {
        generator = new EventGenerator({
          broker,
          productIds: () => repository.productIds(),
          intervalMs: config.generatorIntervalMs,
          logger: log,
        });
      }
      // Closed in reverse order: generator, consumer, then the broker under them.
      ctx.component({ name: 'broker', ready: () => broker.isReady(), close: () => broker.close() });
      ctx.component({
        name: 'consumer',
        ready: () => true,
        close: () => consumer.stop(),
        stats: () => ({
          ...consumerStatsFields(consumer.stats()),
          photo_cache_hits: photos.stats.hits,
          photo_cache_misses: photos.stats.misses,
        }),
      });
      await consumer.start();
      if (generator !== null) {
        const g = generator;
        ctx.component({
          name: 'generator',
          ready: () => true,
          close: async () => void (await g.stop()),
          stats: () => generatorStatsFields(g.stats()),
        });
        await g.start();
        ctx.http.addHook('onListen', (done) => {
          g.realign(FIRST_EVENT_AFTER_LISTEN_MS);
          done();
        });
      }
    },
  };
}
