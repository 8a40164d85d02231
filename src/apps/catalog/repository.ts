import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import { sqlState, type Database } from '../../store/database.js';
import type { ChangeSource } from './change-event.js';
import { EventLog } from './event-log.js';
import { PRODUCT_COLUMNS, toProduct, type Product, type ProductRow } from './product.js';

/** A product change event as carried by the broker (docs/protocol.md, "Change events"). */
export interface ProductChange {
  event_id: string;
  product_id: number;
  changes: { price?: number; stock?: number };
  occurred_at: string;
  /** Provenance for the event log (broker message id, producer); absent when unknown. */
  source?: ChangeSource;
}

export type ApplyResult =
  | { status: 'applied'; product: Product }
  /** `product`: the current row, so a redelivery can re-announce a change whose publish was lost. */
  | { status: 'duplicate'; product: Product }
  | { status: 'unknown_product' };

export interface PhotoMeta {
  contentType: string;
  etag: string;
  /** products.photo_version: changes whenever the bytes do. */
  version: number;
}

export interface Photo extends PhotoMeta {
  bytes: Buffer;
}

/**
 * A change the database refuses for good (out of range, malformed): retrying
 * cannot help, so the consumer dead-letters it. Transient failures (DB down)
 * surface as the driver's own errors instead.
 */
export class InvalidChangeError extends HubcastError {
  /** Read by the consumer's `isPermanentApplyError` (duck-typed, no import needed). */
  readonly permanent = true;

  constructor(message: string) {
    super(ErrorCode.badRequest, message, 400);
    this.name = 'InvalidChangeError';
  }
}

const INT4_MAX = 2_147_483_647;
/** NUMERIC(10,2) holds < 10^8. */
const PRICE_MAX = 99_999_999.99;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** SQLSTATEs meaning "this value can never be stored": check_violation, numeric_value_out_of_range, invalid_text_representation. */
const PERMANENT_STATES = new Set(['23514', '22003', '22P02', '22007', '22008']);
const UNIQUE_VIOLATION = '23505';

/** True for an id the products table can hold (serial = int4, starting at 1). */
export function isProductId(id: unknown): id is number {
  return Number.isSafeInteger(id) && (id as number) >= 1 && (id as number) <= INT4_MAX;
}

/** The catalog's only door to SQL. */
export class CatalogRepository {
  private readonly db: Database;
  /** The event log's reads (its writes are the apply statement below and the seed). */
  readonly log: EventLog;

  constructor(db: Database) {
    this.db = db;
    this.log = new EventLog(db);
  }

  async list(): Promise<Product[]> {
    const rows = await this.db.query<ProductRow>(`SELECT ${PRODUCT_COLUMNS} FROM products ORDER BY id`);
    return rows.map(toProduct);
  }

  async get(id: number): Promise<Product | null> {
    if (!isProductId(id)) return null;
    const [row] = await this.db.query<ProductRow>(`SELECT ${PRODUCT_COLUMNS} FROM products WHERE id = $1`, [id]);
    return row ? toProduct(row) : null;
  }

  async productIds(): Promise<number[]> {
    const rows = await this.db.query<{ id: number }>('SELECT id FROM products ORDER BY id');
    return rows.map((r) => r.id);
  }

  /** Everything about a photo but its bytes: cheap, for cache keys and conditional GETs. */
  async photoMeta(id: number): Promise<PhotoMeta | null> {
    if (!isProductId(id)) return null;
    const [row] = await this.db.query<{ content_type: string; etag: string; photo_version: number }>(
      `SELECT ph.content_type, ph.etag, p.photo_version
         FROM product_photos ph JOIN products p ON p.id = ph.product_id
        WHERE ph.product_id = $1`,
      [id],
    );
    return row ? { contentType: row.content_type, etag: row.etag, version: row.photo_version } : null;
  }

  async getPhoto(id: number): Promise<Photo | null> {
    if (!isProductId(id)) return null;
    const [row] = await this.db.query<{ bytes: Buffer; content_type: string; etag: string; photo_version: number }>(
      `SELECT ph.bytes, ph.content_type, ph.etag, p.photo_version
         FROM product_photos ph JOIN products p ON p.id = ph.product_id
        WHERE ph.product_id = $1`,
      [id],
    );
    return row ? { bytes: row.bytes, contentType: row.content_type, etag: row.etag, version: row.photo_version } : null;
  }

  /**
   * Apply one change event exactly once, in one transaction: update the
   * product, bump its version by 1 and log the event with the state it
   * produced (the log's unique event_id turns a redelivery into a no-op).
   * Resolves with the committed row, so callers publish only after commit;
   * a duplicate resolves with the current row.
   *
   * @throws InvalidChangeError when the change breaks a rule (price ≤ 0, stock < 0, bad id …)
   *
   * @example
   * const r = await repo.applyChange({ event_id: randomUUID(), product_id: 3, changes: { stock: 9 }, occurred_at: new Date().toISOString() });
   * if (r.status === 'applied') await publisher.publish(`product:${r.product.id}`, 'product.updated', r.product);
   */
  async applyChange(event: ProductChange): Promise<ApplyResult> {
    const [result] = await this.applyChanges([event]);
    if (result instanceof Error) throw result;
    return result;
  }

  /**
   * `applyChange` for several events in one round trip: one statement (one
   * transaction) per group of events with distinct products and event ids,
   * groups taken in array order, so events of one product apply in the
   * order given. One result per event, in order; an event's failure is its
   * result (an `InvalidChangeError` for a change that can never be stored,
   * the driver's error when the database could not tell), never the others'.
   * A group refused as a whole for one bad value is retried event by event,
   * so only that event fails.
   *
   * @example
   * const [a, b] = await repo.applyChanges([change1, change2]);
   * if (!(a instanceof Error) && a.status === 'applied') publish(a.product);
   */
  async applyChanges(events: readonly ProductChange[]): Promise<Array<ApplyResult | Error>> {
    const results: Array<ApplyResult | Error | undefined> = new Array(events.length);
    const valid: number[] = [];
    for (let i = 0; i < events.length; i++) {
      try {
        validate(events[i]);
        valid.push(i);
      } catch (err) {
        results[i] = err as Error;
      }
    }
    for (const group of distinctGroups(events, valid)) {
      try {
        const out = await this.applyGroup(group.map((i) => events[i]));
        for (let k = 0; k < group.length; k++) results[group[k]] = out[k];
      } catch (err) {
        const failure = asApplyError(err);
        if (failure instanceof InvalidChangeError && group.length > 1) {
          // The statement rolled back whole: find the culprit by applying one at a time.
          for (const i of group) results[i] = await this.applyChanges([events[i]]).then(([r]) => r);
        } else {
          for (const i of group) results[i] = failure;
        }
      }
    }
    return results as Array<ApplyResult | Error>;
  }

  /** Events of distinct products and event ids: one statement. */
  private async applyGroup(events: readonly ProductChange[], retried = false): Promise<Array<ApplyResult | Error>> {
    // One statement, one round trip, one row written per applied event: its
    // event-log row, whose unique event_id is the exactly-once claim (the
    // log is the record of applied events; applied_events_archive keeps the
    // ids the log no longer holds). The update skips events already applied
    // (in the log or the archive) and unknown products (an answer,
    // unknown_product, not an error); the log rows are built from the rows
    // the update returns, so they hold the committed state. A copy of an
    // event that a concurrent statement commits after this one's snapshot
    // trips the unique index: the statement rolls back whole and runs once
    // more, and then the event is a duplicate. Log rows go in event_id
    // order, so two statements holding copies of the same ids wait for each
    // other instead of deadlocking; input goes in product order, so
    // statements lock product rows in the same order. Distinct products:
    // UPDATE … FROM would apply only one of two rows joining one product.
    const input = [...events].sort((a, b) => a.product_id - b.product_id);
    let rows: Array<ProductRow & { applied_event_id: string }>;
    try {
      rows = await this.db.query<ProductRow & { applied_event_id: string }>(
        `WITH input AS (
           SELECT * FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::numeric[], $5::int[], $6::text[], $7::text[])
               AS t(in_event_id, in_product_id, in_occurred_at, in_price, in_stock, in_message_id, in_producer)
         ),
         updated AS (
           UPDATE products
              SET price = COALESCE(in_price, price),
                  stock = COALESCE(in_stock, stock),
                  version = version + 1,
                  -- Never back in time: a transaction that started earlier can commit a later
                  -- version; the event log's state-at search relies on applied_at following versions.
                  updated_at = GREATEST(now(), updated_at)
             FROM input
            WHERE id = in_product_id
              AND NOT EXISTS (SELECT 1 FROM product_events WHERE event_id = in_event_id)
              AND NOT EXISTS (SELECT 1 FROM applied_events_archive WHERE event_id = in_event_id)
        RETURNING in_event_id, in_occurred_at, in_price, in_stock, in_message_id, in_producer, ${PRODUCT_COLUMNS}
         ),
         logged AS (
           INSERT INTO product_events (product_id, version, kind, event_id, changes, price, stock, occurred_at, applied_at, message_id, producer)
           SELECT id, version, 'changed', in_event_id, jsonb_strip_nulls(jsonb_build_object('price', in_price, 'stock', in_stock)),
                  price, stock, in_occurred_at, updated_at, in_message_id, in_producer
             FROM updated
            ORDER BY in_event_id
         )
       SELECT in_event_id::text AS applied_event_id, ${PRODUCT_COLUMNS} FROM updated`,
        [
          input.map((e) => e.event_id),
          input.map((e) => e.product_id),
          input.map((e) => e.occurred_at),
          input.map((e) => e.changes.price ?? null),
          input.map((e) => e.changes.stock ?? null),
          input.map((e) => e.source?.message_id ?? null),
          input.map((e) => e.source?.producer ?? null),
        ],
      );
    } catch (err) {
      // A concurrent copy committed first (unique_violation): nothing was written; now it is visible.
      if (!retried && sqlState(err) === UNIQUE_VIOLATION) return this.applyGroup(events, true);
      throw err;
    }
    const applied = new Map(rows.map((r) => [r.applied_event_id.toLowerCase(), r]));
    const rest = events.filter((e) => !applied.has(e.event_id.toLowerCase()));
    let current: Map<string, ProductRow> | Error = new Map();
    if (rest.length > 0) {
      // Applied before: answer with the product as it is now (the applied event's product, not
      // the one a copy names). No row: the event was never applied, the product is unknown.
      // A failure here is the failure of these events only; the others are committed.
      current = await this.db
        .query<ProductRow & { applied_event_id: string }>(
          `SELECT a.event_id::text AS applied_event_id, ${PRODUCT_COLUMNS.split(', ')
            .map((c) => `p.${c}`)
            .join(', ')}
             FROM applied_events a JOIN products p ON p.id = a.product_id
            WHERE a.event_id = ANY($1::uuid[])`,
          [rest.map((e) => e.event_id)],
        )
        .then((found) => new Map(found.map((r) => [r.applied_event_id.toLowerCase(), r])), asApplyError);
    }
    return events.map((e): ApplyResult | Error => {
      const id = e.event_id.toLowerCase();
      const row = applied.get(id);
      if (row !== undefined) return { status: 'applied', product: toProduct(row) };
      if (current instanceof Error) return current;
      const now = current.get(id);
      return now !== undefined ? { status: 'duplicate', product: toProduct(now) } : { status: 'unknown_product' };
    });
  }
}

/** A database error for the caller: permanent ones become InvalidChangeError. */
function asApplyError(err: unknown): Error {
  const state = sqlState(err);
  if (state && PERMANENT_STATES.has(state))
    return new InvalidChangeError(`change rejected by the database: ${(err as Error).message}`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Split `indexes` (into `events`) into consecutive groups without a repeated
 * product or event id; an event that repeats one starts the next group, so
 * order per product holds.
 */
function distinctGroups(events: readonly ProductChange[], indexes: readonly number[]): number[][] {
  const groups: number[][] = [];
  let group: number[] = [];
  const products = new Set<number>();
  const ids = new Set<string>();
  for (const i of indexes) {
    const { product_id, event_id } = events[i];
    const id = event_id.toLowerCase();
    if (products.has(product_id) || ids.has(id)) {
      groups.push(group);
      group = [];
      products.clear();
      ids.clear();
    }
    group.push(i);
    products.add(product_id);
    ids.add(id);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * The same rules the SQL constraints enforce, checked first so a bad event
 * costs no transaction and gets a precise message. The constraints stay the
 * last word for any other writer.
 */
function validate(e: ProductChange): void {
  const fail = (msg: string): never => {
    throw new InvalidChangeError(msg);
  };
  if (typeof e.event_id !== 'string' || !UUID.test(e.event_id)) fail('event_id: expected a UUID');
  if (!isProductId(e.product_id)) fail('product_id: expected a positive integer');
  if (typeof e.occurred_at !== 'string' || Number.isNaN(Date.parse(e.occurred_at))) {
    fail('occurred_at: expected an ISO-8601 timestamp');
  }
  const changes = e.changes ?? {};
  const { price, stock } = changes;
  if (price === undefined && stock === undefined) fail('changes: expected price and/or stock');
  if (
    price !== undefined &&
    (typeof price !== 'number' || !Number.isFinite(price) || price <= 0 || price > PRICE_MAX)
  ) {
    fail(`changes.price: expected a number > 0 and ≤ ${PRICE_MAX}`);
  }
  if (price !== undefined && Math.round(price * 100) / 100 <= 0) fail('changes.price: rounds to 0.00');
  if (stock !== undefined && (!Number.isSafeInteger(stock) || stock < 0 || stock > INT4_MAX)) {
    fail('changes.stock: expected an integer ≥ 0');
  }
}
