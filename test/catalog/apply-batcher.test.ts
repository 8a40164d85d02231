import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplyBatcher, type BatchApplier } from '../../src/apps/catalog/apply-batcher.js';
import type { ApplyResult } from '../../src/apps/catalog/applier.js';
import { makeChangeEvent, type ChangeEvent } from '../../src/apps/catalog/change-event.js';

/** Records each applyChanges call; answers 'applied' with the event's product id, or what `answer` says. */
class FakeBatch implements BatchApplier<{ id: number }> {
  readonly calls: ChangeEvent[][] = [];
  answer: (e: ChangeEvent) => ApplyResult<{ id: number }> | Error = (e) => ({
    status: 'applied',
    product: { id: e.product_id },
  });
  /** While set, calls wait for it. */
  hold: Promise<void> | null = null;
  fail: Error | null = null;
  async applyChanges(events: readonly ChangeEvent[]): Promise<Array<ApplyResult<{ id: number }> | Error>> {
    this.calls.push([...events]);
    if (this.hold) await this.hold;
    if (this.fail) throw this.fail;
    return events.map((e) => this.answer(e));
  }
}

const ev = (productId: number) => makeChangeEvent({ productId, changes: { stock: 1 } });

describe('ApplyBatcher', () => {
  it('applies the events asked for in one turn in one call, and answers each with its own result', async () => {
    const target = new FakeBatch();
    const bad = new Error('numeric field overflow');
    target.answer = (e) =>
      e.product_id === 2
        ? bad
        : e.product_id === 3
          ? { status: 'unknown_product' }
          : { status: 'applied', product: { id: e.product_id } };
    const batcher = new ApplyBatcher(target);
    const events = [ev(1), ev(2), ev(3)];
    const settled = await Promise.allSettled(events.map((e) => batcher.applyChange(e)));
    assert.equal(target.calls.length, 1);
    assert.deepEqual(target.calls[0], events);
    assert.deepEqual(settled, [
      { status: 'fulfilled', value: { status: 'applied', product: { id: 1 } } },
      { status: 'rejected', reason: bad },
      { status: 'fulfilled', value: { status: 'unknown_product' } },
    ]);
  });

  it('while maxConcurrent batches run, newcomers wait and go together in the next', async () => {
    const target = new FakeBatch();
    let release!: () => void;
    target.hold = new Promise((r) => (release = r));
    const batcher = new ApplyBatcher(target, { maxConcurrent: 1 });
    const first = batcher.applyChange(ev(1));
    await new Promise((r) => setImmediate(r));
    const later = [ev(2), ev(3)].map((e) => batcher.applyChange(e));
    await new Promise((r) => setImmediate(r));
    const more = batcher.applyChange(ev(4));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      target.calls.map((c) => c.map((e) => e.product_id)),
      [[1]],
      'nothing else starts while one batch runs',
    );
    target.hold = null;
    release();
    await Promise.all([first, ...later, more]);
    assert.deepEqual(
      target.calls.map((c) => c.map((e) => e.product_id)),
      [[1], [2, 3, 4]],
    );
  });

  it('splits at maxBatch, running up to maxConcurrent batches at once', async () => {
    const target = new FakeBatch();
    const batcher = new ApplyBatcher(target, { maxConcurrent: 2, maxBatch: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((p) => batcher.applyChange(ev(p))));
    assert.deepEqual(
      target.calls.map((c) => c.map((e) => e.product_id)),
      [[1, 2], [3, 4], [5]],
    );
  });

  it('a batch that fails as a whole rejects each of its events with the error; the next batch runs', async () => {
    const target = new FakeBatch();
    const down = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    target.fail = down;
    const batcher = new ApplyBatcher(target);
    const settled = await Promise.allSettled([batcher.applyChange(ev(1)), batcher.applyChange(ev(2))]);
    assert.deepEqual(settled, [
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);
    target.fail = null;
    assert.deepEqual(await batcher.applyChange(ev(3)), { status: 'applied', product: { id: 3 } });
  });

  it('refuses nonsensical options at construction', () => {
    assert.throws(() => new ApplyBatcher(new FakeBatch(), { maxConcurrent: 0 }), RangeError);
    assert.throws(() => new ApplyBatcher(new FakeBatch(), { maxBatch: 1.5 }), RangeError);
  });
});
