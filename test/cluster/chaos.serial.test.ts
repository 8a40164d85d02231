/**
 * Acceptance (issue 5), the chaos run: generator events at 500/s while the gateway nodes are
 * SIGKILLed and restarted one at a time, with WS and SSE SDK clients connected through nginx and
 * reconnecting as needed. At the end every client holds every product's final version, and per
 * product the versions it saw rise by one, with no gap, no repeat and no reordering.
 *
 *   CHAOS_EVENTS   events to generate (default 3000; `npm run chaos` runs 10,000)
 *   CHAOS_RATE     events per second (500)
 *   CHAOS_WS, CHAOS_SSE   clients of each kind (50 each)
 *   CHAOS_DOWN_MS  how long a killed node stays down before its restart (300)
 *   CHAOS_UP_MS    pause between a node's restart and the next kill (600)
 *   CHAOS_SIGNAL   SIGKILL (crash, default) or SIGTERM (drain)
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RabbitMQBroker } from '../../src/broker/rabbitmq.js';
import { EventGenerator } from '../../src/catalog/generator.js';
import { createLogger } from '../../src/logger.js';
import { ClientFleet, TestCluster, percentile, productVersions } from '../helpers/cluster.js';

const num = (name: string, fallback: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: expected a positive number`);
  return n;
};
const EVENTS = num('CHAOS_EVENTS', 3000);
const RATE = num('CHAOS_RATE', 500);
const WS = num('CHAOS_WS', 50);
const SSE = num('CHAOS_SSE', 50);
const DOWN_MS = num('CHAOS_DOWN_MS', 300);
const UP_MS = num('CHAOS_UP_MS', 600);
const SIGNAL = process.env.CHAOS_SIGNAL === 'SIGTERM' ? 'SIGTERM' : 'SIGKILL';

const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`chaos: ${EVENTS} events at ${RATE}/s, ${WS} WS + ${SSE} SSE clients through nginx, nodes ${SIGNAL}ed one at a time`, { timeout: 600_000 }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('every client ends with every product’s final version, each version once, in order', async () => {
    const cluster = await TestCluster.start({
      nodes: 3,
      env: {
        // History must reach back over a client's longest outage on the busy `products` channel.
        HISTORY_SIZE: String(Math.max(20_000, EVENTS * 2)),
        SSE_RETRY_MS: '250',
      },
    });
    cleanups.push(() => cluster.close());
    // On failure, keep nginx's whole error log (its prefix is removed with the cluster).
    let passed = false;
    cleanups.push(() => {
      if (passed) return;
      const file = join(tmpdir(), `hubcast-chaos-nginx-${Date.now()}.log`);
      writeFileSync(file, cluster.nginx.errors(Number.MAX_SAFE_INTEGER));
      console.log(`[chaos] failed: nginx error log kept in ${file}`);
    });
    const url = cluster.nginx.url;
    const versions = () => productVersions(url).catch((err: Error) => assert.fail(`${err.message}\n${cluster.describe()}`));
    const initial = await versions();
    const fleet = await ClientFleet.open({ url, ws: WS, sse: SSE });
    cleanups.push(() => fleet.close());

    // The product's own generator, driven one event at a time so exactly EVENTS go out at RATE.
    const broker = await RabbitMQBroker.connect(cluster.env.BROKER_URL, logger);
    cleanups.push(() => broker.close());
    let confirmed = 0;
    const generator = new EventGenerator({
      broker,
      productIds: async () => [...initial.keys()],
      intervalMs: 86_400_000, // never ticks by itself: emitOne() below sets the pace
      logger,
      onConfirmed: () => confirmed++,
    });
    await generator.start();
    let emitted = 0;
    let emittedIn = 0;
    const startedAt = Date.now();
    const generating = (async () => {
      while (emitted < EVENTS) {
        const due = Math.min(EVENTS, Math.floor(((Date.now() - startedAt) * RATE) / 1000));
        while (emitted < due) if (generator.emitOne()) emitted++;
        else break; // outbox full: try again next turn
        await sleep(5);
      }
      emittedIn = Date.now() - startedAt;
      await generator.stop();
    })();

    // Chaos: while events flow, take the nodes down one at a time and bring them back.
    const kills: number[] = [];
    const restartMs: number[] = [];
    let next = 1;
    await sleep(Math.min(1000, (EVENTS / RATE) * 100)); // let every client see its first events
    while (emitted < EVENTS) {
      const i = next;
      next = (next % 3) + 1;
      fleet.markOutage();
      if (SIGNAL === 'SIGKILL') await cluster.kill(i);
      else await cluster.terminate(i);
      kills.push(i);
      await sleep(DOWN_MS);
      const t = Date.now();
      await cluster.start(i);
      restartMs.push(Date.now() - t);
      await sleep(UP_MS);
    }
    await generating;
    const confirmedIn = Date.now() - startedAt;
    assert.equal(confirmed, EVENTS, 'the broker confirmed every event');

    // Every event applied exactly once: the versions went up by EVENTS in all.
    let final = initial;
    const bumps = (m: Map<number, number>) => [...m].reduce((n, [id, v]) => n + v - initial.get(id)!, 0);
    const applyDeadline = Date.now() + 60_000;
    while (bumps((final = await versions())) < EVENTS) {
      if (Date.now() > applyDeadline) assert.fail(`only ${bumps(final)} of ${EVENTS} events applied after 60 s`);
      await sleep(200);
    }
    assert.equal(bumps(final), EVENTS, 'no event applied twice');

    const deliverDeadline = Date.now() + 60_000;
    while (!fleet.holdsAll(final, initial) && Date.now() < deliverDeadline) await sleep(100);
    const { gaps, examples } = fleet.verify(final, initial);
    const expectedDeliveries = EVENTS * (WS + SSE);
    const figures = {
      events: EVENTS,
      emitted_per_s: Math.round((EVENTS * 1000) / emittedIn),
      confirmed_per_s: Math.round((EVENTS * 1000) / confirmedIn),
      kills: kills.length,
      node_restart_ms: restartMs,
      signal: SIGNAL,
      clients: WS + SSE,
      deliveries: fleet.deliveries,
      expected_deliveries: expectedDeliveries,
      reconnects: fleet.reconnects,
      recovery_failed: fleet.recoveryFailed,
      gaps,
      // Changes applied by a node that died before publishing them, announced from the redelivery.
      republished: cluster.countLogs('announced a change whose first publish was lost'),
      resume_ms_p50: percentile(fleet.resumeMs, 50),
      resume_ms_p99: percentile(fleet.resumeMs, 99),
      resume_ms_max: percentile(fleet.resumeMs, 100),
    };
    console.log(`[chaos] ${JSON.stringify(figures)}`);
    assert.equal(gaps, 0, `clients with a gap, repeat or reordering:\n${examples.join('\n')}`);
    assert.equal(fleet.recoveryFailed, 0, 'no client was told its history was lost');
    assert.equal(fleet.deliveries, expectedDeliveries, 'each client got each event once');
    assert.ok(kills.length >= 1, 'at least one node was killed during the run');
    assert.ok(fleet.reconnects >= 1, 'clients did reconnect');
    passed = true;
  });
});
