import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHistory } from '../../src/hub/history.js';
import { EventIdSequence } from '../../src/hub/ids.js';
import { Publication } from '../../src/hub/publication.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';

// HISTORY_MAX_BYTES: history is bounded by bytes over all channels, the
// globally oldest publications go first, and a resume from before an evicted
// one reports history_gap (never a silent hole).

function setup(maxBytes: number, size = 1000, maxChannels?: number) {
  const ids = new EventIdSequence();
  const h = new MemoryHistory({ size, maxBytes, maxChannels, floor: ids.floor });
  const add = (channel: string, data: unknown) => {
    const p = new Publication(ids.next(), channel, 'e', data);
    h.append(p);
    return p;
  };
  return { h, add };
}

const payload = (n: number) => 'x'.repeat(n);
const idsOf = (r: ReturnType<MemoryHistory['since']>) => (r.ok ? r.publications.map((p) => p.id) : r.reason);

test('retained bytes stay under HISTORY_MAX_BYTES however big the messages; the oldest go first, across channels', () => {
  const one = new Publication(1, 'a', 'e', payload(10_000)).size;
  const { h, add } = setup(10 * one);
  const a1 = add('a', payload(10_000));
  const b1 = add('b', payload(10_000));
  const rest = [];
  for (let i = 0; i < 9; i++) rest.push(add(i % 2 === 0 ? 'a' : 'b', payload(10_000)));
  // 11 publications of `one` bytes into a budget of 10: exactly the first (a1) went.
  assert.equal(h.retainedCount, 10);
  assert.ok(h.retainedBytes <= 10 * one);
  assert.equal(idsOf(h.since('a', a1.id - 1)), 'history_gap', 'a resume that needs a1 learns it is gone');
  assert.deepEqual(
    idsOf(h.since('a', a1.id)),
    rest.filter((p) => p.channel === 'a').map((p) => p.id),
    'a resume from a1 on gets everything after it',
  );
  assert.deepEqual(
    idsOf(h.since('b', b1.id - 1)),
    [b1.id, ...rest.filter((p) => p.channel === 'b').map((p) => p.id)],
    'b lost nothing yet',
  );

  // A flood of big messages on one channel pushes out the older history of every channel, and no more than needed.
  for (let i = 0; i < 1000; i++) {
    add('flood', payload(50_000));
    assert.ok(h.retainedBytes <= 10 * one, `over budget after publish ${i}: ${h.retainedBytes}`);
  }
  assert.equal(idsOf(h.since('b', b1.id)), 'history_gap');
  assert.equal(h.retainedCount, Math.floor((10 * one) / new Publication(1, 'flood', 'e', payload(50_000)).size));
});

test('a publication bigger than the whole budget is not kept, and a resume across it fails', () => {
  const { h, add } = setup(5_000);
  const small = add('c', 'hi');
  const huge = add('c', payload(100_000));
  assert.equal(idsOf(h.since('c', small.id)), 'history_gap');
  assert.ok(h.retainedBytes <= 5_000);
  const after = add('c', 'again');
  assert.deepEqual(idsOf(h.since('c', huge.id)), [after.id]);
});

test('the byte bound, the per-channel ring and the channel bound agree on what is retained', () => {
  const ids = new EventIdSequence();
  // A reference model: a list of (channel, publication) in append order, trimmed by the same three rules.
  const maxBytes = 40_000;
  const size = 7;
  const maxChannels = 5;
  const h = new MemoryHistory({ size, maxBytes, maxChannels, floor: ids.floor });
  const model: Publication[] = [];
  const gaps = new Map<string, number>();
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const lastAt = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const channel = `ch${rand(8)}`;
    const p = new Publication(ids.next(), channel, 'e', payload(rand(3) === 0 ? rand(8000) : rand(200)), i);
    h.append(p);
    // model: channel bound (least recently published goes whole)
    if (!lastAt.has(channel) && lastAt.size >= maxChannels) {
      let oldest = '';
      let at = Infinity;
      for (const [c, t] of lastAt) if (t < at) [oldest, at] = [c, t];
      // The dropped channel remembers what it lost; the others lose nothing by it.
      for (let j = model.length - 1; j >= 0; j--) {
        if (model[j].channel === oldest) {
          gaps.set(oldest, Math.max(gaps.get(oldest) ?? 0, model[j].id));
          model.splice(j, 1);
        }
      }
      lastAt.delete(oldest);
    }
    lastAt.set(channel, i);
    model.push(p);
    const inChannel = model.filter((q) => q.channel === channel);
    if (inChannel.length > size) {
      const gone = inChannel[0];
      model.splice(model.indexOf(gone), 1);
      gaps.set(channel, Math.max(gaps.get(channel) ?? 0, gone.id));
    }
    let bytes = model.reduce((s, q) => s + q.size, 0);
    while (bytes > maxBytes) {
      const gone = model.shift()!;
      bytes -= gone.size;
      gaps.set(gone.channel, Math.max(gaps.get(gone.channel) ?? 0, gone.id));
    }
    assert.equal(h.retainedBytes, bytes, `bytes after append ${i}`);
    assert.equal(h.retainedCount, model.length, `count after append ${i}`);
    if (i % 97 === 0) {
      for (const c of lastAt.keys()) {
        const kept = model.filter((q) => q.channel === c).map((q) => q.id);
        const gap = gaps.get(c) ?? 0;
        const from = kept.length > 0 ? kept[0] - 1 : gap;
        assert.deepEqual(
          idsOf(h.since(c, from)),
          from >= gap ? kept.filter((id) => id > from) : 'history_gap',
          `${c} from ${from} at ${i}`,
        );
        if (gap > 0 && kept.length > 0) assert.equal(idsOf(h.since(c, gap - 1)), 'history_gap');
      }
      for (let k = 0; k < 8; k++) {
        const c = `ch${k}`;
        if (lastAt.has(c)) continue;
        // A channel dropped whole: a resume from what it lost fails, one from after it succeeds (empty).
        const gap = gaps.get(c) ?? 0;
        const from = Math.max(gap, ids.floor - 1);
        assert.deepEqual(idsOf(h.since(c, from)), [], `${c} (dropped) from ${from} at ${i}`);
        if (gap > 0) assert.equal(idsOf(h.since(c, gap - 1)), 'history_gap', `${c} (dropped) from ${gap - 1} at ${i}`);
      }
    }
  }
  assert.deepEqual(
    [...h.entries()].map((p) => p.id).sort((a, b) => a - b),
    model.map((p) => p.id),
  );
});

test('per-publish cost stays flat: a million small publishes under a tight budget with many channels', () => {
  const { h, add } = setup(256 * 1024, 1000, 10_000);
  const started = process.hrtime.bigint();
  for (let i = 0; i < 1_000_000; i++) add(`c${i % 5000}`, i);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(h.retainedBytes <= 256 * 1024);
  // Not a benchmark: a scan per publish (5000 channels, ~1000 retained) would take minutes, not seconds.
  assert.ok(ms < 20_000, `1e6 publishes took ${ms.toFixed(0)} ms`);
});

test('HISTORY_MAX_BYTES: default 256 MiB, 0 turns the byte bound off, bad values name the variable', () => {
  assert.equal(loadConfig({}).historyMaxBytes, 256 * 1024 * 1024);
  assert.equal(loadConfig({ HISTORY_MAX_BYTES: '0' }).historyMaxBytes, 0);
  assert.equal(loadConfig({ HISTORY_MAX_BYTES: '1048576' }).historyMaxBytes, 1048576);
  for (const bad of ['-1', 'lots', '1.5', '99999999999999999']) {
    assert.throws(
      () => loadConfig({ HISTORY_MAX_BYTES: bad }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'HISTORY_MAX_BYTES',
    );
  }
});
