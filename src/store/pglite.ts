import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { READY_TIMEOUT_MS, withTimeout, type Database, type Queryable } from './database.js';
import { PGLITE_START_PARAMS } from './pglite-params.js';

// Same row types as postgres.ts: NUMERIC/BIGINT as numbers, BYTEA as Buffer
// (PGlite's default is a Uint8Array, which Fastify and ioredis treat differently).
const parsers = {
  [pgliteTypes.NUMERIC]: (value: string) => Number(value),
  [pgliteTypes.INT8]: (value: string) => Number(value),
  [pgliteTypes.BYTEA]: (value: string) => Buffer.from(value.slice(2), 'hex'), // text form is `\x…`
};

/**
 * Embedded PostgreSQL (WASM). One connection per process: PGlite serializes
 * queries itself, and a transaction holds it exclusively. The data directory
 * must not be shared by two processes.
 */
export class PgliteDatabase implements Database {
  readonly driver = 'pglite' as const;
  readonly #db: PGlite;

  private constructor(db: PGlite) {
    this.#db = db;
  }

  /** Open (creating if needed) the database in `dir`; `undefined` keeps it in memory. */
  static async open(dir: string | undefined): Promise<PgliteDatabase> {
    if (dir !== undefined) {
      mkdirSync(dir, { recursive: true });
      if (!existsSync(join(dir, 'PG_VERSION'))) await initInChild(dir);
    }
    const db = await PGlite.create(dir, { parsers, startParams: PGLITE_START_PARAMS });
    return new PgliteDatabase(db);
  }

  /** Where the embedded database lives under DATA_DIR. */
  static dirFor(dataDir: string): string {
    return join(dataDir, 'pglite');
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return (await this.#db.query<T>(sql, params as unknown[] | undefined)).rows;
  }

  async exec(sql: string): Promise<void> {
    await this.#db.exec(sql);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#db.transaction((inner) =>
      fn({
        query: async <R>(sql: string, params?: readonly unknown[]) =>
          (await inner.query<R>(sql, params as unknown[] | undefined)).rows,
        exec: async (sql: string) => {
          await inner.exec(sql);
        },
      }),
    );
  }

  isReady(timeoutMs = READY_TIMEOUT_MS): Promise<boolean> {
    if (this.#db.closed) return Promise.resolve(false);
    return withTimeout(
      this.#db.query('SELECT 1').then(() => true),
      timeoutMs,
      false,
    );
  }

  async close(): Promise<void> {
    if (!this.#db.closed) await this.#db.close();
  }
}

/**
 * Run initdb for `dir` in a child process (pglite-init.ts says why). The
 * child gets this process's flags, so it runs under tsx in tests as well.
 */
function initInChild(dir: string): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const script = join(self, '..', self.endsWith('.ts') ? 'pglite-init.ts' : 'pglite-init.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...process.execArgv, script, dir], { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      reject(new Error(`creating the embedded database in ${dir} failed: ${(stderr.trim().split('\n').pop() ?? '') || err.message}`));
    });
  });
}
