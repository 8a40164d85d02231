/**
 * Acceptance (issue 19): Redis restarted without persistence during a publish burst. Two nodes,
 * generator events flowing, SDK clients through nginx and plain `ws` / SSE clients that resume on
 * the other node every few hundred milliseconds. Node 2 reaches Redis through a relay that the
 * test cuts before the restart and mends only once node 1 publishes into the new, empty history:
 * node 2 has then certainly missed publications it cannot read back (the order a restart leaves
 * to chance, made certain).
 *
 * Every client ends with every product's final version; a client that missed versions was told
 * `recovery_failed` before the gap (the SDK clients refetch then); no client without the SDK's
 * dedup sees an id repeated or going backwards.
 *
 *   REDIS_EMPTY_EVENTS (default 2400), REDIS_EMPTY_RATE (300/s)
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { ClientFleet, TestCluster, productVersions, startPacedGenerator, untilApplied } from '../helpers/cluster.js';
import { startPrivateRedis } from '../helpers/services.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { VersionTracker, resumingSse, resumingWs, summarize } from '../helpers/wire-clients.js';

const EVENTS = Number(process.env.REDIS_EMPTY_EVENTS || 2400);
const RATE = Number(process.env.REDIS_EMPTY_RATE || 300);
const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`Redis restarted empty during a burst (${EVENTS} events at ${RATE}/s, two nodes)`, {
  timeout: 120_000,
}, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('every client has every version or was told recovery_failed first; no repeated or backwards id on the wire', async () => {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const relay = await startTcpProxy(redis.port);
    cleanups.push(() => relay.close());
    const cluster = await TestCluster.start({
      nodes: 2,
      redisUrl: redis.url,
      nodeEnv: (i): Record<string, string> => (i === 2 ? { REDIS_URL: relay.url } : {}),
      startOrder: [1, 2], // node 1 consumes (and publishes) while node 2 is cut off
      env: { SSE_RETRY_MS: '250' },
    });
    cleanups.push(() => cluster.close());
    const url = cluster.nginx.url;
    const initial = await productVersions(url);
    const fleet = await ClientFleet.open({ url, ws: 8, sse: 8, initial });
    cleanups.push(() => fleet.close());
    const nodeUrls = cluster.nodes.map((n) => n.url);
    const plain = [
      resumingWs(nodeUrls, 'products', new VersionTracker('ws-plain-1', initial), 600),
      resumingWs([...nodeUrls].reverse(), 'products', new VersionTracker('ws-plain-2', initial), 700),
      resumingSse(nodeUrls, 'products', new VersionTracker('sse-plain-1', initial), 600),
      resumingSse([...nodeUrls].reverse(), 'products', new VersionTracker('sse-plain-2', initial), 700),
    ];
    cleanups.push(() => {
      for (const c of plain) c.stop();
    });

    const pacing = await startPacedGenerator(cluster, { initial, events: EVENTS, rate: RATE, logger, cleanups });

    // A third of the way in: node 2 loses Redis, Redis dies and comes back empty, node 1
    // publishes into the new history, and only then node 2 gets Redis back.
    while (pacing.emitted < EVENTS / 3) await sleep(20);
    relay.block();
    await redis.kill();
    const downAt = Date.now();
    await redis.restart();
    const upAt = Date.now();
    const before = (await cluster.stats(1)).publications as number;
    while (((await cluster.stats(1)).publications as number) < before + 50) {
      if (Date.now() - upAt > 30_000)
        assert.fail(`node 1 did not publish within 30 s of Redis coming back\n${cluster.describe()}`);
      await sleep(50);
    }
    const node1ResumedMs = Date.now() - upAt;
    relay.unblock();
    await pacing.done;

    const final = await untilApplied(cluster, initial, EVENTS, 45_000);
    const trackers = () => [...fleet.trackers, ...plain.map((c) => c.tracker)];
    const deliverDeadline = Date.now() + 30_000;
    while (!trackers().every((t) => t.holds(final)) && Date.now() < deliverDeadline) await sleep(100);
    await fleet.settled();
    for (const c of plain) c.stop();

    const stats = await Promise.all([1, 2].map((i) => cluster.stats(i)));
    const sdk = summarize(fleet.trackers);
    const wire = summarize(plain.map((c) => c.tracker));
    const lagging = trackers()
      .filter((t) => !t.holds(final))
      .map((t) => t.name);
    const figures = {
      events: EVENTS,
      redis_down_ms: upAt - downAt,
      node1_publishing_after_ms: node1ResumedMs,
      catch_up_failures: stats.map((s) => s.bus_catch_up_failures),
      recovery_failed_notices: stats.map((s) => s.recovery_failed_notices),
      plain_resumes: plain.reduce((n, c) => n + c.resumes, 0),
      sdk,
      wire,
      lagging,
    };
    console.log(`[redis-empty] ${JSON.stringify(figures)}`);
    assert.equal(
      sdk.silent_gaps + wire.silent_gaps,
      0,
      `versions missed without recovery_failed:\n${[...sdk.examples, ...wire.examples].join('\n')}`,
    );
    assert.equal(
      sdk.repeats + wire.repeats,
      0,
      `versions delivered twice:\n${[...sdk.examples, ...wire.examples].join('\n')}`,
    );
    assert.equal(wire.id_repeats, 0, `repeated or backwards ids on the wire:\n${wire.examples.join('\n')}`);
    assert.deepEqual(lagging, [], 'every client shows every product’s final version');
    assert.ok(stats[1].bus_catch_up_failures >= 1, 'node 2 could not prove its catch-up complete, and said so');
    assert.ok(sdk.notices >= 1, 'the clients of node 2 were told recovery_failed');
  });
});
