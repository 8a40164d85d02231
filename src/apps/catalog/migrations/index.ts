import type { Logger } from '../../../logger.js';
import { migrate, type Database, type Migration, type MigrateResult } from '../../../store/index.js';
import * as m001 from './001_initial.js';
import * as m002 from './002_event_log.js';
import * as m003 from './003_event_log_claims.js';

/** The catalog's schema steps, in order. Never edit a released migration: add the next number. */
export const migrations: readonly Migration[] = [m001, m002, m003];

/** Where the catalog's applied versions are recorded (the first schema hubcast had, hence the plain name). */
export const CATALOG_MIGRATIONS_TABLE = 'schema_migrations';

/** Bring the catalog's tables up to date (what the application does at boot; tests and benches call it directly). */
export function migrateCatalog(db: Database, logger?: Logger): Promise<MigrateResult> {
  return migrate(db, logger, migrations, CATALOG_MIGRATIONS_TABLE);
}
