import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hub } from '../../src/hub/hub.js';
import { MemoryHistory } from '../../src/hub/history.js';
import { EventIdSequence } from '../../src/hub/ids.js';
import { Transport, type Subscriber } from '../../src/hub/subscriber.js';
import type { BusBinary, BusPublication, ClusterBus, DurableRecovery } from '../../src/bus/bus.js';

// The cluster catch-up (src/hub/catch-up.ts) against a bus whose durable history the test scripts:
// a read that cannot prove a channel complete is never taken for "nothing missed".

class Sink implements Subscriber {
  readonly userId = null;
  readonly channels = new Set<string>();
  readonly writes: Buffer[] = [];
  fanoutMark = 0;
  fanoutChangedAt = 0;
  constructor(readonly transport: Transport, readonly clientId: string) {}
  write(chunk: Buffer): void {
    this.writes.push(chunk);
  }
  text(): string {
    return Buffer.concat(this.writes).toString();
  }
  /** Event ids in the order they were written (WS frames or SSE `id:` lines). */
  ids(): number[] {
    const re = this.transport === Transport.ws ? /"id":"(\d+)"/g : /^id: ?(\d+)$/gm;
    return [...this.text().matchAll(re)].map((m) => Number(m[1]));
  }
}

class ScriptedBus implements ClusterBus {
  readonly nodeId = 'test-node';
  private publication: (p: BusPublication) => void = () => undefined;
  private gapHandler: (resubscribed: Promise<void>) => void = () => undefined;
  reads = 0;
  constructor(public since: (channel: string, afterId: number) => Promise<DurableRecovery>) {}
  deliver(id: number, channel = 'room'): void {
    this.publication(pub(id, channel));
  }
  gap(): void {
    this.gapHandler(Promise.resolve());
  }
  publish(): Promise<number | null> {
    throw new Error('not used');
  }
  onPublication(handler: (p: BusPublication) => void): void {
    this.publication = handler;
  }
  publishBinary(): Promise<void> {
    return Promise.resolve();
  }
  onBinary(_handler: (b: BusBinary) => void): void {}
  sendToNode(): Promise<void> {
    return Promise.resolve();
  }
  onNodeMessage(): void {}
  onGap(handler: (resubscribed: Promise<void>) => void): void {
    this.gapHandler = handler;
  }
  currentId(): Promise<number> {
    return Promise.resolve(0);
  }
  isReady(): boolean {
    return true;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function pub(id: number, channel = 'room'): BusPublication {
  return { id, channel, event: 'tick', dataJson: String(id), text: false, publishedAt: Date.now(), node: 'other' };
}

function setup(bus: ScriptedBus, catchUp = { attempts: 2, retryMs: 1 }) {
  const ids = new EventIdSequence();
  const hub = new Hub(new MemoryHistory({ size: 100, floor: ids.floor }), ids, bus, { catchUp });
  const ws = new Sink(Transport.ws, 'w');
  const sse = new Sink(Transport.sse, 's');
  for (const s of [ws, sse]) {
    hub.addConnection(s);
    hub.join(s, ['room'], null, s === sse);
  }
  return { hub, ws, sse };
}

const until = async (cond: () => boolean) => {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
};

for (const [reason, since] of [
  ['unknown_position', async (): Promise<DurableRecovery> => ({ ok: false, reason: 'unknown_position' })],
  ['history_gap', async (): Promise<DurableRecovery> => ({ ok: false, reason: 'history_gap' })],
  [
    'unreachable',
    async (): Promise<DurableRecovery> => {
      throw new Error('connection refused');
    },
  ],
] as const) {
  test(`a catch-up whose read answers ${reason} tells the channel's subscribers recovery_failed before what follows`, async () => {
    const bus = new ScriptedBus(since);
    const { hub, ws, sse } = setup(bus);
    bus.deliver(10);
    hub.flush();
    bus.gap();
    bus.deliver(30); // live, held while the catch-up reads
    await until(() => !hub.catchingUp);
    hub.flush();
    for (const sink of [ws, sse]) {
      const text = sink.text();
      const notice = text.indexOf('recovery_failed');
      assert.ok(notice > 0, `${sink.clientId} was told`);
      assert.ok(text.includes(`"reason":"${reason}"`), `${sink.clientId} was told why`);
      assert.ok(notice > text.indexOf('10'), 'after what was delivered before the gap');
      assert.ok(notice < text.lastIndexOf('30'), 'before what came after it');
      assert.deepEqual(sink.ids(), [10, 30]);
    }
    assert.ok(sse.text().includes('"channels":["room"'), 'SSE names the channel');
    const stats = hub.stats();
    assert.equal(stats.catchUps, 1);
    assert.ok(stats.recoveryFailedNotices >= 2);
  });
}

test('a catch-up that reads what was missed delivers it in order, once, and tells nobody anything', async () => {
  const bus = new ScriptedBus(async (_c, after) => ({ ok: true, entries: [20, 25].filter((id) => id > after).map((id) => pub(id)) }));
  const { hub, ws, sse } = setup(bus);
  bus.deliver(10);
  bus.gap();
  bus.deliver(25); // both live and in history
  bus.deliver(30);
  await until(() => !hub.catchingUp);
  hub.flush();
  assert.deepEqual(ws.ids(), [10, 20, 25, 30]);
  assert.deepEqual(sse.ids(), [10, 20, 25, 30]);
  assert.ok(!ws.text().includes('recovery_failed'));
  assert.equal(hub.stats().catchUpFailures, 0);
});

test('a resume served from durable history leaves out what this node has not fanned out yet: no id twice, none backwards', async () => {
  const history = [8, 9, 10];
  const bus = new ScriptedBus(async (_c, after) => ({ ok: true, entries: history.filter((id) => id > after).map((id) => pub(id)) }));
  const { hub } = setup(bus);
  bus.deliver(10);
  hub.flush();
  bus.gap(); // local history no longer covers: resumes go to the bus
  await until(() => !hub.catchingUp);
  // History now holds 11 and 12; this node has 11 queued for the next fan-out and has not received 12 yet.
  history.push(11, 12);
  bus.deliver(11);
  const late = new Sink(Transport.ws, 'late');
  hub.addConnection(late);
  const joined = hub.join(late, ['room'], 7);
  assert.ok(joined instanceof Promise, 'served from durable history');
  const r = await joined;
  assert.deepEqual(r.failed, []);
  for (const frame of r.missed ?? []) late.write(frame);
  bus.deliver(12);
  hub.flush();
  assert.deepEqual(late.ids(), [8, 9, 10, 11, 12]);
});

test('a client ahead of this node (its position came from a faster node) gets nothing up to its position a second time', async () => {
  const bus = new ScriptedBus(async () => ({ ok: true, entries: [] }));
  const { hub } = setup(bus);
  bus.deliver(10);
  hub.flush();
  bus.deliver(11); // queued here; the client already has it from another node
  const client = new Sink(Transport.ws, 'ahead');
  hub.addConnection(client);
  const joined = hub.join(client, ['room'], 13); // 12 and 13 not even received here yet
  assert.ok(joined instanceof Promise, 'waits for this node to reach the client');
  bus.deliver(12);
  bus.deliver(13);
  const r = await joined;
  assert.deepEqual(r.failed, []);
  for (const frame of r.missed ?? []) client.write(frame);
  bus.deliver(14);
  hub.flush();
  assert.deepEqual(client.ids(), [14]);
});

test('a subscriber still joining when a catch-up fails learns it from its join (recovery_failed before anything else)', async () => {
  const bus = new ScriptedBus(async () => ({ ok: false, reason: 'unknown_position' }));
  const { hub } = setup(bus);
  bus.deliver(10);
  hub.flush();
  const client = new Sink(Transport.sse, 'joining');
  hub.addConnection(client);
  const joined = hub.join(client, ['room'], 12); // ahead of this node: held until it gets there
  assert.ok(joined instanceof Promise);
  bus.gap();
  await until(() => !hub.catchingUp);
  bus.deliver(12);
  const r = await joined;
  assert.deepEqual(r.failed, ['room']);
});
