import type { Logger } from '../logger.js';
import type { Database } from './database.js';

/**
 * Advisory lock key for schema changes (arbitrary, fixed: every node must use
 * the same one). Seeding uses its own key, see catalog/seed.ts.
 */
export const MIGRATION_LOCK_KEY = 0x68756263; // "hubc"

/** One schema step. SQL lives in .ts modules so `tsc` carries it into dist/ (it does not copy .sql files). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export interface MigrateResult {
  /** Versions applied by this call; empty when the schema was already current. */
  applied: number[];
  current: number;
}

/**
 * Bring the schema up to date, all pending migrations in ONE transaction so a
 * crash leaves either the old or the new schema. When several gateway nodes
 * start at once, the transaction-scoped advisory lock lets exactly one do the
 * work; the others wait, then find nothing pending. (PGlite has one connection,
 * where the lock is trivially uncontended; same SQL for both drivers.)
 */
export async function migrate(
  db: Database,
  logger: Logger | undefined,
  migrations: readonly Migration[],
  /** Where applied versions are recorded: each application numbers its own migrations (chat: `chat_schema_migrations`). */
  table: string,
): Promise<MigrateResult> {
  checkOrder(migrations);
  if (!/^[a-z_]{1,63}$/.test(table))
    throw new Error(`migration table name ${JSON.stringify(table)}: lower-case letters and _ only`);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>(`SELECT version FROM ${table}`);
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query(`INSERT INTO ${table} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
      logger?.info({ version: m.version, migration: m.name, table }, 'migration applied');
    }
    const current = Math.max(0, ...done, ...applied);
    return { applied, current };
  });
}

/** A mis-numbered list is a programming error: refuse before touching the database. */
function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migration #${i + 1} has version ${m.version}; versions must be 1, 2, 3, …`);
  });
}
