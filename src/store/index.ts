import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Database } from './database.js';
import { PgliteDatabase } from './pglite.js';
import { PostgresDatabase } from './postgres.js';

export type { Database, Queryable } from './database.js';
export { migrate, type Migration, type MigrateResult } from './migrate.js';

/**
 * The one place the driver is chosen: DATABASE_URL set → PostgreSQL, otherwise
 * embedded PGlite under DATA_DIR/pglite. The URL was validated by the config
 * schema; a server that is down surfaces on the first query (migrations).
 */
export async function createDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  logger: Logger,
): Promise<Database> {
  const log = logger.child({ component: 'store' });
  if (config.databaseUrl) {
    log.info({ driver: 'postgres' }, 'database driver chosen');
    return new PostgresDatabase(config.databaseUrl, log);
  }
  const dir = PgliteDatabase.dirFor(config.dataDir);
  log.info({ driver: 'pglite', dir }, 'database driver chosen');
  return PgliteDatabase.open(dir);
}
