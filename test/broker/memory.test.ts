import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRODUCT_CHANGED, topicMatches } from '../../src/broker/broker.js';
import { createBroker } from '../../src/broker/index.js';
import { MemoryBroker } from '../../src/broker/memory.js';
import { createLogger } from '../../src/logger.js';
import { runBrokerSuite } from './broker-suite.js';
import { Inbox } from './inbox.js';

runBrokerSuite('memory', async () => {
  const broker = new MemoryBroker();
  return {
    broker,
    deadLetters: async () => broker.deadLetters().map((d) => ({ ...d, body: d.body.toString() })),
    cleanup: () => broker.close(),
  };
});

describe('memory broker specifics', () => {
  it('createBroker picks memory when BROKER_URL is unset', async () => {
    const broker = await createBroker({ brokerUrl: undefined }, createLogger('silent'));
    assert.equal(broker.driver, 'memory');
    await broker.close();
  });

  it('depth() counts ready and unacked messages', async () => {
    const broker = new MemoryBroker();
    const inbox = new Inbox();
    await broker.consume(inbox.handler, { prefetch: 1 });
    await broker.publish(PRODUCT_CHANGED, Buffer.from('1'));
    await broker.publish(PRODUCT_CHANGED, Buffer.from('2'));
    const d = await inbox.next();
    assert.deepEqual(broker.depth(), { ready: 1, unacked: 1 });
    d.ack();
    (await inbox.next()).ack();
    assert.deepEqual(broker.depth(), { ready: 0, unacked: 0 });
    await broker.close();
  });

  it('copies the published bytes (a reused buffer does not change a queued message)', async () => {
    const broker = new MemoryBroker();
    const buf = Buffer.from('abc');
    await broker.publish(PRODUCT_CHANGED, buf);
    buf.write('xyz');
    const inbox = new Inbox();
    await broker.consume(inbox.handler);
    assert.equal((await inbox.next()).body.toString(), 'abc');
    await broker.close();
  });
});

describe('topicMatches', () => {
  const cases: Array<[string, string, boolean]> = [
    ['product.changed', 'product.changed', true],
    ['product.changed', 'product.changed.x', false],
    ['product.*', 'product.changed', true],
    ['product.*', 'product', false],
    ['#', 'a.b.c', true],
    ['product.#', 'product', true],
    ['*.changed', 'order.changed', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c', false],
  ];
  for (const [p, k, want] of cases) {
    it(`${p} ${want ? 'matches' : 'does not match'} ${k}`, () => assert.equal(topicMatches(p, k), want));
  }
});
