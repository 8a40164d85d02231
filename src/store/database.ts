/**
 * The database seen by the rest of hubcast: real PostgreSQL (postgres.ts) or
 * embedded PGlite (pglite.ts), chosen once at boot by `createDatabase`. Both
 * speak the same SQL dialect and return rows with the same JS types:
 *
 * - NUMERIC → number (prices are NUMERIC(10,2): well inside float precision)
 * - BIGINT  → number (versions and counters; never near 2^53)
 * - BYTEA   → Buffer
 * - TIMESTAMPTZ → Date
 */
export interface Queryable {
  /**
   * One statement with `$1…` parameters; resolves to the result rows.
   *
   * @example
   * const rows = await db.query<{ id: number }>('SELECT id FROM products WHERE stock > $1', [0]);
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** A parameterless multi-statement script (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly driver: 'postgres' | 'pglite';
  /**
   * Run `fn` inside BEGIN … COMMIT on one connection; a throw rolls back and
   * rethrows. Statements must go through `tx`, not the outer database.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Cheap `SELECT 1` bounded by a timeout: false instead of throwing or hanging. */
  isReady(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Default bound for readiness probes: /readyz must answer promptly even when the DB hangs. */
export const READY_TIMEOUT_MS = 1000;

/** Resolves to `promise`'s value, or `fallback` once `ms` elapsed or it rejected. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SQLSTATE of a driver error (pg and PGlite both expose `code`), or undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
