/**
 * A product on the wire (docs/protocol.md, "A product on the wire"). Sent as-is in HTTP answers and in
 * `product.updated` events.
 *
 * @example
 * { "id": 7, "name": "Cast Iron Skillet 26 cm", "price": 44.99, "stock": 12,
 *   "version": 3, "updated_at": "2025-01-01T12:00:00.000Z", "photo_url": "/api/products/7/photo" }
 */
export interface Product {
  id: number;
  name: string;
  /** Decimal with 2 places (NUMERIC(10,2) in the database). */
  price: number;
  /** Integer ≥ 0. */
  stock: number;
  /** Starts at 1, +1 per applied change. */
  version: number;
  /** ISO-8601, UTC. */
  updated_at: string;
  photo_url: string;
}

/** A product row as the store drivers return it (see store/database.ts for the types). */
export interface ProductRow {
  id: number;
  name: string;
  price: number;
  stock: number;
  version: number;
  updated_at: Date;
}

/** The columns `toProduct` needs, for SELECT and RETURNING lists. */
export const PRODUCT_COLUMNS = 'id, name, price, stock, version, updated_at';

export function photoUrl(id: number): string {
  return `/api/products/${id}/photo`;
}

export function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    // NUMERIC(10,2) already has 2 places; rounding guards against float noise from arithmetic upstream.
    price: Math.round(row.price * 100) / 100,
    stock: row.stock,
    version: row.version,
    updated_at: row.updated_at.toISOString(),
    photo_url: photoUrl(row.id),
  };
}

/** JSON schema of `Product`, for Fastify's response serializer (compiled once). */
export const productJsonSchema = {
  type: 'object',
  required: ['id', 'name', 'price', 'stock', 'version', 'updated_at', 'photo_url'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    price: { type: 'number' },
    stock: { type: 'integer' },
    version: { type: 'integer' },
    updated_at: { type: 'string' },
    photo_url: { type: 'string' },
  },
} as const;
