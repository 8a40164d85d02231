import type { ProductChanges } from './change-event.js';

/** Generated prices stay in a range a shop would show, however long the walk runs. */
export const PRICE_MIN = 0.5;
export const PRICE_MAX = 999.99;
export const STOCK_MAX = 1000;

interface Remembered {
  price: number;
  stock: number;
}

/**
 * Plausible product changes: a random walk per product (price ±5 %, stock ±5)
 * from a remembered state, so a dashboard shows prices drifting rather than
 * jumping. The generator does not read the database, so a product's first
 * state here is random; the walk starts from there.
 */
export class RandomChanges {
  private readonly state = new Map<number, Remembered>();
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  next(productId: number): ProductChanges {
    const s = this.state.get(productId) ?? this.initial();
    const roll = this.random();
    const changes: ProductChanges = {};
    // 45 % price only, 30 % stock only, 25 % both: every event changes something.
    if (roll < 0.45 || roll >= 0.75) {
      s.price = clampPrice(s.price * (1 + (this.random() - 0.5) * 0.1));
      changes.price = s.price;
    }
    if (roll >= 0.45) {
      s.stock = Math.min(STOCK_MAX, Math.max(0, s.stock + Math.round((this.random() - 0.5) * 10)));
      changes.stock = s.stock;
    }
    this.state.set(productId, s);
    return changes;
  }

  /** Drop state of products that no longer exist, so memory follows the catalog. */
  retain(productIds: readonly number[]): void {
    const keep = new Set(productIds);
    for (const id of this.state.keys()) if (!keep.has(id)) this.state.delete(id);
  }

  private initial(): Remembered {
    return { price: clampPrice(5 + this.random() * 195), stock: Math.floor(this.random() * 101) };
  }
}

/** Round to cents and keep within [PRICE_MIN, PRICE_MAX]. */
export function clampPrice(p: number): number {
  const cents = Math.round(p * 100) / 100;
  return Math.min(PRICE_MAX, Math.max(PRICE_MIN, cents));
}
