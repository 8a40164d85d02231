/**
 * Acceptance (issue 3): RabbitMQ restarted while the generator runs at 100
 * events/s: every event the broker confirmed to the generator is applied
 * (applied_events holds it), none twice. Serial: it restarts the shared RabbitMQ.
 *
 * The gateway runs as its own process (`hubcast gateway`); the generator is
 * the product's EventGenerator in the test process, so its confirmed
 * event_ids can be compared with the database.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RabbitMQBroker } from '../../src/broker/rabbitmq.js';
import { EventGenerator } from '../../src/apps/catalog/generator.js';
import { createLogger } from '../../src/logger.js';
import { Cleanup, TestSql, gatewayStats, pollUntil, isolatedServices } from '../helpers/e2e.js';
import { getJson } from '../helpers/gateway.js';
import { killAll, startHubcast } from '../helpers/processes.js';
import { restartService, startService } from '../helpers/services.js';

const logger = createLogger(process.env.HUBCAST_TEST_LOG ?? 'silent');

describe('RabbitMQ restart under load', { timeout: 150_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('every confirmed event is applied exactly once', async () => {
    const { db, vhost, env } = await isolatedServices(cleanup);
    const gw = await startHubcast('gateway', env);
    cleanup.add(() => gw.stop());
    const sql = await TestSql.open(db.url);
    cleanup.add(() => sql.close());
    const ids = ((await getJson(`${gw.url}/api/products`)).body as Array<{ id: number }>).map((p) => p.id);

    const broker = await RabbitMQBroker.connect(vhost.url, logger, { reconnectInitialMs: 100, reconnectMaxMs: 1000 });
    cleanup.add(() => broker.close());
    const confirmed = new Set<string>();
    const generator = new EventGenerator({
      broker,
      productIds: async () => ids,
      intervalMs: 1000,
      rate: 100,
      logger,
      onConfirmed: (e) => confirmed.add(e.event_id),
    });
    await generator.start();
    let stopped = false;
    cleanup.add(async () => {
      if (!stopped) await generator.stop();
    });

    const started = Date.now();
    await pollUntil(
      async () => (await sql.appliedIds()).length,
      (n) => n >= 200,
      { timeoutMs: 20_000, what: '200 events applied before the restart' },
    );
    const beforeRestart = generator.stats().confirmed;
    const restartAt = Date.now();
    // Sampled, not awaited: proves the generator's connection really went away.
    let generatorDisconnected = false;
    const sampler = setInterval(() => {
      if (!broker.isReady()) generatorDisconnected = true;
    }, 10);
    try {
      await restartService('rabbitmq');
    } catch (err) {
      // The test fails either way; just do not leave the shared broker down for everyone after us.
      await startService('rabbitmq').catch(() => undefined);
      throw err;
    } finally {
      clearInterval(sampler);
    }
    const restartMs = Date.now() - restartAt;
    assert.ok(generatorDisconnected, 'the generator lost its connection during the restart');
    await pollUntil(
      () => generator.stats().confirmed,
      (n) => n >= beforeRestart + 300,
      { timeoutMs: 60_000, intervalMs: 100, what: 'publishing resumed after the restart' },
    );
    const gatewayBack = await pollUntil(
      () => gatewayStats(gw.url),
      (s) => s.events_applied > 0,
      { timeoutMs: 30_000, what: 'the gateway still serving' },
    );
    assert.ok(gatewayBack);

    const report = await generator.stop();
    stopped = true;
    const runMs = Date.now() - started;
    assert.deepEqual(report.unconfirmed, [], 'every generated event was confirmed in the end');
    assert.ok(confirmed.size >= 500, `sustained load: ${confirmed.size} events confirmed in ${runMs} ms`);

    // Every confirmed event ends up in applied_events, once.
    const applied = await pollUntil(
      async () => new Set(await sql.appliedIds()),
      (set) => [...confirmed].every((id) => set.has(id)),
      { timeoutMs: 30_000, intervalMs: 200, what: `all ${confirmed.size} confirmed events applied` },
    );
    await pollUntil(
      () => gatewayStats(gw.url),
      (s) => s.events_in_flight === 0,
      { what: 'the gateway idle' },
    );
    const final = new Set(await sql.appliedIds());
    assert.deepEqual(
      [...final].filter((id) => !confirmed.has(id)),
      [],
      'nothing applied that was not generated',
    );
    assert.equal(final.size, applied.size);
    // applied_events has a primary key; versions prove each applied event bumped a version exactly once.
    assert.equal(await sql.versionBumps(), final.size, 'sum of version increments equals the applied events');
    const s = await gatewayStats(gw.url);
    assert.equal(s.events_dead_lettered, 0);
    assert.equal(gw.exit, null, 'the gateway survived the restart');
    assert.ok(
      gw.logs.some((r) => r.msg === 'RabbitMQ connection lost; reconnecting'),
      'the gateway saw the restart',
    );
    assert.ok(
      gw.logs.some((r) => r.msg === 'reconnected to RabbitMQ'),
      'and reconnected',
    );
    logger.info(
      { confirmed: confirmed.size, publishFailures: report.failed, duplicates: s.events_duplicate, restartMs, runMs },
      'rabbitmq restart e2e',
    );
  });
});
