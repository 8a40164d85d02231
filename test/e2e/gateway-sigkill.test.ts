/**
 * Acceptance (issue 3): the gateway killed with SIGKILL between receiving an
 * event and acking it; after a restart the event is applied exactly once.
 *
 * The window is made real: the test locks the product row (`SELECT … FOR
 * UPDATE` in an open transaction), so the gateway's apply blocks inside its
 * own transaction with the delivery unacked. Then SIGKILL, release the lock,
 * start a new gateway: RabbitMQ redelivers, the event is applied once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  Cleanup,
  TestProducer,
  TestSql,
  changeEvent,
  gatewayStats,
  getProduct,
  pollUntil,
  isolatedServices,
} from '../helpers/e2e.js';
import { killAll, startHubcast } from '../helpers/processes.js';
import { queueInfo } from '../helpers/services.js';

describe('gateway SIGKILLed mid-apply', { timeout: 90_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('the unacked event is redelivered and applied exactly once after a restart', async () => {
    const { db, vhost, env } = await isolatedServices(cleanup);
    const first = await startHubcast('gateway', env, { name: 'gateway #1' });
    cleanup.add(() => first.stop());
    const sql = await TestSql.open(db.url);
    cleanup.add(() => sql.close());
    const locker = await TestSql.open(db.url);
    cleanup.add(() => locker.close());
    const producer = await TestProducer.open(vhost.url);
    cleanup.add(() => producer.close());

    const id = 11;
    const before = await sql.product(id);
    await locker.client.query('BEGIN');
    await locker.client.query('SELECT id FROM products WHERE id = $1 FOR UPDATE', [id]);

    const event = changeEvent(id, { stock: 321, price: 45.67 });
    await producer.publish(event);

    // The gateway took the delivery and its apply is now waiting for our row lock.
    await pollUntil(
      async () =>
        (
          await sql.client.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
          )
        ).rows[0].n as number,
      (n) => n >= 1,
      { what: 'the gateway’s apply to block on the row lock' },
    );
    const held = await pollUntil(
      () => queueInfo(vhost, 'catalog.gateway'),
      (q) => q?.messages_unacknowledged === 1,
      { what: 'the delivery unacked' },
    );
    assert.equal(held!.messages_ready, 0);
    assert.equal((await gatewayStats(first.url)).events_applied, 0);

    assert.deepEqual(await first.kill(), { code: null, signal: 'SIGKILL' });
    // RabbitMQ noticed the dead connection and put the message back.
    await pollUntil(
      () => queueInfo(vhost, 'catalog.gateway'),
      (q) => q?.messages_ready === 1 && q.messages_unacknowledged === 0,
      {
        what: 'the message requeued',
      },
    );

    await locker.client.query('ROLLBACK');
    const second = await startHubcast('gateway', env, { name: 'gateway #2' });
    cleanup.add(() => second.stop());

    await pollUntil(
      () => sql.appliedCount(event.event_id),
      (n) => n === 1,
      { what: 'the event applied by the new gateway' },
    );
    await pollUntil(
      () => queueInfo(vhost, 'catalog.gateway'),
      (q) => q?.messages === 0,
      { what: 'the redelivery acked' },
    );
    const stats = await pollUntil(
      () => gatewayStats(second.url),
      (s) => s.events_in_flight === 0 && s.events_received >= 1,
      { what: 'settled' },
    );
    // Usually the killed gateway's statement is cancelled (client_connection_check_interval)
    // and the new one applies it; if the lock is released before PostgreSQL noticed the dead
    // client, that orphaned statement commits and the redelivery is a duplicate. Either way
    // the event is applied once, which is what the checks below hold.
    assert.equal(stats.events_applied + stats.events_duplicate, 1, 'the new gateway settled it once');
    assert.equal(stats.events_dead_lettered, 0);

    const after = await sql.product(id);
    assert.equal(after.version, before.version + 1, 'version went up by exactly one');
    assert.equal(after.stock, 321);
    assert.equal(after.price, '45.67');
    assert.equal(await sql.appliedCount(event.event_id), 1);
    assert.deepEqual(await sql.appliedIds(), [event.event_id], 'nothing else was applied');
    const shown = await getProduct(second.url, id);
    assert.equal(shown.version, before.version + 1);
    assert.equal(shown.stock, 321);
  });
});
