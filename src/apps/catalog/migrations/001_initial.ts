/**
 * The catalog schema. Constraints repeat the wire rules (price > 0, stock ≥ 0)
 * so no code path — generator, a foreign producer, a manual UPDATE — can store
 * a product the protocol says cannot exist.
 */
export const version = 1;
export const name = 'initial';
export const sql = /* sql */ `
CREATE TABLE products (
  id            serial PRIMARY KEY,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  price         numeric(10, 2) NOT NULL CONSTRAINT products_price_positive CHECK (price > 0),
  stock         integer NOT NULL CONSTRAINT products_stock_non_negative CHECK (stock >= 0),
  version       bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- bumped whenever the photo bytes change: part of the photo cache key
  photo_version integer NOT NULL DEFAULT 1 CHECK (photo_version >= 1)
);

CREATE TABLE product_photos (
  product_id   integer PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
  bytes        bytea NOT NULL,
  content_type text NOT NULL,
  etag         text NOT NULL
);

-- One row per applied change event: the primary key is what makes a
-- redelivered or duplicated event_id a no-op.
CREATE TABLE applied_events (
  event_id    uuid PRIMARY KEY,
  product_id  integer NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  occurred_at timestamptz,
  applied_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX applied_events_applied_at ON applied_events (applied_at);
`;
