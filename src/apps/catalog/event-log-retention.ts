import type { Logger } from '../../logger.js';
import type { Database } from '../../store/database.js';

/** Advisory lock key of compaction: one node of a cluster compacts at a time (others skip that round). */
export const COMPACT_LOCK_KEY = 0x68756265;

const DAY_MS = 86_400_000;
const DEFAULT_INTERVAL_MS = 3_600_000;

export interface CompactResult {
  /** Rows removed. */
  deleted: number;
  /** `changed` rows turned into a product's `baseline` (its oldest state kept). */
  rebased: number;
}

/**
 * Drop log rows applied before `before`, keeping for each product its newest
 * such row as the `baseline` the log then starts from. Every row holds the
 * whole resulting state, so the kept row is an exact snapshot: a rebuild
 * from the compacted log gives the same products, and state-at queries from
 * `before` on answer as before (earlier ones answer 404: not kept).
 *
 * One transaction: it commits whole or not at all; applies wait for it.
 * The event ids of the rows it removes (or turns into a baseline) stay in
 * `applied_events_archive`, so a redelivery of a compacted event is still a
 * duplicate. Resolves `{deleted: 0}` when another node holds the compaction lock.
 *
 * @example
 * await compactEventLog(db, new Date(Date.now() - 90 * 86_400_000));
 */
export async function compactEventLog(db: Database, before: Date): Promise<CompactResult> {
  return db.transaction(async (tx) => {
    const [{ locked }] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
      COMPACT_LOCK_KEY,
    ]);
    if (!locked) return { deleted: 0, rebased: 0 };
    // The log's event_id is the apply's exactly-once claim: the ids of the rows about to lose it
    // move to the archive first. Applies wait meanwhile (they take their snapshot after this lock
    // is released), so none can miss an id in both places; reads go on.
    await tx.query('LOCK TABLE product_events IN EXCLUSIVE MODE');
    await tx.query(
      `INSERT INTO applied_events_archive (event_id, product_id, occurred_at, applied_at)
       SELECT event_id, product_id, occurred_at, applied_at FROM product_events
        WHERE applied_at < $1 AND event_id IS NOT NULL
       ON CONFLICT (event_id) DO NOTHING`,
      [before],
    );
    const [row] = await tx.query<{ deleted: number; rebased: number }>(
      `WITH old AS (
         SELECT position, product_id, kind,
                row_number() OVER (PARTITION BY product_id ORDER BY version DESC) AS newest
           FROM product_events WHERE applied_at < $1
       ),
       named AS (
         SELECT DISTINCT ON (product_id) product_id, changes->>'name' AS name
           FROM product_events WHERE kind <> 'changed'
          ORDER BY product_id, version DESC
       ),
       rebased AS (
         UPDATE product_events e
            SET kind = 'baseline', event_id = NULL, occurred_at = NULL,
                changes = jsonb_build_object('name', COALESCE(n.name, p.name), 'price', e.price, 'stock', e.stock)
           FROM old o
           LEFT JOIN named n ON n.product_id = o.product_id
           LEFT JOIN products p ON p.id = o.product_id
          WHERE e.position = o.position AND o.newest = 1 AND o.kind = 'changed'
      RETURNING 1
       ),
       deleted AS (
         DELETE FROM product_events e USING old o WHERE e.position = o.position AND o.newest > 1
      RETURNING 1
       )
       SELECT (SELECT count(*) FROM deleted)::int AS deleted, (SELECT count(*) FROM rebased)::int AS rebased`,
      [before],
    );
    return row;
  });
}

export interface RetentionOptions {
  db: Database;
  /** Days of log kept; 0 keeps it forever (then nothing runs). */
  days: number;
  logger: Logger;
  /** How often to compact. */
  intervalMs?: number;
}

/**
 * Compact the log on a timer (`EVENT_LOG_RETENTION_DAYS`): once at start,
 * then every `intervalMs`. A failed round is logged and the next one tries
 * again. Returns the function that stops it (waiting for a round in progress).
 */
export function startEventLogRetention(options: RetentionOptions): () => Promise<void> {
  const { db, days, logger } = options;
  if (days <= 0) return async () => {};
  const log = logger.child({ component: 'event-log-retention' });
  let running: Promise<void> | null = null;
  const round = () => {
    if (running) return;
    const before = new Date(Date.now() - days * DAY_MS);
    running = compactEventLog(db, before)
      .then(
        (r) => {
          if (r.deleted > 0 || r.rebased > 0) log.info({ ...r, before: before.toISOString() }, 'event log compacted');
        },
        (err: unknown) => log.warn({ err }, 'event log compaction failed; next round retries'),
      )
      .finally(() => (running = null));
  };
  const timer = setInterval(round, options.intervalMs ?? DEFAULT_INTERVAL_MS);
  timer.unref();
  round();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
