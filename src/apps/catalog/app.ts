import type { Gateway, GatewayExtension } from '../../server.js';
import { migrate } from '../../store/index.js';
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

export interface PipelineOptions {
  /** Run the event generator in this process too (`npm start`). */
  withGenerator: boolean;
}

/**
 * The product pipeline on top of the realtime core (docs/protocol.md, "The product and the event pipeline"):
 * database (migrated, seeded) → catalog API and cached photos → broker
 * consumer applying change events and publishing `product.updated`; with
 * `withGenerator`, the generator publishing those events. Each driver is
 * chosen once from the config: a URL selects the real service, its absence
 * the embedded default.
 */
export function catalogPipeline(options: PipelineOptions): GatewayExtension {
  return async (gateway: Gateway) => {
    const { config, log } = gateway;
    const db = await gateway.database();
    await migrate(db, log);
    await seedCatalog(db, log);
    const repository = new CatalogRepository(db);
    // Compaction (EVENT_LOG_RETENTION_DAYS) uses the database: components close in reverse
    // order, so this stops before the database (registered by gateway.database()) closes.
    const stopRetention = startEventLogRetention({ db, days: config.eventLogRetentionDays, logger: log });
    gateway.components.push({ name: 'event-log-retention', ready: () => true, close: stopRetention });

    const cache = await createCache(config, log);
    gateway.components.push({ name: 'cache', ready: () => cache.isReady(), close: () => cache.close() });
    const photos = new PhotoService({ repository, cache, logger: log.child({ component: 'photos' }) });
    await gateway.app.register(catalogRoutes, { repository, photos });

    const broker = await createBroker(config, log);
    // Events that arrive together are applied in one statement (see apply-batcher.ts).
    const consumer = new CatalogConsumer({ broker, applier: new ApplyBatcher(repository), publisher: gateway.hub, logger: log });
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
    gateway.components.push({ name: 'broker', ready: () => broker.isReady(), close: () => broker.close() });
    gateway.components.push({
      name: 'consumer',
      ready: () => true,
      close: () => consumer.stop(),
      stats: () => ({ ...consumerStatsFields(consumer.stats()), photo_cache_hits: photos.stats.hits, photo_cache_misses: photos.stats.misses }),
    });
    await consumer.start();
    if (generator !== null) {
      const g = generator;
      gateway.components.push({
        name: 'generator',
        ready: () => true,
        close: async () => void (await g.stop()),
        stats: () => generatorStatsFields(g.stats()),
      });
      await g.start();
    }
  };
}
