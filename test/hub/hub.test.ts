import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventIdSequence, parseEventId } from '../../src/hub/ids.js';
import { memoryHub, publishNow } from '../helpers/hub.js';
import { Transport, type Subscriber } from '../../src/hub/subscriber.js';

/** A real subscriber that records what the hub hands it. */
class Sink implements Subscriber {
  readonly channels = new Set<string>();
  readonly writes: Buffer[] = [];
  fanoutMark = 0;
  fanoutChangedAt = 0;
  constructor(
    readonly transport: Transport,
    readonly clientId: string,
    readonly userId: string | null = null,
  ) {}
  write(chunk: Buffer): void {
    this.writes.push(chunk);
  }
  text(): string {
    return Buffer.concat(this.writes).toString();
  }
}

const makeHub = (size = 10) => memoryHub({ size });
const turn = () => new Promise((r) => setImmediate(r));

test('a turn of publications is framed once and written once per subscriber, the same buffer for all', async () => {
  const hub = makeHub();
  const subs = Array.from({ length: 50 }, (_, i) => new Sink(Transport.ws, `c${i}`));
  const sse = Array.from({ length: 5 }, (_, i) => new Sink(Transport.sse, `s${i}`));
  for (const s of [...subs, ...sse]) {
    hub.addConnection(s);
    hub.join(s, ['room'], null);
  }
  for (let i = 0; i < 10; i++) publishNow(hub, 'room', 'tick', { i });
  assert.equal(subs[0].writes.length, 0, 'nothing is written before the turn ends');
  await turn();
  for (const s of subs) assert.equal(s.writes.length, 1);
  for (const s of subs) assert.equal(s.writes[0], subs[0].writes[0], 'the very same Buffer object');
  for (const s of sse) assert.equal(s.writes[0], sse[0].writes[0]);
  assert.equal((sse[0].text().match(/^event: tick$/gm) ?? []).length, 10);
  assert.equal(hub.stats().messagesOut, 55 * 10);
});

test('channels vanish with their last subscriber; history outlives them', async () => {
  const hub = makeHub();
  const a = new Sink(Transport.ws, 'a');
  hub.addConnection(a);
  hub.join(a, ['x'], null);
  const first = publishNow(hub, 'x', 'e', 1);
  hub.removeConnection(a);
  assert.equal(hub.stats().channels, 0);
  assert.equal(hub.connectionCount, 0);
  publishNow(hub, 'x', 'e', 2);
  const b = new Sink(Transport.sse, 'b');
  hub.addConnection(b);
  const r = await hub.join(b, ['x'], first);
  assert.deepEqual(r.failed, []);
  assert.match(Buffer.concat(r.missed!).toString(), /data: 2\n\n$/);
});

test('history ring: resume within it replays in order; beyond it fails', () => {
  const hub = memoryHub({ size: 3 });
  const h = hub.history;
  const published = [1, 2, 3, 4, 5].map((n) => publishNow(hub, 'c', 'e', n));
  const ok = h.since('c', published[1]);
  assert.ok(ok.ok);
  assert.deepEqual(ok.ok && ok.publications.map((p) => p.dataJson), ['3', '4', '5']);
  assert.deepEqual(h.since('c', published[0]), { ok: false, reason: 'history_gap' });
  assert.deepEqual(h.since('c', 5), { ok: false, reason: 'unknown_position' });
  const empty = h.since('other', published[4]);
  assert.ok(empty.ok && empty.publications.length === 0);
});

test('publications queued in the current turn are not replayed twice to a joining subscriber', async () => {
  const hub = makeHub();
  const early = new Sink(Transport.ws, 'early');
  hub.addConnection(early);
  hub.join(early, ['q'], null);
  const base = publishNow(hub, 'q', 'e', 'a');
  await turn();
  publishNow(hub, 'q', 'e', 'b'); // still queued
  const late = new Sink(Transport.ws, 'late');
  hub.addConnection(late);
  const joined = await hub.join(late, ['q'], base);
  if (joined.missed) for (const frame of joined.missed) late.write(frame);
  await turn();
  const frames = late.text();
  assert.equal((frames.match(/"data":"b"/g) ?? []).length, 1);
});

test('ids rise across sequences seeded later and parse back from the wire', () => {
  const a = new EventIdSequence(1000);
  const b = new EventIdSequence(Date.now() * 1000);
  assert.ok(b.next() > a.next());
  assert.equal(parseEventId('1234'), 1234);
  assert.equal(parseEventId(1234), 1234);
  for (const bad of ['', '-1', '1e3', 'abc', '12345678901234567', 1.5, -2, null, {}])
    assert.equal(parseEventId(bad), null);
});
