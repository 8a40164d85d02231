import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/database.js';
import { DiskFileStore } from './disk.js';
import { SqlFileStore } from './sql.js';
import type { FileStore } from './store.js';

export type { FileStore, FileContent, StoredFile } from './store.js';

/**
 * The one place the upload store is chosen: DATABASE_URL set → PostgreSQL
 * (the gateway's database, `open`), which every node of a cluster reads;
 * otherwise DATA_DIR on disk (embedded mode, one process).
 */
export function createFileStore(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  open: () => Promise<Database>,
  logger: Logger,
): FileStore {
  const log = logger.child({ component: 'files' });
  const store = config.databaseUrl ? new SqlFileStore(open, log) : new DiskFileStore(config.dataDir);
  log.info({ driver: store.driver }, 'upload store chosen');
  return store;
}
