import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
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

// PGlite's own bytea serializer builds one string per byte (Array.from(bytes).map(…)):
// a 50 KB photo made megabytes of garbage and grew the heap for good.
const serializers = {
  [pgliteTypes.BYTEA]: (value: Uint8Array) =>
    `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`,
};

/**
 * Embedded PostgreSQL (WASM). One connection per process: PGlite serializes
 * queries itself, and a transaction holds it exclusively. The data directory
 * must not be shared by two processes.
 */
export class PgliteDatabase implements Database {
  readonly driver = 'pglite' as const;
  private readonly db: PGlite;

  private constructor(db: PGlite) {
    this.db = db;
  }

  /** Open (creating if needed) the database in `dir`; `undefined` keeps it in memory. */
  static async open(dir: string | undefined): Promise<PgliteDatabase> {
    if (dir !== undefined && !existsSync(join(dir, 'PG_VERSION'))) await createDataDir(dir);
    useBaselineWasmCompiler();
    const db = await PGlite.create(dir, { parsers, serializers, startParams: PGLITE_START_PARAMS });
    return new PgliteDatabase(db);
  }

  /** Where the embedded database lives under DATA_DIR. */
  static dirFor(dataDir: string): string {
    return join(dataDir, 'pglite');
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return (await this.db.query<T>(sql, params as unknown[] | undefined)).rows;
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction((inner) =>
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
    if (this.db.closed) return Promise.resolve(false);
    return withTimeout(
      this.db.query('SELECT 1').then(() => true),
      timeoutMs,
      false,
    );
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

/**
 * Compile PGlite's 9 MB of WASM with V8's baseline compiler (Liftoff) only.
 * By default V8 also recompiles hot functions with TurboFan, and for a store
 * this small that costs more than it gains: ~50 MB more resident memory for
 * good, and slower, not faster, queries in the first thousands (bench:footprint,
 * docs/operations.md#footprint). Read when a module is compiled, so setting it here,
 * before PGlite.create, is in time; only PGlite uses WASM in this process.
 */
function useBaselineWasmCompiler(): void {
  setFlagsFromString('--liftoff-only');
}

/**
 * The data directory that `npm run build` initialized once
 * (scripts/build-pglite-template.mjs): the same path from src/store under tsx
 * and from dist/store.
 */
export const PGLITE_TEMPLATE_DIR = fileURLToPath(new URL('../../dist/store/pglite-template', import.meta.url));

/**
 * Create the database in `dir`: a copy of the build's template when there is
 * one (a first start then skips initdb: ~8 s and a 750 MB child process),
 * otherwise initdb in a child. The copy goes to a sibling first and is renamed
 * into place, so a start interrupted half-way leaves no half database behind.
 */
async function createDataDir(dir: string): Promise<void> {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(
      `${dir} holds files but no database (no PG_VERSION): move it away, and the next start creates a new one`,
    );
  }
  if (!existsSync(join(PGLITE_TEMPLATE_DIR, 'PG_VERSION'))) {
    mkdirSync(dir, { recursive: true });
    return initInChild(dir);
  }
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(PGLITE_TEMPLATE_DIR, partial, { recursive: true });
  rmSync(dir, { recursive: true, force: true }); // empty, checked above
  renameSync(partial, dir);
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
      reject(
        new Error(
          `creating the embedded database in ${dir} failed: ${(stderr.trim().split('\n').pop() ?? '') || err.message}`,
        ),
      );
    });
  });
}
