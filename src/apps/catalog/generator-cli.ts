import { createBroker } from '../../broker/index.js';
import { ConfigError, type Config } from '../../config/config.js';
import type { Logger } from '../../logger.js';
import { createDatabase } from '../../store/index.js';
import { EventGenerator } from './generator.js';
import { CatalogRepository } from './repository.js';
import { SEED_PRODUCTS } from './seed-data.js';

export interface GeneratorArgs {
  /** Events per second (load mode); undefined → one event per `GENERATOR_INTERVAL_MS`. */
  rate?: number;
}

/**
 * Parse `hubcast generator` arguments: `--rate <n>` or `--rate=<n>`, n a
 * positive number (fractions allowed). Throws a `ConfigError` naming the
 * argument for anything else.
 */
export function parseGeneratorArgs(argv: readonly string[]): GeneratorArgs {
  const args: GeneratorArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let value: string | undefined;
    if (arg === '--rate') {
      value = argv[++i];
      if (value === undefined) throw new ConfigError('--rate', 'expected a value: --rate <events per second>');
    } else if (arg.startsWith('--rate=')) {
      value = arg.slice('--rate='.length);
    } else {
      throw new ConfigError(arg, 'unknown argument (usage: hubcast generator [--rate <events per second>])');
    }
    const rate = value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(rate) || rate <= 0) {
      throw new ConfigError('--rate', `expected a positive number of events per second (got ${JSON.stringify(value)})`);
    }
    args.rate = rate;
  }
  return args;
}

/**
 * `hubcast generator`: the generator as its own process, publishing to
 * RabbitMQ. Product ids come from PostgreSQL when `DATABASE_URL` is set;
 * otherwise from the seed catalog (ids 1…N of a freshly seeded database),
 * since the gateway's embedded database cannot be opened by a second process.
 * Resolves once running, with the function that stops it (flushing pending
 * events, then releasing the broker and the database).
 */
export async function runGenerator(
  config: Config,
  argv: readonly string[],
  logger: Logger,
): Promise<() => Promise<void>> {
  const args = parseGeneratorArgs(argv);
  if (config.brokerUrl === undefined) {
    throw new ConfigError(
      'BROKER_URL',
      'the generator on its own needs RabbitMQ (amqp://…); the in-process broker cannot reach a gateway in another process',
    );
  }
  const log = logger.child({ component: 'generator-cli' });
  const broker = await createBroker(config, logger);
  let closeDb: (() => Promise<void>) | undefined;
  let generator: EventGenerator;
  try {
    let productIds: () => Promise<number[]>;
    if (config.databaseUrl) {
      const db = await createDatabase(config, logger);
      closeDb = () => db.close();
      const repository = new CatalogRepository(db);
      productIds = () => repository.productIds();
    } else {
      const seeded = SEED_PRODUCTS.map((_, i) => i + 1);
      log.info({ products: seeded.length }, 'DATABASE_URL unset: changing the seed catalog ids 1…N');
      productIds = async () => seeded;
    }
    generator = new EventGenerator({
      broker,
      productIds,
      intervalMs: config.generatorIntervalMs,
      rate: args.rate,
      logger,
    });
    await generator.start();
  } catch (err) {
    await broker.close();
    await closeDb?.();
    throw err;
  }
  // Every timer of the generator is unref'd (library habit); this process exists to generate, so hold it open.
  const keepAlive = setInterval(() => {}, 1 << 30);
  return async () => {
    clearInterval(keepAlive);
    const report = await generator.stop();
    await broker.close();
    await closeDb?.();
    if (report.unconfirmed.length > 0)
      log.warn({ unconfirmed: report.unconfirmed.length }, 'exiting with unconfirmed events');
  };
}
