/**
 * The event log claims event ids itself: an applied change writes one row
 * (its `product_events` row) instead of two (that row and an `applied_events`
 * row), which was most of what the log cost the apply statement.
 *
 * - `product_events_event_id` (unique) is what turns a redelivery into a no-op now.
 * - `applied_events_archive` (the former `applied_events` table) keeps the ids
 *   the log no longer holds: events applied before the log existed, and the
 *   events compaction removes or turns into a baseline (catalog/event-log-retention.ts
 *   moves their ids here in its own transaction). Ids the log holds are dropped
 *   from it, so the two never overlap.
 * - `applied_events` becomes a view over both: every event id ever applied,
 *   once, with its product and times, as before.
 * - `product_events_at` goes: a product's applied_at never decreases with its
 *   version (the apply keeps updated_at from going back), so the state at a
 *   moment is a binary search over the `(product_id, version)` key
 *   (catalog/event-log.ts), and an apply maintains one index fewer.
 */
export const version = 3;
export const name = 'event_log_claims';
export const sql = /* sql */ `
ALTER TABLE applied_events RENAME TO applied_events_archive;
ALTER INDEX applied_events_pkey RENAME TO applied_events_archive_pkey;
ALTER INDEX applied_events_applied_at RENAME TO applied_events_archive_applied_at;
DELETE FROM applied_events_archive a USING product_events e WHERE e.event_id = a.event_id;

CREATE UNIQUE INDEX product_events_event_id ON product_events (event_id);
DROP INDEX product_events_at;

CREATE VIEW applied_events AS
  SELECT event_id, product_id, occurred_at, applied_at FROM product_events WHERE event_id IS NOT NULL
  UNION ALL
  SELECT event_id, product_id, occurred_at, applied_at FROM applied_events_archive;
`;
