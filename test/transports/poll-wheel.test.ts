import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerWheel, type WheelEntry } from '../../src/transports/poll/wheel.js';

// The long-poll timeouts: 10,000 deadlines on one timer, each expired once, not early.

interface Entry extends WheelEntry {
  due: number;
  expiredAt: number;
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('10,000 deadlines cost one timer; each expires once, not before its deadline', async () => {
  const TICK = 20;
  const expired: Entry[] = [];
  const wheel = new TimerWheel<Entry>(TICK, (e) => {
    e.expiredAt = Date.now();
    expired.push(e);
  });
  const before = timers();
  const entries: Entry[] = [];
  const start = Date.now();
  for (let i = 0; i < 10_000; i++) {
    const e: Entry = { wheelTick: -1, due: start + (i % 300), expiredAt: 0 };
    entries.push(e);
    wheel.add(e, i % 300);
  }
  assert.ok(timers() - before <= 1, `timers: ${timers() - before} more`);
  // Removed ones never expire.
  for (let i = 0; i < 1000; i++) wheel.remove(entries[i]);
  assert.equal(wheel.pending, 9000);
  const deadline = Date.now() + 10_000;
  while (expired.length < 9000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(expired.length, 9000);
  assert.equal(new Set(expired).size, 9000);
  let late = 0;
  for (const e of expired) {
    assert.ok(e.expiredAt >= e.due, 'not early');
    late = Math.max(late, e.expiredAt - e.due);
  }
  console.log(`latest expiry ${late} ms after its deadline (tick ${TICK} ms)`);
  assert.ok(late < 2000);
  assert.ok(entries.slice(0, 1000).every((e) => e.expiredAt === 0));
  // Nothing left: the interval is gone.
  assert.equal(wheel.pending, 0);
  assert.ok(timers() <= before, 'the interval stops when nothing waits');
});
