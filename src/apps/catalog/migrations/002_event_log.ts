/**
 * The event log (docs/event-log.md): one row per state a product has been in.
 * Every row carries the whole resulting state (price, stock), so a row is a
 * snapshot: the state at a version or a moment is one index lookup, and
 * compaction can drop old rows without losing what later rows mean.
 *
 * - `created`: the product's first state (seeding), `changes` = {name, price, stock}.
 * - `baseline`: the state adopted when the log started (products that existed
 *   before this migration) or when older rows were compacted away; same shape.
 * - `changed`: one applied change event, `changes` as the producer sent them.
 *
 * Written by the same statement that applies the change (catalog/repository.ts),
 * so a row exists exactly when the change is committed. `tx` is the writing
 * transaction: the catalog-wide feed serves rows in (tx, position) order and
 * only from transactions older than every one still running, so a follower
 * never skips a row that commits late.
 */
export const version = 2;
export const name = 'event_log';
export const sql = /* sql */ `
CREATE TABLE product_events (
  position    bigserial PRIMARY KEY,
  tx          xid8 NOT NULL DEFAULT pg_current_xact_id(),
  product_id  integer NOT NULL,
  version     bigint NOT NULL CHECK (version >= 1),
  kind        text NOT NULL CHECK (kind IN ('created', 'baseline', 'changed')),
  event_id    uuid,
  changes     jsonb NOT NULL,
  price       numeric(10, 2) NOT NULL CHECK (price > 0),
  stock       integer NOT NULL CHECK (stock >= 0),
  occurred_at timestamptz,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  -- provenance: the broker's message-id and app-id properties, when the producer set them
  message_id  text,
  producer    text,
  CONSTRAINT product_events_one_row_per_version UNIQUE (product_id, version),
  CONSTRAINT product_events_changed_has_event CHECK ((kind = 'changed') = (event_id IS NOT NULL))
);

CREATE INDEX product_events_feed ON product_events (tx, position);
CREATE INDEX product_events_at ON product_events (product_id, applied_at);
-- The rare rows that hold a whole state (names for compaction); partial, so applies never touch it.
CREATE INDEX product_events_states ON product_events (product_id, version) WHERE kind <> 'changed';

-- Products that exist already start their log with their current state.
INSERT INTO product_events (product_id, version, kind, changes, price, stock, applied_at)
SELECT id, version, 'baseline', jsonb_build_object('name', name, 'price', price, 'stock', stock), price, stock, updated_at
  FROM products
 ORDER BY id;
`;
