import { test } from 'node:test';
import { Writable } from 'node:stream';
import assert from 'node:assert/strict';
import { Hub } from '../../src/hub/hub.js';
import { MemoryHistory } from '../../src/hub/history.js';
import { Transport, type Subscriber } from '../../src/hub/subscriber.js';
import { createLogger, type Logger } from '../../src/logger.js';
import type { BusBinary, BusPublication, ClusterBus, DurableRecovery } from '../../src/bus/bus.js';

// The cluster catch-up (src/hub/catch-up.ts) against a bus whose durable history the test scripts:
// a read that cannot prove a channel complete is never taken for "nothing missed".

class Sink implements Subscriber {
  readonly userId = null;
  readonly channels = new Set<string>();
  readonly writes: Buffer[] = [];
  fanoutMark = 0;
  fanoutChangedAt = 0;
  constructor(
    readonly transport: Transport,
    readonly clientId: string,
  ) {}
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
  readonly clustered = true;
  private publication: (p: BusPublication) => void = () => undefined;
  private gapHandler: (resubscribed: Promise<void>) => void = () => undefined;
  reads = 0;
  /** The newest id the cluster handed out (`currentId`): a client may hold one this node has not received. */
  newest = 0;
  constructor(public since: (channel: string, afterId: number) => Promise<DurableRecovery>) {}
  deliver(id: number, channel = 'room'): void {
    this.newest = Math.max(this.newest, id);
    this.publication(pub(id, channel));
  }
  gap(): void {
    this.gapHandler(Promise.resolve());
  }
  start(): Promise<void> {
    return Promise.resolve();
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
    return Promise.resolve(this.newest);
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

function setup(bus: ScriptedBus, catchUp = { attempts: 2, retryMs: 1 }, log?: Logger) {
  // A cluster node's history covers nothing until the bus delivers (bus/index.ts).
  const hub = new Hub(new MemoryHistory({ size: 100, floor: Infinity }), bus, { catchUp, log });
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
  const bus = new ScriptedBus(async (_c, after) => ({
    ok: true,
    entries: [20, 25].filter((id) => id > after).map((id) => pub(id)),
  }));
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
  const bus = new ScriptedBus(async (_c, after) => ({
    ok: true,
    entries: history.filter((id) => id > after).map((id) => pub(id)),
  }));
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
  bus.newest = 13; // published elsewhere, on its way here
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
  bus.newest = 12;
  const joined = hub.join(client, ['room'], 12); // ahead of this node: held until it gets there
  assert.ok(joined instanceof Promise);
  bus.gap();
  await until(() => !hub.catchingUp);
  bus.deliver(12);
  const r = await joined;
  assert.deepEqual(r.failed, ['room']);
});

/** A logger whose JSON lines land in `lines`. */
function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('info', 'test', { format: 'json', stream }), lines };
}

test('a catch-up that gives up logs the channels and the gap, and tells raw TCP subscribers too', async () => {
  const { log, lines } = capturingLogger();
  const bus = new ScriptedBus(async () => {
    throw new Error('connection refused');
  });
  const { hub } = setup(bus, { attempts: 3, retryMs: 1 }, log);
  const tcp = new Sink(Transport.tcp, 't');
  hub.addConnection(tcp);
  hub.join(tcp, ['room'], null);
  bus.deliver(10);
  hub.flush();
  bus.gap();
  bus.deliver(30);
  await until(() => !hub.catchingUp);
  hub.flush();
  const frames = tcp
    .text()
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { channel: string; id: string | null; data: unknown });
  assert.deepEqual(frames[0].id, '10');
  assert.deepEqual(frames.at(-1)!.id, '30');
  const notice = frames.find((f) => f.id === null && f.channel === 'room');
  assert.deepEqual(notice?.data, { type: 'recovery_failed', reason: 'unreachable' }, 'a silent gap for nobody');
  await until(() => lines.some((l) => l.msg === 'cluster catch-up done'));
  const gaveUp = lines.find(
    (l) => l.msg === 'cluster catch-up: durable history did not answer' && l.channel === 'room',
  );
  assert.equal(gaveUp?.attempts, 3);
  assert.equal(gaveUp?.err, 'connection refused');
  const failed = lines.find((l) => String(l.msg).startsWith('cluster catch-up failed'));
  assert.ok(failed, 'catch-up failure logged');
  assert.ok((failed.channels as string[]).includes('room'));
  assert.equal(failed?.reason, 'unreachable');
  assert.equal(failed?.after, 10);
  assert.equal(failed?.upTo, 30);
  assert.equal(failed?.level, 50, 'logged as an error');
});

test('a resume whose durable-history read fails is logged and reported failed, not taken for nothing missed', async () => {
  const { log, lines } = capturingLogger();
  const bus = new ScriptedBus(async () => {
    throw new Error('connection reset');
  });
  const { hub } = setup(bus, undefined, log);
  bus.deliver(10);
  hub.flush();
  const client = new Sink(Transport.ws, 'resumer');
  hub.addConnection(client);
  const r = await hub.join(client, ['room'], 5); // before this node's coverage: only the bus can answer
  assert.deepEqual(r.failed, ['room']);
  const warned = lines.find((l) => String(l.msg).startsWith('resume: durable history did not answer'));
  assert.equal(warned?.channel, 'room');
  assert.equal(warned?.err, 'connection reset');
});

test('a position past every id the cluster handed out is not waited for', async () => {
  const bus = new ScriptedBus(async () => ({ ok: true, entries: [] }));
  const { hub } = setup(bus);
  bus.deliver(10);
  hub.flush();
  const client = new Sink(Transport.ws, 'bogus');
  hub.addConnection(client);
  const started = Date.now();
  const r = await hub.join(client, ['room'], 99);
  // Waiting would last the catch-up bound, 2 s.
  assert.ok(Date.now() - started < 1000, 'joined without waiting for ids nobody will publish');
  assert.deepEqual(r.failed, []);
  bus.deliver(11);
  hub.flush();
  assert.deepEqual(client.ids(), [11]);
});
