import type { Database, Queryable } from '../../store/database.js';

/**
 * `hubcast rebuild` (docs/event-log.md): every product recomputed from the
 * event log alone, into a fresh table, then compared with the live one.
 *
 * The replay starts each product from its `created` (or `baseline`) row and
 * applies the `changes` of every later row in version order, exactly as the
 * apply statement does (a missing field keeps its value, prices round to two
 * places). It also checks the log against itself: versions without gaps, and
 * the price and stock each row recorded equal to what the replay computed.
 *
 * Runs in one REPEATABLE READ transaction: the log and the live table are
 * read as of one instant (the apply writes both in one statement, so they
 * agree at every instant), however long the replay takes and whatever the
 * gateway applies meanwhile.
 */
export interface RebuildOptions {
  /** Log rows read per query. */
  batchSize?: number;
  /** Write the rebuilt state into the live table where it differs (and add products only the log knows). */
  swap?: boolean;
  /** Called after every batch with the rows replayed so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface ProductState {
  name: string;
  price: number;
  stock: number;
  version: number;
  updated_at: string;
}

/** One product whose rebuilt state is not the live one. `null`: missing on that side. */
export interface Difference {
  id: number;
  rebuilt: ProductState | null;
  live: ProductState | null;
}

export interface RebuildReport {
  products: number;
  events: number;
  differences: Difference[];
  /** The log contradicting itself (a gap, a row whose recorded state is not its replay, no first state). */
  logProblems: string[];
  /** Live rows written by `swap`. */
  swapped: number;
  ms: number;
}

const DEFAULTS = { batchSize: 5000, swap: false };

interface LogRow {
  product_id: number;
  version: number;
  kind: 'created' | 'baseline' | 'changed';
  changes: { name?: unknown; price?: unknown; stock?: unknown };
  price: number;
  stock: number;
}

interface Replay {
  id: number;
  state: { name: string; price: number; stock: number; version: number } | null;
  /** A problem made this product's replay meaningless: it is left out of the fresh table. */
  broken: boolean;
}

/**
 * Replay, compare, optionally swap. Resolves with what differs; never throws for a difference.
 *
 * @example
 * const report = await rebuildCatalog(db, { onProgress: (n, total) => console.error(`${n}/${total}`) });
 * process.exitCode = report.differences.length + report.logProblems.length === 0 ? 0 : 1;
 */
export async function rebuildCatalog(db: Database, options: RebuildOptions = {}): Promise<RebuildReport> {
  const opts = { ...options, batchSize: options.batchSize ?? DEFAULTS.batchSize, swap: options.swap ?? DEFAULTS.swap };
  if (!(Number.isSafeInteger(opts.batchSize) && opts.batchSize >= 1)) {
    throw new RangeError(`rebuild: batchSize must be an integer ≥ 1 (got ${opts.batchSize})`);
  }
  const started = performance.now();
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    // A swap writes what it compared: applies wait meanwhile instead of changing rows under it.
    if (opts.swap) await tx.query('LOCK TABLE products IN EXCLUSIVE MODE');
    await tx.query(
      `CREATE TEMP TABLE products_rebuilt (
         id integer PRIMARY KEY, name text NOT NULL, price numeric(10, 2) NOT NULL,
         stock integer NOT NULL, version bigint NOT NULL, updated_at timestamptz NOT NULL
       ) ON COMMIT DROP`,
    );
    const [{ total }] = await tx.query<{ total: number }>('SELECT count(*)::bigint AS total FROM product_events');
    const logProblems: string[] = [];
    let events = 0;
    let products = 0;
    let current: Replay | null = null;
    let finished: Replay[] = [];
    let cursor: [number, number] = [0, 0];
    for (;;) {
      const rows = await tx.query<LogRow>(
        `SELECT product_id, version, kind, changes, price, stock FROM product_events
          WHERE (product_id, version) > ($1, $2) ORDER BY product_id, version LIMIT $3`,
        [cursor[0], cursor[1], opts.batchSize],
      );
      for (const row of rows) {
        if (current === null || current.id !== row.product_id) {
          if (current !== null) finished.push(current);
          current = { id: row.product_id, state: null, broken: false };
          products++;
        }
        if (!current.broken) replay(current, row, logProblems);
      }
      events += rows.length;
      if (finished.length > 0) {
        await writeRebuilt(tx, finished);
        finished = [];
      }
      opts.onProgress?.(events, Math.max(total, events));
      if (rows.length < opts.batchSize) break;
      const last = rows[rows.length - 1];
      cursor = [last.product_id, last.version];
    }
    if (current !== null) await writeRebuilt(tx, [current]);

    const differences = await compare(tx);
    const swapped = opts.swap ? await swap(tx) : 0;
    return { products, events, differences, logProblems, swapped, ms: Math.round(performance.now() - started) };
  });
}

/** One log row into the product's replay; a contradiction is recorded and ends that product's replay. */
function replay(p: Replay, row: LogRow, problems: string[]): void {
  const fail = (why: string) => {
    problems.push(`product ${p.id} version ${row.version}: ${why}`);
    p.broken = true;
  };
  if (row.kind !== 'changed') {
    const { name, price, stock } = row.changes;
    if (typeof name !== 'string' || typeof price !== 'number' || typeof stock !== 'number') {
      return fail(`${row.kind} row does not hold the whole state {name, price, stock}`);
    }
    if (p.state !== null && row.version !== p.state.version + 1) {
      return fail(`${row.kind} row follows version ${p.state.version}`);
    }
    p.state = { name, price: cents(price), stock, version: row.version };
  } else {
    if (p.state === null) return fail('the log starts with a change, not with a created or baseline state');
    if (row.version !== p.state.version + 1) return fail(`follows version ${p.state.version} (a gap in the log)`);
    const { price, stock } = row.changes;
    if (price !== undefined && typeof price !== 'number') return fail('changes.price is not a number');
    if (stock !== undefined && typeof stock !== 'number') return fail('changes.stock is not a number');
    p.state = {
      name: p.state.name,
      price: price === undefined ? p.state.price : cents(price),
      stock: stock === undefined ? p.state.stock : stock,
      version: row.version,
    };
  }
  if (cents(row.price) !== p.state.price || row.stock !== p.state.stock) {
    fail(
      `the row records price ${row.price} stock ${row.stock}, its replay gives price ${p.state.price} stock ${p.state.stock}`,
    );
  }
}

/** What numeric(10,2) stores for a price. */
function cents(n: number): number {
  return Math.round(n * 100) / 100;
}

async function writeRebuilt(tx: Queryable, replays: readonly Replay[]): Promise<void> {
  const ok = replays.filter((r) => !r.broken && r.state !== null);
  if (ok.length === 0) return;
  // updated_at straight from the last row's applied_at: a JS Date would drop its microseconds.
  await tx.query(
    `INSERT INTO products_rebuilt (id, name, price, stock, version, updated_at)
     SELECT u.id, u.name, u.price, u.stock, u.version, e.applied_at
       FROM unnest($1::int[], $2::text[], $3::numeric[], $4::int[], $5::bigint[]) AS u(id, name, price, stock, version)
       JOIN product_events e ON e.product_id = u.id AND e.version = u.version`,
    [
      ok.map((r) => r.id),
      ok.map((r) => r.state!.name),
      ok.map((r) => r.state!.price),
      ok.map((r) => r.state!.stock),
      ok.map((r) => r.state!.version),
    ],
  );
}

interface CompareRow {
  id: number;
  r_name: string | null;
  r_price: number | null;
  r_stock: number | null;
  r_version: number | null;
  r_updated_at: Date | null;
  l_name: string | null;
  l_price: number | null;
  l_stock: number | null;
  l_version: number | null;
  l_updated_at: Date | null;
}

async function compare(tx: Queryable): Promise<Difference[]> {
  const rows = await tx.query<CompareRow>(
    `SELECT COALESCE(r.id, l.id) AS id,
            r.name AS r_name, r.price AS r_price, r.stock AS r_stock, r.version AS r_version, r.updated_at AS r_updated_at,
            l.name AS l_name, l.price AS l_price, l.stock AS l_stock, l.version AS l_version, l.updated_at AS l_updated_at
       FROM products_rebuilt r FULL JOIN products l ON l.id = r.id
      WHERE (r.id, r.name, r.price, r.stock, r.version, r.updated_at)
            IS DISTINCT FROM (l.id, l.name, l.price, l.stock, l.version, l.updated_at)
      ORDER BY 1`,
  );
  const side = (
    name: string | null,
    price: number | null,
    stock: number | null,
    version: number | null,
    at: Date | null,
  ): ProductState | null =>
    name === null
      ? null
      : { name, price: cents(price!), stock: stock!, version: version!, updated_at: at!.toISOString() };
  return rows.map((r) => ({
    id: r.id,
    rebuilt: side(r.r_name, r.r_price, r.r_stock, r.r_version, r.r_updated_at),
    live: side(r.l_name, r.l_price, r.l_stock, r.l_version, r.l_updated_at),
  }));
}

/**
 * The rebuilt state into the live table, in place: ids, photos, the
 * applied-event keys and everything that references a product stay as they
 * are. Products the log does not know are left alone (and stay reported).
 */
async function swap(tx: Queryable): Promise<number> {
  const updated = await tx.query(
    `UPDATE products l SET name = r.name, price = r.price, stock = r.stock, version = r.version, updated_at = r.updated_at
       FROM products_rebuilt r
      WHERE l.id = r.id AND (l.name, l.price, l.stock, l.version, l.updated_at) IS DISTINCT FROM (r.name, r.price, r.stock, r.version, r.updated_at)
  RETURNING l.id`,
  );
  const inserted = await tx.query(
    `INSERT INTO products (id, name, price, stock, version, updated_at)
     SELECT id, name, price, stock, version, updated_at FROM products_rebuilt r
      WHERE NOT EXISTS (SELECT 1 FROM products l WHERE l.id = r.id)
  RETURNING id`,
  );
  if (inserted.length > 0) {
    // Explicit ids bypassed the sequence: move it past them so the next insert gets a free id.
    await tx.query(`SELECT setval(pg_get_serial_sequence('products', 'id'), (SELECT max(id) FROM products))`);
  }
  return updated.length + inserted.length;
}

/** A difference as one human line: `product 7: price live 44.99, rebuilt 19.99; version live 4, rebuilt 3`. */
export function describeDifference(d: Difference): string {
  if (d.live === null) return `product ${d.id}: in the log (version ${d.rebuilt!.version}) but not in the live table`;
  if (d.rebuilt === null)
    return `product ${d.id}: in the live table (version ${d.live.version}) but not rebuildable from the log`;
  const parts: string[] = [];
  for (const key of ['name', 'price', 'stock', 'version', 'updated_at'] as const) {
    if (d.live[key] !== d.rebuilt[key])
      parts.push(`${key} live ${JSON.stringify(d.live[key])}, rebuilt ${JSON.stringify(d.rebuilt[key])}`);
  }
  return `product ${d.id}: ${parts.join('; ')}`;
}
