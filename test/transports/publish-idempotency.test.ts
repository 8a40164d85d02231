/**
 * The server API's publish contract: an Idempotency-Key makes a retried publish
 * a no-op cluster-wide (the repeat answers the first answer), and a publish
 * while the cluster bus (Redis) is down answers 503 `unavailable` with
 * Retry-After instead of 500.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { postJson, startGateway } from '../helpers/gateway.js';
import { redisPrefix, serviceUrls, startPrivateRedis } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';

async function post(url: string, body: unknown, key?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

async function joined(wsUrl: string, channel: string): Promise<TestWs> {
  const ws = await TestWs.open(wsUrl);
  await ws.next((f) => f.type === 'connected');
  ws.send({ type: 'command', command: 'join_channel', data: { channel }, ref: 'j' });
  await ws.next((f) => f.type === 'reply' && f.ref === 'j');
  return ws;
}

test('same Idempotency-Key on two nodes sharing Redis: one event, the repeat answers the first answer', async () => {
  const prefix = redisPrefix();
  const { redisUrl } = serviceUrls();
  const a = await startGateway({ redisUrl, redisPrefix: prefix, nodeId: 'idem-a' });
  const b = await startGateway({ redisUrl, redisPrefix: prefix, nodeId: 'idem-b' });
  const ws = await joined(b.wsUrl, 'orders');
  try {
    const key = randomUUID();
    const body = { channel: 'orders', event: 'order.created', data: { order: 1 } };
    const first = await post(`${a.url}/realtime/send`, body, key);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await post(`${b.url}/realtime/send`, body, key);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    // A later event without a key marks the end: everything before it has arrived.
    await post(`${a.url}/realtime/send`, { channel: 'orders', event: 'end', data: null });
    await ws.next((f) => f.type === 'event' && f.event === 'end', 10_000);
    const created = ws.frames.filter((f) => f.type === 'event' && f.event === 'order.created');
    assert.equal(created.length, 1, `order.created delivered ${created.length} times`);
    assert.equal(created[0].id, first.body.id);

    const reused = await post(`${b.url}/realtime/send`, { ...body, data: { order: 2 } }, key);
    assert.equal(reused.status, 422);
    assert.equal(reused.body.error.code, 'idempotency_key_reused');
  } finally {
    ws.ws.close();
    await a.close();
    await b.close();
  }
});

test('without Redis the key works per node; a bad key is refused 400', async () => {
  const gw = await startGateway();
  try {
    const key = randomUUID();
    const first = await post(`${gw.url}/realtime/broadcast`, { data: 1 }, key);
    const again = await post(`${gw.url}/realtime/broadcast`, { data: 1 }, key);
    assert.equal(first.status, 200);
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const stats = await (await fetch(`${gw.url}/realtime/stats`)).json();
    assert.equal(stats.idempotent_replays, 1);
    const bad = await post(`${gw.url}/realtime/broadcast`, { data: 1 }, 'has space');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'bad_request');
  } finally {
    await gw.close();
  }
});

test('Redis down: a publish answers 503 unavailable with Retry-After, with or without a key', async () => {
  const redis = await startPrivateRedis();
  const gw = await startGateway({ redisUrl: redis.url, redisPrefix: redisPrefix() });
  try {
    const ok = await postJson(`${gw.url}/realtime/send`, { channel: 'orders', data: 1 });
    assert.equal(ok.status, 200);
    await redis.kill();
    for (const key of [undefined, randomUUID()]) {
      const res = await post(`${gw.url}/realtime/send`, { channel: 'orders', data: 2 }, key);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'unavailable');
      assert.ok(Number(res.headers.get('retry-after')) >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
    }
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /hubcast_publish_unavailable_total 2/);
  } finally {
    await gw.close();
    await redis.stop();
  }
});
