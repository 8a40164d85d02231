import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpreadSweep, type Swept } from '../../src/transports/spread-sweep.js';

interface Conn extends Swept {
  visits: number[];
}

test('each connection is visited about once per interval, on its own phase, never in one burst', (t) => {
  // The clock and the interval are mocked: on a busy machine a real timer fires late and one tick
  // does the work of several, which says nothing about the schedule this test is about.
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 });
  const interval = 400;
  const conns: Conn[] = [];
  const ticks = new Map<number, number>();
  const sweep = new SpreadSweep<Conn>(
    interval,
    () => conns,
    (c) => {
      const now = Date.now();
      c.visits.push(now);
      ticks.set(now, (ticks.get(now) ?? 0) + 1);
    },
  );
  t.after(() => sweep.stop());
  // A burst of connections arriving together, as after a restart.
  for (let i = 0; i < 200; i++) conns.push({ sweepDue: sweep.firstDue(), visits: [] });
  const start = Date.now();
  for (let elapsed = 0; elapsed < interval * 3 + 100; elapsed += sweep.tickMs) t.mock.timers.tick(sweep.tickMs);
  for (const c of conns) {
    assert.ok(c.visits.length >= 2 && c.visits.length <= 3, `visited ${c.visits.length} times in 3¼ intervals`);
    const first = c.visits[0] - start;
    assert.ok(first >= interval / 2 && first <= interval, `first visit in the second half of the interval: ${first}`);
    for (let i = 1; i < c.visits.length; i++) {
      const gap = c.visits[i] - c.visits[i - 1];
      assert.ok(gap >= interval - sweep.tickMs && gap <= interval, `gap ${gap} ms`);
    }
  }
  const biggestTick = Math.max(...ticks.values());
  assert.ok(ticks.size >= 8, `visits spread over ${ticks.size} ticks`);
  assert.ok(biggestTick < 200 / 4, `at most a fraction of the connections per tick, got ${biggestTick} of 200`);
});

test('a connection no longer listed is not visited', async (t) => {
  const conns: Conn[] = [{ sweepDue: 0, visits: [] }];
  const sweep = new SpreadSweep<Conn>(
    100,
    () => conns,
    (c) => c.visits.push(Date.now()),
  );
  t.after(() => sweep.stop());
  await new Promise((r) => setTimeout(r, 60));
  const gone = conns.pop()!;
  const seen = gone.visits.length;
  assert.ok(seen >= 1);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(gone.visits.length, seen);
});
