/**
 * Acceptance (issue 15): 10,000 random changes across all products, a tenth
 * of them published twice, the gateway SIGKILLed mid-run and replaced; then
 * the event log holds exactly the applied changes, `hubcast rebuild` finds
 * no difference, and a state-at query answers what the live API showed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { Cleanup, TestSql, gatewayStats, pollUntil, isolatedServices } from '../helpers/e2e.js';
import { killAll, startHubcast } from '../helpers/processes.js';
import { queueInfo } from '../helpers/services.js';

const execFileAsync = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/hubcast.js');
// The acceptance run: 10,000 (about 20 s on a busy 2-core machine, 7 s more than 3,000).
const EVENTS = Number(process.env.HUBCAST_EVENT_LOG_E2E_EVENTS ?? 10_000);

interface Product {
  id: number;
  price: number;
  stock: number;
  version: number;
  updated_at: string;
}

describe('event log through a killed gateway', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('random changes with duplicates and a SIGKILL: the log is exact, rebuild finds nothing, state-at matches', async () => {
    const { db, vhost, env } = await isolatedServices(cleanup);
    const first = await startHubcast('gateway', env, { name: 'gateway #1' });
    cleanup.add(() => first.stop());
    const sql = await TestSql.open(db.url);
    cleanup.add(() => sql.close());
    const ids = (await sql.client.query<{ id: number }>('SELECT id FROM products ORDER BY id')).rows.map((r) => r.id);

    let seed = 15;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const bodies: Buffer[] = [];
    const distinct = new Set<string>();
    for (let i = 0; i < EVENTS; i++) {
      const r = rand(3);
      // Prices from whole cents: 1 + 0.07 is not 1.07 in binary, and the gateway rightly refuses a third decimal.
      const changes = r === 0 ? { price: (100 + rand(100_000)) / 100 } : r === 1 ? { stock: rand(1000) } : { price: (100 + rand(5000)) / 100, stock: rand(50) };
      const body = { event_id: randomUUID(), product_id: ids[rand(ids.length)], changes, occurred_at: new Date().toISOString() };
      distinct.add(body.event_id);
      bodies.push(Buffer.from(JSON.stringify(body)));
      // A tenth go twice, a little later: a producer's retry.
      if (i % 10 === 0) bodies.splice(Math.max(0, bodies.length - 1 - rand(50)), 0, bodies[bodies.length - 1]);
    }

    const conn = await amqp.connect(vhost.url);
    cleanup.add(() => conn.close().catch(() => undefined));
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('catalog', 'topic', { durable: true });
    for (const [i, bytes] of bodies.entries()) {
      ch.publish('catalog', 'product.changed', bytes, { persistent: true, contentType: 'application/json', appId: 'e2e-producer', messageId: `m-${i}` });
      if (i % 500 === 499) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();

    // Mid-run: what the live API shows, then the kill.
    await pollUntil(() => sql.client.query('SELECT count(*)::int AS n FROM applied_events').then((r) => r.rows[0].n as number), (n) => n >= EVENTS / 4, {
      timeoutMs: 60_000,
      what: 'a quarter applied',
    });
    const seen = (await (await fetch(`${first.url}/api/products`)).json()) as Product[];
    assert.deepEqual(await first.kill(), { code: null, signal: 'SIGKILL' });
    const second = await startHubcast('gateway', env, { name: 'gateway #2' });
    cleanup.add(() => second.stop());

    await pollUntil(() => sql.client.query('SELECT count(*)::int AS n FROM applied_events').then((r) => r.rows[0].n as number), (n) => n === distinct.size, {
      timeoutMs: 90_000,
      what: 'every distinct event applied',
    });
    await pollUntil(() => queueInfo(vhost, 'catalog.gateway'), (q) => q?.messages === 0, { timeoutMs: 30_000, what: 'the queue drained' });
    await pollUntil(() => gatewayStats(second.url), (s) => s.events_in_flight === 0, { what: 'settled' });

    const { rows: [counts] } = await sql.client.query(
      `SELECT count(*) FILTER (WHERE kind = 'changed')::int AS changed, count(DISTINCT event_id)::int AS ids,
              count(*) FILTER (WHERE kind = 'created')::int AS created,
              count(*) FILTER (WHERE producer = 'e2e-producer' AND message_id LIKE 'm-%')::int AS provenance
         FROM product_events`,
    );
    assert.deepEqual(counts, { changed: distinct.size, ids: distinct.size, created: ids.length, provenance: distinct.size });
    assert.equal(await sql.versionBumps(), distinct.size);

    const rebuild = await execFileAsync(process.execPath, [BIN, 'rebuild'], { env: { PATH: process.env.PATH, DATABASE_URL: db.url }, timeout: 60_000 });
    assert.match(rebuild.stdout, new RegExp(`rebuild: ${ids.length} products from ${distinct.size + ids.length} log rows .*the live table matches the log`));

    for (const p of seen) {
      for (const query of [`version=${p.version}`, `at=${encodeURIComponent(p.updated_at)}`]) {
        const res = await fetch(`${second.url}/api/products/${p.id}?${query}`);
        assert.equal(res.status, 200, query);
        assert.deepEqual(await res.json(), p, `product ${p.id} ?${query}`);
      }
    }
  });
});
