import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHistory } from '../../src/hub/history.js';
import { EventIdSequence } from '../../src/hub/ids.js';
import { Publication } from '../../src/hub/publication.js';

// The channel bound (least recently published-to channel goes whole) costs
// O(1) per publish whatever the number of channels, and what a dropped
// channel lost is that channel's gap only: a flood of new channel names
// must neither slow every publish down nor break resume on the channels
// whose history it did not touch.

function setup(maxChannels: number, maxBytes = 0, size = 100) {
  const ids = new EventIdSequence();
  const h = new MemoryHistory({ size, maxBytes, maxChannels, floor: ids.floor });
  let at = 0;
  const add = (channel: string, data: unknown = 1) => {
    const p = new Publication(ids.next(), channel, 'e', data, ++at);
    h.append(p);
    return p;
  };
  return { h, add, ids };
}

const idsOf = (r: ReturnType<MemoryHistory['since']>) => (r.ok ? r.publications.map((p) => p.id) : r.reason);

test('the least recently published-to channel goes first, and publishing again makes a channel recent', () => {
  const { h, add } = setup(3);
  const a = add('a');
  const b = add('b');
  add('c');
  const a2 = add('a'); // a is now the most recent: b is the oldest
  add('d');
  assert.equal(h.channelCount, 3);
  assert.deepEqual(idsOf(h.since('a', a.id - 1)), [a.id, a2.id], 'a kept both');
  assert.equal(idsOf(h.since('b', b.id - 1)), 'history_gap', 'b went whole');
  add('e'); // next oldest: c
  assert.deepEqual(new Set([...h.entries()].map((p) => p.channel)), new Set(['a', 'd', 'e']));
});

test('a flood of new channel names breaks resume only on the channels it dropped', () => {
  const { h, add } = setup(100);
  const before = add('products', { sku: 1 });
  const p2 = add('products', { sku: 2 });
  const quietFrom = before.id - 1;
  for (let i = 0; i < 1000; i++) {
    add(`flood:${i}`);
    if (i % 50 === 0) add('products', { sku: 100 + i }); // products stays recent
  }
  assert.ok(h.channelCount <= 100);
  const r = h.since('products', before.id);
  assert.ok(r.ok, `products resumes with its history intact, got ${JSON.stringify(idsOf(r))}`);
  assert.equal(r.publications[0].id, p2.id);
  // A channel nothing was ever published to has lost nothing.
  assert.deepEqual(idsOf(h.since('never-published', quietFrom)), []);
  // A dropped channel knows it lost something, from before its last event.
  assert.equal(idsOf(h.since('flood:0', quietFrom)), 'history_gap');
  // ... and still knows it when it comes back.
  const again = add('flood:0');
  assert.equal(idsOf(h.since('flood:0', quietFrom)), 'history_gap');
  assert.deepEqual(idsOf(h.since('flood:0', again.id - 1)), [again.id]);
});

test('dropped channels are remembered by name up to the channel bound, then by a fixed set of hash buckets', () => {
  const { h, add } = setup(10);
  const first = add('x:0');
  for (let i = 1; i < 2000; i++) add(`x:${i}`);
  assert.equal(h.channelCount, 10);
  assert.ok(h.tombstoneCount <= 10, `tombstones bounded: ${h.tombstoneCount}`);
  // x:0's tombstone was forgotten, its bucket still knows: a resume from before what it lost fails.
  assert.equal(idsOf(h.since('x:0', first.id - 1)), 'history_gap');
  // (a bucket may be shared, so only a resume from after every drop is sure to succeed)
  const last = add('x:1999');
  assert.deepEqual(idsOf(h.since('x:0', last.id)), []);
  // A channel nothing was published to, whose bucket no dropped channel shares, resumes.
  assert.deepEqual(idsOf(h.since('never-published', first.id - 1)), []);
});

test('byte accounting stays exact while channels are dropped whole', () => {
  const { h, add } = setup(50, 200_000, 20);
  const live = new Map<string, Publication[]>();
  for (let i = 0; i < 20_000; i++) {
    const c = `c${(i * 7919) % 173}`;
    add(c, 'y'.repeat(i % 300));
  }
  for (const p of h.entries()) {
    const list = live.get(p.channel) ?? [];
    list.push(p);
    live.set(p.channel, list);
  }
  const sum = [...h.entries()].reduce((s, p) => s + p.size, 0);
  assert.equal(h.retainedBytes, sum);
  assert.equal(h.retainedCount, [...h.entries()].length);
  assert.ok(h.retainedBytes <= 200_000);
  assert.ok(h.channelCount <= 50);
  for (const list of live.values()) assert.ok(list.length <= 20);
});

test('a publish to a new channel name costs the same at 20,000 channels as at 10 (no scan of the channels)', () => {
  const { h, add } = setup(20_000, 64 * 1024 * 1024);
  for (let i = 0; i < 20_000; i++) add(`ch:${i}`);
  const started = process.hrtime.bigint();
  const n = 30_000;
  for (let i = 0; i < n; i++) add(`fresh:${i}`);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`# ${n} publishes to new channel names at 20,000 channels: ${((ms * 1000) / n).toFixed(2)} µs each`);
  assert.equal(h.channelCount, 20_000);
  // A scan per publish over 20,000 rings is ~400 µs, 12 s in all; O(1) eviction is well under one.
  assert.ok(ms < 4000, `${n} publishes took ${ms.toFixed(0)} ms`);
});

test('channels that come and go: tombstones stay bounded and a resume never skips what a channel lost', () => {
  const { h, add } = setup(3, 0, 4);
  const lost = new Map<string, number>(); // the model: highest id each channel lost, however it lost it
  const kept = new Map<string, number[]>();
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 50_000; i++) {
    const c = `c${rand(12)}`;
    const before = new Set(kept.keys());
    const p = add(c);
    const list = kept.get(c) ?? [];
    list.push(p.id);
    if (list.length > 4) lost.set(c, Math.max(lost.get(c) ?? 0, list.shift()!));
    kept.set(c, list);
    // Whatever channel the history no longer holds was dropped whole by this append.
    const held = new Set([...h.entries()].map((q) => q.channel));
    for (const name of before) {
      if (!held.has(name) && name !== c) {
        lost.set(name, Math.max(lost.get(name) ?? 0, ...kept.get(name)!));
        kept.delete(name);
      }
    }
    assert.ok(h.tombstoneCount <= 3, `tombstones ${h.tombstoneCount} at ${i}`);
    if (i % 101 === 0) {
      for (const [name, gap] of lost) {
        // Never a silent hole: a resume from below what the channel lost fails.
        assert.equal(idsOf(h.since(name, gap - 1)), 'history_gap', `${name} from ${gap - 1} at ${i}`);
      }
      for (const [name, ids] of kept) {
        // From what it lost on, a channel the history holds replays exactly what it kept.
        const from = Math.max(lost.get(name) ?? 0, ids[0] - 1);
        assert.deepEqual(
          idsOf(h.since(name, from)),
          ids.filter((id) => id > from),
          `${name} from ${from} at ${i}`,
        );
      }
    }
  }
});
