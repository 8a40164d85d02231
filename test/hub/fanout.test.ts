import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Hub } from '../../src/hub/hub.js';
import { memoryHub, publishNow } from '../helpers/hub.js';
import { Transport, type Subscriber } from '../../src/hub/subscriber.js';

/**
 * A subscriber whose write takes `spinMicros` of CPU, like a real socket
 * write does, so that a few hundred of them outlast one fan-out slice.
 */
class SlowSink implements Subscriber {
  readonly channels = new Set<string>();
  fanoutMark = 0;
  fanoutChangedAt = 0;
  writes = 0;
  readonly ids: number[] = [];
  constructor(
    readonly transport: Transport,
    readonly clientId: string,
    private readonly spinMicros = 20,
  ) {}
  readonly userId = null;
  write(chunk: Buffer): void {
    const until = performance.now() + this.spinMicros / 1000;
    while (performance.now() < until);
    this.writes++;
    const text = chunk.toString('latin1');
    const re = this.transport === Transport.ws ? /"id":"(\d+)"/g : /^id: (\d+)$/gm;
    for (const m of text.matchAll(re)) this.ids.push(Number(m[1]));
  }
}

const makeHub = () => memoryHub();

function subscribe(hub: Hub, n: number, channels: string[], transport = Transport.ws, prefix = 'c'): SlowSink[] {
  return Array.from({ length: n }, (_, i) => {
    const s = new SlowSink(transport, `${prefix}${i}`);
    hub.addConnection(s);
    hub.join(s, channels, null);
    return s;
  });
}

const turn = () => new Promise((r) => setImmediate(r));
/** Wait until the hub has written everything (no writes for a few turns). */
async function settle(subs: SlowSink[]): Promise<void> {
  let last = -1;
  for (;;) {
    for (let i = 0; i < 5; i++) await turn();
    const total = subs.reduce((s, x) => s + x.writes, 0);
    if (total === last) return;
    last = total;
  }
}

test('a large channel is written in slices: the event loop runs in between', async () => {
  const hub = makeHub();
  const subs = subscribe(hub, 500, ['big']); // ≈ 10 ms of writes
  publishNow(hub, 'big', 'e', 1);
  let ranDuringFanOut = false;
  await turn(); // the first slice
  setImmediate(() => (ranDuringFanOut = subs.some((s) => s.writes === 0)));
  await settle(subs);
  assert.ok(ranDuringFanOut, 'a callback queued after the first slice ran before the last subscriber was written');
  for (const s of subs) assert.deepEqual(s.writes, 1);
});

test('publications that arrive during a slow fan-out join it: one write carries several, each exactly once, in order', async () => {
  const hub = makeHub();
  const subs = subscribe(hub, 500, ['big']);
  const sse = subscribe(hub, 100, ['big'], Transport.sse, 's');
  const published: number[] = [];
  published.push(publishNow(hub, 'big', 'e', 0));
  // A publisher that waits for each acknowledgement: one more per turn.
  for (let i = 1; i < 20; i++) {
    await turn();
    published.push(publishNow(hub, 'big', 'e', i));
  }
  await settle([...subs, ...sse]);
  for (const s of [...subs, ...sse]) assert.deepEqual(s.ids, published, `${s.clientId} got every event once, in order`);
  const writes = subs.reduce((n, s) => n + s.writes, 0);
  assert.ok(
    writes < subs.length * published.length * 0.5,
    `merged: ${writes} writes for ${subs.length * published.length} deliveries`,
  );
  assert.equal(hub.stats().messagesOut, 600 * 20);
});

test('joins and leaves during a fan-out: a leaver gets nothing more, a joiner exactly what comes after its position', async () => {
  const hub = makeHub();
  const subs = subscribe(hub, 500, ['big']);
  const first = publishNow(hub, 'big', 'e', 'first');
  await turn(); // fan-out of `first` under way
  const leaver = subs[subs.length - 1];
  assert.equal(leaver.writes, 0, 'the last subscriber is not reached in the first slice');
  hub.unsubscribe(leaver, 'big');
  const joiner = new SlowSink(Transport.ws, 'joiner');
  hub.addConnection(joiner);
  hub.join(joiner, ['big'], null);
  const position = hub.positionFor(['big']);
  assert.ok(position >= first, 'the event being written is behind the joiner');
  const second = publishNow(hub, 'big', 'e', 'second');
  await settle(subs);
  assert.deepEqual(leaver.ids, []);
  assert.deepEqual(joiner.ids, [second]);
  for (const s of subs.slice(0, -1)) assert.deepEqual(s.ids, [first, second]);
});

test('a subscriber of two channels receives them in id order while a large round is under way', async () => {
  const hub = makeHub();
  const crowd = subscribe(hub, 500, ['a']);
  const both = subscribe(hub, 3, ['a', 'b'], Transport.ws, 'both');
  const order: number[] = [];
  order.push(publishNow(hub, 'a', 'e', 1));
  await turn();
  order.push(publishNow(hub, 'b', 'e', 2));
  await turn();
  order.push(publishNow(hub, 'a', 'e', 3));
  await settle([...crowd, ...both]);
  for (const s of both) assert.deepEqual(s.ids, order);
  for (const s of crowd) assert.deepEqual(s.ids, [order[0], order[2]]);
});

test('flush() writes everything queued at once (shutdown)', () => {
  const hub = makeHub();
  const subs = subscribe(hub, 300, ['big']);
  for (let i = 0; i < 5; i++) publishNow(hub, 'big', 'e', i);
  hub.flush();
  for (const s of subs) {
    assert.equal(s.writes, 1);
    assert.equal(s.ids.length, 5);
  }
});
