import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PRODUCT_CHANGED, type Broker } from '../../src/broker/broker.js';
import { BrokerErrorCode } from '../../src/broker/errors.js';
import { Inbox } from './inbox.js';

export interface DeadLetterView {
  body: string;
  reason: string;
  routingKey: string;
  deadLetteredAt: string;
}

/** One fresh, isolated broker world per test (a new vhost for RabbitMQ). */
export interface BrokerHarness {
  broker: Broker;
  /** Everything in `catalog.dead`, oldest first. */
  deadLetters(): Promise<DeadLetterView[]>;
  cleanup(): Promise<void>;
}

const text = (s: string) => Buffer.from(s);

/**
 * The behaviour every broker driver must share (STYLE habit 11): the memory
 * driver and RabbitMQ run these same tests.
 *
 * "Gone from the queue" is checked without sleeping: after settling, a new
 * consumer's first delivery must be a sentinel published afterwards; an
 * unsettled or requeued message would come before it.
 */
export function runBrokerSuite(name: string, make: () => Promise<BrokerHarness>): void {
  describe(`broker suite: ${name}`, () => {
    let h: BrokerHarness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    async function assertQueueHoldsOnly(sentinel: string): Promise<void> {
      await h.broker.publish(PRODUCT_CHANGED, text(sentinel));
      const inbox = new Inbox();
      const c = await h.broker.consume(inbox.handler, { prefetch: 10 });
      const first = await inbox.next();
      assert.equal(first.body.toString(), sentinel, 'a settled message came back before the sentinel');
      assert.equal(first.redelivered, false);
      first.ack();
      await c.cancel();
    }

    it('is ready once created', () => {
      assert.equal(h.broker.isReady(), true);
    });

    it('publishes, consumes in order and acks', async () => {
      const inbox = new Inbox();
      const c = await h.broker.consume(inbox.handler, { prefetch: 10 });
      for (const m of ['a', 'b', 'c']) await h.broker.publish(PRODUCT_CHANGED, text(m));
      const got = await inbox.take(3);
      assert.deepEqual(
        got.map((d) => d.body.toString()),
        ['a', 'b', 'c'],
      );
      for (const d of got) {
        assert.equal(d.redelivered, false);
        assert.equal(d.routingKey, PRODUCT_CHANGED);
        d.ack();
      }
      await c.cancel();
      await assertQueueHoldsOnly('sentinel');
    });

    it('keeps messages published before anyone consumes', async () => {
      await h.broker.publish(PRODUCT_CHANGED, text('early'));
      const inbox = new Inbox();
      await h.broker.consume(inbox.handler);
      const d = await inbox.next();
      assert.equal(d.body.toString(), 'early');
      d.ack();
    });

    it('preserves publish order across many messages with prefetch', async () => {
      const n = 300;
      const inbox = new Inbox();
      await h.broker.consume(inbox.handler, { prefetch: 64 });
      await Promise.all(Array.from({ length: n }, (_, i) => h.broker.publish(PRODUCT_CHANGED, text(String(i)))));
      const got: string[] = [];
      for (let i = 0; i < n; i++) {
        const d = await inbox.next();
        got.push(d.body.toString());
        d.ack();
      }
      assert.deepEqual(
        got,
        Array.from({ length: n }, (_, i) => String(i)),
      );
    });

    it('respects prefetch: no more unacked deliveries than allowed', async () => {
      const inbox = new Inbox();
      await h.broker.consume(inbox.handler, { prefetch: 2 });
      for (const m of ['1', '2', '3']) await h.broker.publish(PRODUCT_CHANGED, text(m));
      const [a, b] = await inbox.take(2);
      // The third can only arrive once one of the two is settled.
      const third = inbox.next();
      assert.equal(inbox.buffered, 0);
      a.ack();
      assert.equal((await third).body.toString(), '3');
      b.ack();
    });

    it('retry redelivers the message flagged redelivered', async () => {
      const inbox = new Inbox();
      await h.broker.consume(inbox.handler, { prefetch: 5 });
      await h.broker.publish(PRODUCT_CHANGED, text('again'));
      const first = await inbox.next();
      assert.equal(first.redelivered, false);
      first.retry();
      const second = await inbox.next();
      assert.equal(second.body.toString(), 'again');
      assert.equal(second.redelivered, true);
      second.ack();
    });

    it('retried messages come back in their original order', async () => {
      const inbox = new Inbox();
      await h.broker.consume(inbox.handler, { prefetch: 10 });
      for (const m of ['x', 'y', 'z']) await h.broker.publish(PRODUCT_CHANGED, text(m));
      const got = await inbox.take(3);
      for (const d of got) d.retry();
      const again = await inbox.take(3);
      assert.deepEqual(
        again.map((d) => d.body.toString()),
        ['x', 'y', 'z'],
      );
      assert.ok(again.every((d) => d.redelivered));
      for (const d of again) d.ack();
    });

    it('deadLetter moves the body to catalog.dead with the reason, and acks', async () => {
      const inbox = new Inbox();
      const c = await h.broker.consume(inbox.handler, { prefetch: 5 });
      await h.broker.publish(PRODUCT_CHANGED, text('not json {'));
      const d = await inbox.next();
      await d.deadLetter('malformed event: body is not valid JSON');
      await c.cancel();
      const dead = await h.deadLetters();
      assert.equal(dead.length, 1);
      assert.equal(dead[0].body, 'not json {');
      assert.equal(dead[0].reason, 'malformed event: body is not valid JSON');
      assert.equal(dead[0].routingKey, PRODUCT_CHANGED);
      assert.ok(!Number.isNaN(Date.parse(dead[0].deadLetteredAt)), 'dead-lettered-at is a timestamp');
      await assertQueueHoldsOnly('after-dead-letter');
    });

    it('a delivery settles once: a second ack/retry/deadLetter throws', async () => {
      const inbox = new Inbox();
      await h.broker.consume(inbox.handler);
      await h.broker.publish(PRODUCT_CHANGED, text('once'));
      const d = await inbox.next();
      d.ack();
      assert.throws(() => d.ack(), { code: BrokerErrorCode.alreadySettled });
      assert.throws(() => d.retry(), { code: BrokerErrorCode.alreadySettled });
      await assert.rejects(d.deadLetter('late'), { code: BrokerErrorCode.alreadySettled });
    });

    it('routes only product.changed to the gateway queue', async () => {
      await h.broker.publish('product.deleted', text('elsewhere'));
      await assertQueueHoldsOnly('routed');
    });

    it('cancel stops deliveries; a new consumer gets the rest', async () => {
      const first = new Inbox();
      const c = await h.broker.consume(first.handler, { prefetch: 1 });
      await h.broker.publish(PRODUCT_CHANGED, text('one'));
      const d = await first.next();
      d.ack();
      await c.cancel();
      await h.broker.publish(PRODUCT_CHANGED, text('two'));
      const second = new Inbox();
      await h.broker.consume(second.handler);
      assert.equal((await second.next()).body.toString(), 'two');
      assert.equal(first.buffered, 0);
    });

    it('a handler that throws does not stop consumption; its message is dead-lettered', async () => {
      const inbox = new Inbox();
      let thrown = false;
      await h.broker.consume((d) => {
        if (!thrown) {
          thrown = true;
          throw new Error('handler bug');
        }
        inbox.handler(d);
      });
      await h.broker.publish(PRODUCT_CHANGED, text('boom'));
      await h.broker.publish(PRODUCT_CHANGED, text('fine'));
      const d = await inbox.next();
      assert.equal(d.body.toString(), 'fine');
      d.ack();
      const dead = await waitFor(
        () => h.deadLetters(),
        (l) => l.length > 0,
      );
      assert.equal(dead[0].body, 'boom');
      assert.match(dead[0].reason, /handler bug/);
    });

    it('after close: not ready, publish rejects with broker_closed', async () => {
      await h.broker.close();
      assert.equal(h.broker.isReady(), false);
      await assert.rejects(h.broker.publish(PRODUCT_CHANGED, text('late')), { code: BrokerErrorCode.closed });
    });
  });
}

/** Poll a condition (no fixed sleeps): resolves with the value once `ok`, fails after `timeoutMs`. */
export async function waitFor<T>(
  get: () => Promise<T> | T,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
