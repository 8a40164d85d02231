import { notFound } from '../../errors.js';
import type { Queryable } from '../../store/database.js';
import { toProduct, type Product, type ProductRow } from './product.js';

/**
 * One row of the event log (docs/event-log.md) as it goes on the wire.
 *
 * @example
 * { "position": 812, "product_id": 7, "event_id": "9b1d…", "kind": "changed", "version": 4,
 *   "changes": { "price": 19.99 }, "price": 19.99, "stock": 12,
 *   "occurred_at": "2026-12-07T12:00:00.000Z", "applied_at": "2026-12-07T12:00:00.041Z",
 *   "message_id": null, "producer": "hubcast" }
 */
export interface LoggedEvent {
  position: number;
  product_id: number;
  /** null for `created` and `baseline` rows: they are states, not change events. */
  event_id: string | null;
  kind: 'created' | 'baseline' | 'changed';
  version: number;
  /** A change event's `changes`; for `created`/`baseline`, the whole state `{name, price, stock}`. */
  changes: Record<string, unknown>;
  price: number;
  stock: number;
  occurred_at: string | null;
  applied_at: string;
  message_id: string | null;
  producer: string | null;
}

interface EventRow {
  position: number;
  product_id: number;
  event_id: string | null;
  kind: LoggedEvent['kind'];
  version: number;
  changes: Record<string, unknown>;
  price: number;
  stock: number;
  occurred_at: Date | null;
  applied_at: Date;
  message_id: string | null;
  producer: string | null;
}

const EVENT_COLUMNS =
  'position, product_id, event_id::text AS event_id, kind, version, changes, price, stock, occurred_at, applied_at, message_id, producer';

/** Page sizes of the read API (docs/protocol.md): 1–1000, 100 unless asked. */
export const EVENTS_LIMIT_MAX = 1000;
export const EVENTS_LIMIT_DEFAULT = 100;

/**
 * Reads of the event log. Writes happen elsewhere on purpose: a `changed` row
 * only in the repository's apply statement, `created` rows in the seed
 * transaction, so no code path can log a change that did not commit.
 *
 * Every row holds the product's whole resulting state, so the state at a
 * version or a moment is one indexed row, never a replay.
 */
export class EventLog {
  private readonly db: Queryable;

  constructor(db: Queryable) {
    this.db = db;
  }

  /**
   * A product's log rows after `afterVersion`, in version order.
   *
   * @throws HubcastError `not_found` when the product has no log at all
   * @example
   * const page = await log.productEvents(7, 0, 100); // from the start
   */
  async productEvents(productId: number, afterVersion: number, limit: number): Promise<LoggedEvent[]> {
    const rows = await this.db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM product_events
        WHERE product_id = $1 AND version > $2
        ORDER BY version LIMIT $3`,
      [productId, afterVersion, limit],
    );
    if (rows.length === 0 && !(await this.hasLog(productId))) throw notFound(`product ${productId} not found`);
    return rows.map(toEvent);
  }

  /**
   * The product as it was at `version`.
   *
   * @throws HubcastError `not_found` when the product or that version is not in the log
   */
  async productAtVersion(productId: number, version: number): Promise<Product> {
    const [row] = await this.db.query<ProductRow>(`${STATE_SELECT} WHERE e.product_id = $1 AND e.version = $2`, [
      productId,
      version,
    ]);
    if (row) return toProduct(row);
    const span = await this.span(productId);
    if (span === null) throw notFound(`product ${productId} not found`);
    if (version > span.last)
      throw notFound(`product ${productId} has no version ${version} (its latest is ${span.last})`);
    throw notFound(`the log of product ${productId} starts at version ${span.first}; version ${version} is not kept`);
  }

  /**
   * The product as it was at the moment `at` (the last state applied at or before it).
   *
   * @throws HubcastError `not_found` when the product did not exist then (or its log starts later)
   */
  async productAt(productId: number, at: Date): Promise<Product> {
    // A product's applied_at never decreases with its version (the apply keeps updated_at from going
    // back), so the answer is the last version before the first one applied after `at`: a binary
    // search over the (product_id, version) key, ~log2(versions) index probes, no index of its own
    // to maintain on every apply. `version >= mid … LIMIT 1` steps over gaps. Times on the wire have
    // millisecond resolution, the column microseconds: `at` covers its whole millisecond, so asking
    // at a product's `updated_at` answers that very state.
    const [row] = await this.db.query<ProductRow>(
      `WITH RECURSIVE search(lo, hi) AS (
         SELECT min(version), max(version) + 1 FROM product_events WHERE product_id = $1
         UNION ALL
         -- No version in [mid, hi) (a gap): the answer is below mid.
         SELECT CASE WHEN probe.version IS NULL OR probe.later THEN s.lo ELSE probe.version + 1 END,
                CASE WHEN probe.version IS NULL THEN (s.lo + s.hi) / 2 WHEN probe.later THEN probe.version ELSE s.hi END
           FROM search s
           LEFT JOIN LATERAL (
             SELECT version, applied_at >= $2::timestamptz + interval '1 millisecond' AS later
               FROM product_events
              WHERE product_id = $1 AND version >= (s.lo + s.hi) / 2 AND version < s.hi
              ORDER BY version LIMIT 1
           ) probe ON true
          WHERE s.lo < s.hi
       )
       ${STATE_SELECT} WHERE e.product_id = $1 AND e.version < (SELECT max(lo) FROM search)
        ORDER BY e.version DESC LIMIT 1`,
      [productId, at],
    );
    if (row) return toProduct(row);
    const span = await this.span(productId);
    if (span === null) throw notFound(`product ${productId} not found`);
    const since = span.firstAt.toISOString();
    throw notFound(
      span.firstKind === 'created'
        ? `product ${productId} did not exist at ${at.toISOString()} (created ${since})`
        : `the log of product ${productId} starts at ${since}; its state at ${at.toISOString()} is not kept`,
    );
  }

  /**
   * The catalog-wide feed: rows after `afterPosition` (0: from the start) in
   * the order they became final. Only rows of transactions older than every
   * transaction still running are served, so a row that commits late can
   * never appear behind a position a follower has already passed. Positions
   * are unique but not increasing along the feed: pass the last one back as is.
   *
   * @throws HubcastError `not_found` when `afterPosition` is not in the log (never written, or compacted away)
   * @example
   * let after = 0;
   * for (;;) { const page = await log.feed(after, 1000); if (!page.length) break; after = page.at(-1)!.position; }
   */
  async feed(afterPosition: number, limit: number): Promise<LoggedEvent[]> {
    const stable = 'tx < pg_snapshot_xmin(pg_current_snapshot())';
    if (afterPosition === 0) {
      const rows = await this.db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM product_events WHERE ${stable} ORDER BY tx, position LIMIT $1`,
        [limit],
      );
      return rows.map(toEvent);
    }
    // LATERAL: the cursor's (tx, position) reaches the inner scan as parameters, so the feed index
    // starts right after it; a plain join filters from the start of the log (O(position) per page).
    const rows = await this.db.query<EventRow>(
      `SELECT e.* FROM (SELECT tx AS c_tx, position AS c_position FROM product_events WHERE position = $1) cursor
         CROSS JOIN LATERAL (
           SELECT ${EVENT_COLUMNS} FROM product_events
            WHERE (tx, position) > (cursor.c_tx, cursor.c_position) AND ${stable}
            ORDER BY tx, position LIMIT $2
         ) e`,
      [afterPosition, limit],
    );
    if (rows.length === 0) {
      const [found] = await this.db.query('SELECT 1 FROM product_events WHERE position = $1', [afterPosition]);
      if (!found)
        throw notFound(
          `position ${afterPosition} is not in the event log (never written, or compacted away); start again from 0`,
        );
    }
    return rows.map(toEvent);
  }

  private async hasLog(productId: number): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM product_events WHERE product_id = $1 LIMIT 1', [productId])).length > 0;
  }

  /** The first and last version in a product's log, or null when it has none. */
  private async span(
    productId: number,
  ): Promise<{ first: number; last: number; firstAt: Date; firstKind: string } | null> {
    const [row] = await this.db.query<{ first: number; last: number; first_at: Date; first_kind: string }>(
      `SELECT f.version AS first, f.applied_at AS first_at, f.kind AS first_kind,
              (SELECT max(version) FROM product_events WHERE product_id = $1) AS last
         FROM product_events f WHERE f.product_id = $1 ORDER BY f.version LIMIT 1`,
      [productId],
    );
    return row ? { first: row.first, last: row.last, firstAt: row.first_at, firstKind: row.first_kind } : null;
  }
}

// The name is not an event's business (changes carry price and stock only): the live one.
const STATE_SELECT = `SELECT e.product_id AS id, p.name, e.price, e.stock, e.version, e.applied_at AS updated_at
  FROM product_events e JOIN products p ON p.id = e.product_id`;

function toEvent(row: EventRow): LoggedEvent {
  return {
    position: row.position,
    product_id: row.product_id,
    event_id: row.event_id,
    kind: row.kind,
    version: row.version,
    changes: row.changes,
    price: Math.round(row.price * 100) / 100,
    stock: row.stock,
    occurred_at: row.occurred_at ? row.occurred_at.toISOString() : null,
    applied_at: row.applied_at.toISOString(),
    message_id: row.message_id,
    producer: row.producer,
  };
}
