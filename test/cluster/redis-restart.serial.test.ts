/**
 * Acceptance (issue 5): Redis restarted mid-run. Three gateway nodes behind nginx, generator
 * events flowing, SDK clients connected; Redis goes away and comes back. The nodes reconnect,
 * delivery resumes, and what was missed is recovered from durable history: every client ends
 * with every version of every product, once, in order.
 *
 * The shared test Redis runs without persistence (its history would be gone after a restart, and
 * clients would rightly be told `recovery_failed`); this test runs its own Redis with an
 * append-only file, so history survives the restart as it would in production.
 *
 *   REDIS_CHAOS_EVENTS (default 2000), REDIS_CHAOS_RATE (300/s), REDIS_CHAOS_DOWN_MS (1000)
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import {
  ClientFleet,
  TestCluster,
  percentile,
  productVersions,
  startPacedGenerator,
  untilApplied,
  versionBumps,
} from '../helpers/cluster.js';
import { startPrivateRedis } from '../helpers/services.js';

const EVENTS = Number(process.env.REDIS_CHAOS_EVENTS || 2000);
const RATE = Number(process.env.REDIS_CHAOS_RATE || 300);
const DOWN_MS = Number(process.env.REDIS_CHAOS_DOWN_MS || 1000);
const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`Redis restarted mid-run (${EVENTS} events at ${RATE}/s)`, { timeout: 300_000 }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('nodes reconnect, delivery resumes, and what was missed is recovered from history', async () => {
    const redis = await startPrivateRedis({ persistent: true });
    cleanups.push(() => redis.stop());
    const cluster = await TestCluster.start({
      nodes: 3,
      redisUrl: redis.url,
      env: { HISTORY_SIZE: '20000', SSE_RETRY_MS: '250' },
    });
    cleanups.push(() => cluster.close());
    const url = cluster.nginx.url;
    const initial = await productVersions(url);
    const fleet = await ClientFleet.open({ url, ws: 20, sse: 20 });
    cleanups.push(() => fleet.close());

    const pacing = await startPacedGenerator(cluster, { initial, events: EVENTS, rate: RATE, logger, cleanups });

    // A third of the way in, Redis crashes (SIGKILL; with fsync on every write nothing it
    // acknowledged is lost), stays down for DOWN_MS and comes back with its data.
    while (pacing.emitted < EVENTS / 3) await sleep(20);
    await redis.kill();
    const downAt = Date.now();
    await sleep(DOWN_MS);
    await redis.restart();
    const upAt = Date.now();
    const atRestart = fleet.deliveries;
    // Delivery resumes: every client gets new events again (ten each, say).
    while (fleet.deliveries < atRestart + 40 * 10) {
      if (Date.now() - upAt > 30_000)
        assert.fail(`no delivery within 30 s of Redis coming back\n${cluster.describe()}`);
      await sleep(20);
    }
    const resumedAfterMs = Date.now() - upAt;
    await pacing.done;

    const final = await untilApplied(cluster, initial, EVENTS, 60_000);
    assert.equal(versionBumps(final, initial), EVENTS, 'every event applied exactly once');
    const deliverDeadline = Date.now() + 60_000;
    while (!fleet.holdsAll(final, initial) && Date.now() < deliverDeadline) await sleep(100);

    const ready = await Promise.all(cluster.nodes.map(async (n) => (await fetch(`${n.url}/readyz`)).status));
    const stats = await Promise.all([1, 2, 3].map((i) => cluster.stats(i)));
    const { gaps, examples } = fleet.verify(final, initial);
    const figures = {
      events: EVENTS,
      redis_down_ms: upAt - downAt,
      delivery_resumed_after_ms: resumedAfterMs,
      deliveries: fleet.deliveries,
      expected_deliveries: EVENTS * 40,
      reconnects: fleet.reconnects,
      recovery_failed: fleet.recoveryFailed,
      gaps,
      publish_failures: stats.reduce((n, s) => n + (s.events_publish_failed ?? 0), 0),
      republished: stats.reduce((n, s) => n + (s.events_republished ?? 0), 0),
      bus_catch_ups: cluster.countLogs('redis bus reconnected: catching up from durable history'),
      resume_ms_p50: percentile(fleet.resumeMs, 50),
    };
    console.log(`[redis-restart] ${JSON.stringify(figures)}`);
    assert.deepEqual(ready, [200, 200, 200], 'every node is ready again');
    assert.equal(figures.bus_catch_ups, 3, 'every node noticed the gap and caught up from history');
    assert.equal(gaps, 0, `clients with a gap, repeat or reordering:\n${examples.join('\n')}`);
    assert.equal(fleet.recoveryFailed, 0);
    assert.equal(fleet.deliveries, EVENTS * 40, 'each client got each event once');
  });
});
