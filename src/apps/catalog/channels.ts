/** Every change, as `product.updated`. */
export const CATALOG_CHANNEL = 'products';

/** One product's changes (`product:*` as a pattern). */
export function productChannel(id: number | '*'): string {
  return `product:${id}`;
}

/** Event names the catalog publishes (docs/protocol.md, "The product and the event pipeline"). */
export const CatalogEvent = {
  productUpdated: 'product.updated',
} as const;
