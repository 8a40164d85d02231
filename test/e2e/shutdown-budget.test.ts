/**
 * SHUTDOWN_TIMEOUT_MS is the whole shutdown budget: a gateway whose graceful
 * stop cannot finish (its consumer waits on an apply that waits on a row lock)
 * exits 1 when the budget runs out, whether the budget is under or over the
 * 10 s the CLI used to wait regardless.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import amqp from 'amqplib';
import { Cleanup, TestSql, isolatedServices, pollUntil } from '../helpers/e2e.js';
import { killAll, startHubcast } from '../helpers/processes.js';

describe('SHUTDOWN_TIMEOUT_MS bounds a shutdown that cannot finish', { timeout: 90_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  /** A gateway stuck in shutdown: SIGTERM while its apply of product 1 waits on our lock. Resolves with exit and elapsed ms. */
  async function stuckShutdown(budgetMs: number) {
    const { vhost, db, env } = await isolatedServices(cleanup);
    const gw = await startHubcast(
      'gateway',
      { ...env, SHUTDOWN_TIMEOUT_MS: String(budgetMs) },
      { name: `gateway (budget ${budgetMs} ms)` },
    );
    cleanup.add(() => gw.stop());
    const sql = await TestSql.open(db.url);
    cleanup.add(() => sql.close());
    await sql.client.query('BEGIN');
    await sql.client.query('SELECT 1 FROM products WHERE id = 1 FOR UPDATE');
    cleanup.add(() => sql.client.query('ROLLBACK').then(() => undefined));

    const conn = await amqp.connect(vhost.url);
    cleanup.add(() => conn.close().catch(() => undefined));
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('catalog', 'topic', { durable: true });
    const body = {
      event_id: randomUUID(),
      product_id: 1,
      changes: { stock: 5 },
      occurred_at: new Date().toISOString(),
    };
    ch.publish('catalog', 'product.changed', Buffer.from(JSON.stringify(body)), {
      persistent: true,
      contentType: 'application/json',
    });
    await ch.waitForConfirms();
    const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    await pollUntil(
      () => sql.client.query(waiting).then((r) => r.rows[0].n as number),
      (n) => n >= 1,
      { what: 'the apply waiting on the row lock' },
    );

    const started = Date.now();
    gw.signal('SIGTERM');
    const exit = await gw.waitExit(budgetMs + 10_000);
    return { exit, ms: Date.now() - started, gw };
  }

  it('a budget under 10 s and one over it: each exits 1 when its own budget is spent', async () => {
    const [short, long] = await Promise.all([stuckShutdown(1500), stuckShutdown(11_000)]);
    assert.deepEqual(short.exit, { code: 1, signal: null }, short.gw.tail());
    assert.ok(short.ms >= 1400 && short.ms < 6000, `budget 1500 ms: exited after ${short.ms} ms`);
    assert.deepEqual(long.exit, { code: 1, signal: null }, long.gw.tail());
    assert.ok(long.ms >= 10_900 && long.ms < 16_000, `budget 11000 ms: exited after ${long.ms} ms`);
    for (const { gw } of [short, long]) {
      assert.ok(
        gw.logs.some((r) => r.level >= 50 && /took longer than SHUTDOWN_TIMEOUT_MS/.test(r.msg)),
        gw.tail(),
      );
    }
  });
});
