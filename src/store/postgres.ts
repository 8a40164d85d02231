import type pg from 'pg';
import { pgClient } from '../lazy-deps.js';
import type { Logger } from '../logger.js';
import { READY_TIMEOUT_MS, withTimeout, type Database, type Queryable } from './database.js';

/** Type OIDs we parse differently from pg's defaults (see database.ts for why). */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

// Per-pool parsers, not pg.types.setTypeParser: that would change every other
// pg user in the process (tests, other modules) behind their back.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pgClient().types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PostgresOptions {
  /** Pool size per node; the default suits a gateway that mostly reads small rows. */
  max?: number;
  connectionTimeoutMillis?: number;
}

const DEFAULTS: Required<PostgresOptions> = { max: 10, connectionTimeoutMillis: 5000 };

/** PostgreSQL through a pg Pool. */
export class PostgresDatabase implements Database {
  readonly driver = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(url: string, logger: Logger, options: PostgresOptions = {}) {
    const opts = { ...DEFAULTS, ...options };
    this.pool = new (pgClient().Pool)({
      connectionString: url,
      types,
      max: opts.max,
      connectionTimeoutMillis: opts.connectionTimeoutMillis,
      // Idle clients must not keep the process alive at shutdown.
      allowExitOnIdle: true,
      // A statement whose client died (a killed gateway) is cancelled instead of
      // committing later on its own, e.g. once a lock it waits for is released.
      options: '-c client_connection_check_interval=1000',
    });
    // An idle client whose server went away emits 'error' on the pool; without a
    // listener that event would crash the process. The pool drops the client itself.
    this.pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'));
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    const result = await this.pool.query(sql, params as unknown[] | undefined);
    return result.rows as T[];
  }

  async exec(sql: string): Promise<void> {
    // No parameters → simple query protocol, which accepts several statements.
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: Queryable = {
      query: async <R>(sql: string, params?: readonly unknown[]) =>
        (await client.query(sql, params as unknown[] | undefined)).rows as R[],
      exec: async (sql: string) => {
        await client.query(sql);
      },
    };
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection is unusable: destroy it rather than return it to the pool.
        broken = rollbackErr as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  isReady(timeoutMs = READY_TIMEOUT_MS): Promise<boolean> {
    return withTimeout(
      this.pool.query('SELECT 1').then(() => true),
      timeoutMs,
      false,
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
