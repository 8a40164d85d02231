import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpreadSweep, type Swept } from '../../src/transports/spread-sweep.js';

interface Conn extends Swept {
  visits: number[];
}

test('each connection is visited about once per interval, on its own phase, never in one burst', async (t) => {
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
  await new Promise((r) => setTimeout(r, interval * 3 + 100));
  for (const c of conns) {
    // Timers fire late on a busy machine (the suite runs in parallel), so the upper bounds are loose;
    // the lower bound is the schedule's own: never twice within an interval minus a tick.
    assert.ok(c.visits.length >= 1 && c.visits.length <= 4, `visited ${c.visits.length} times in ~3 intervals`);
    assert.ok(c.visits[0] - start <= interval + 200, 'first visit within about one interval');
    for (let i = 1; i < c.visits.length; i++) {
      const gap = c.visits[i] - c.visits[i - 1];
      assert.ok(gap >= interval - 2 * sweep.tickMs, `gap ${gap} ms`);
    }
  }
  const biggestTick = Math.max(...ticks.values());
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
