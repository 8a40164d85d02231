/**
 * Acceptance (issue 3): a malformed broker message ends in `catalog.dead`
 * with the reason in a header, nothing crashes, and the consumer keeps
 * consuming: a valid event published after it is applied and announced.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  Cleanup,
  TestProducer,
  TestSql,
  changeEvent,
  drainDeadLetters,
  gatewayStats,
  getProduct,
  pollUntil,
  isolatedServices,
} from '../helpers/e2e.js';
import { killAll, startHubcast } from '../helpers/processes.js';
import { queueInfo } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';

const REASON = 'x-hubcast-reason';

describe('malformed broker messages', { timeout: 60_000 }, () => {
  const cleanup = new Cleanup();
  after(async () => {
    await killAll();
    await cleanup.run();
  });

  it('are dead-lettered to catalog.dead with the reason; later valid events still apply', async () => {
    // The gateway as its own process: a crash would show as an exit.
    const { db, vhost, env } = await isolatedServices(cleanup);
    const gw = await startHubcast('gateway', env);
    cleanup.add(() => gw.stop());
    const producer = await TestProducer.open(vhost.url);
    cleanup.add(() => producer.close());
    const sql = await TestSql.open(db.url);
    cleanup.add(() => sql.close());

    const id = 5;
    const before = await getProduct(gw.url, id);
    const ws = await TestWs.open(gw.wsUrl);
    cleanup.add(() => ws.close());
    await ws.next((f) => f.type === 'connected');
    assert.equal((await ws.command('join_channel', { channel: 'products' })).ok, true);

    const valid = changeEvent(id, { stock: 4 });
    const bad: Array<{ body: string; reason: RegExp }> = [
      { body: 'this is not json {', reason: /not valid JSON/i },
      { body: '', reason: /empty/i },
      {
        body: JSON.stringify({ product_id: id, changes: { stock: 1 }, occurred_at: new Date().toISOString() }),
        reason: /event_id/,
      },
      { body: JSON.stringify({ ...changeEvent(id, { price: -5 }) }), reason: /price/ },
      { body: JSON.stringify({ ...changeEvent(id, { stock: 1.5 }) }), reason: /stock/ },
      { body: JSON.stringify({ ...changeEvent(id, { colour: 'red' } as never) }), reason: /colour|changes/ },
      { body: '[1, 2, 3]', reason: /object/i },
      { body: JSON.stringify(changeEvent(999_999, { stock: 1 })), reason: /unknown product_id 999999/ },
    ];
    for (const b of bad) await producer.publish(b.body, { headers: { 'x-test': 'kept' } });
    await producer.publish(valid);

    // The valid event, published after all of them, is applied and pushed.
    const update = await ws.next((f) => f.type === 'event' && f.channel === 'products' && f.data.id === id, 10_000);
    assert.equal(update.data.version, before.version + 1);
    assert.equal(update.data.stock, 4);
    assert.equal(await sql.appliedCount(valid.event_id), 1);

    // (in_flight drops when dead-lettering starts; the counter below moves once catalog.dead confirmed.)
    const stats = await pollUntil(
      () => gatewayStats(gw.url),
      (s) => s.events_dead_lettered === bad.length && s.events_applied === 1,
      { what: 'every message settled' },
    );
    assert.equal(stats.events_received, bad.length + 1);
    assert.equal(stats.events_in_flight, 0);
    await pollUntil(
      () => queueInfo(vhost, 'catalog.dead'),
      (q) => q !== null && q.messages === bad.length,
      { what: `${bad.length} messages in catalog.dead` },
    );
    await pollUntil(
      () => queueInfo(vhost, 'catalog.gateway'),
      (q) => q !== null && q.messages === 0,
      { what: 'catalog.gateway empty' },
    );

    const dead = await drainDeadLetters(vhost.url);
    assert.deepEqual(
      dead.map((d) => d.body),
      bad.map((b) => b.body),
      'the original bodies, in order',
    );
    dead.forEach((d, i) => {
      const reason = String(d.headers[REASON] ?? '');
      assert.match(reason, bad[i].reason, `reason of ${JSON.stringify(bad[i].body)}: ${reason}`);
      assert.equal(d.headers['x-test'], 'kept', 'the producer’s own headers survive');
    });

    // Still healthy and consuming.
    assert.equal(gw.exit, null, 'the gateway did not crash');
    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const next = changeEvent(id, { stock: 5 });
    await producer.publish(next);
    const again = await ws.next(
      (f) => f.type === 'event' && f.channel === 'products' && f.data.version === before.version + 2,
      10_000,
    );
    assert.equal(again.data.stock, 5);
    assert.equal(gw.logs.filter((r) => r.level >= 50).length, 0, `no error logs:\n${gw.tail()}`);
  });
});
