import type { ApplyResult, ChangeApplier } from '../../src/apps/catalog/applier.js';
import type { ChangeEvent } from '../../src/apps/catalog/change-event.js';
import type { Publisher, PublishOptions } from '../../src/hub/publisher.js';

export interface TestProduct {
  id: number;
  price: number;
  stock: number;
  version: number;
}

/**
 * A real in-memory catalog with the repository's semantics: event_id
 * dedupe, unknown products, a version bump per applied change. It can be
 * taken "down" (throws like a lost database) and given per-product latency.
 */
export class MemoryCatalog implements ChangeApplier<TestProduct> {
  readonly products = new Map<number, TestProduct>();
  readonly applied = new Set<string>();
  /** event_id → the product it was applied to. */
  readonly appliedTo = new Map<string, number>();
  /** event_ids in the order they were committed. */
  readonly commits: ChangeEvent[] = [];
  down = false;
  /** Throw for these event ids even when up (a poison event). */
  readonly poison = new Set<string>();
  latencyMs: (productId: number) => number = () => 0;
  /** While set, applies wait for it (to hold deliveries unacked at a chosen moment). */
  hold: Promise<void> | null = null;
  calls = 0;
  concurrent = 0;
  maxConcurrent = 0;

  constructor(ids: number[]) {
    for (const id of ids) this.products.set(id, { id, price: 10, stock: 5, version: 1 });
  }

  async applyChange(event: ChangeEvent): Promise<ApplyResult<TestProduct>> {
    this.calls++;
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      const ms = this.latencyMs(event.product_id);
      await new Promise((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));
      if (this.hold) await this.hold;
      if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      if (this.poison.has(event.event_id)) throw new Error('numeric field overflow');
      // Like the repository: a duplicate answers with the product's current state.
      // (That is the product of the event first applied under this id, whatever product a copy names.)
      if (this.applied.has(event.event_id))
        return { status: 'duplicate', product: { ...this.products.get(this.appliedTo.get(event.event_id)!)! } };
      const p = this.products.get(event.product_id);
      if (!p) return { status: 'unknown_product' };
      this.applied.add(event.event_id);
      this.appliedTo.set(event.event_id, p.id);
      const next = { ...p, ...event.changes, version: p.version + 1 };
      this.products.set(p.id, next);
      this.commits.push(event);
      return { status: 'applied', product: { ...next } };
    } finally {
      this.concurrent--;
    }
  }
}

export class RecordingPublisher implements Publisher {
  readonly published: Array<{ channel: string; event: string; data: TestProduct }> = [];
  /** Highest version per channel and once-key, as the hub keeps it (publish-once). */
  private readonly once = new Map<string, number>();
  async publish(channel: string, event: string, data: unknown, options: PublishOptions = {}): Promise<string | null> {
    if (options.once) {
      const key = `${channel} ${options.once.key}`;
      if ((this.once.get(key) ?? -Infinity) >= options.once.version) return null;
      this.once.set(key, options.once.version);
    }
    this.published.push({ channel, event, data: data as TestProduct });
    return String(this.published.length);
  }
  on(channel: string) {
    return this.published.filter((p) => p.channel === channel);
  }
}
