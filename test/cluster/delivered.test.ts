/**
 * `POST /realtime/send?count=cluster` on two gateway nodes sharing the Redis bus: `delivered`
 * stays this node's count, `delivered_cluster` adds every node's actual deliveries of the event,
 * with `nodes` / `nodes_answered`; a live node that does not answer costs a bounded wait.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { TestSse } from '../helpers/sse-client.js';
import { TestWs } from '../helpers/ws-client.js';
import { TALLY_TIMEOUT_MS } from '../../src/cluster/delivery-tally.js';

let a: RunningGateway;
let b: RunningGateway;
let prefix: string;
const clients: Array<{ close(): void }> = [];
before(async () => {
  prefix = redisPrefix();
  const redisUrl = serviceUrls().redisUrl;
  a = await startGateway({ redisUrl, redisPrefix: prefix, nodeId: 'dl-a' });
  b = await startGateway({ redisUrl, redisPrefix: prefix, nodeId: 'dl-b' });
  await waitFor(() => a.gateway.cluster.nodes().length === 2, 8000, 'node A to see node B in the directory');
});
after(async () => {
  for (const c of clients) c.close();
  await a?.close();
  await b?.close();
});

const send = (gw: RunningGateway, body: unknown, query = '?count=cluster') =>
  postJson(`${gw.url}/realtime/send${query}`, body);

test('a client on node B, a publish on node A: delivered 0 (this node), delivered_cluster 1, both nodes answered', async () => {
  const sse = new TestSse(`${b.url}/realtime/events?channels=dl:orders`, ['order.created']);
  clients.push(sse);
  await waitFor(() => b.gateway.hub.subscriberCount('dl:orders') === 1, 5000, 'the subscriber on B');

  const r = await send(a, { channel: 'dl:orders', event: 'order.created', data: { id: 1 } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    delivered: 0,
    delivered_cluster: 1,
    nodes: 2,
    nodes_answered: 2,
    id: r.body.id,
    channel: 'dl:orders',
  });
  const got = await sse.next((e) => e.type === 'order.created');
  assert.equal(got.lastEventId, r.body.id, 'the client on B got that very event');

  // One more on A: both counts move, and neither node waits for the deadline.
  const ws = await TestWs.open(a.wsUrl);
  clients.push({ close: () => ws.close() });
  await ws.next((f) => f.type === 'connected');
  await ws.command('join_channel', { channel: 'dl:orders' });
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const two = await send(a, { channel: 'dl:orders', event: 'order.created', data: { id: 2 } });
    times.push(performance.now() - t0);
    assert.deepEqual([two.body.delivered, two.body.delivered_cluster, two.body.nodes_answered], [1, 2, 2]);
  }
  const plain: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await send(a, { channel: 'dl:orders', event: 'order.created', data: { id: 2 } }, '');
    plain.push(performance.now() - t0);
  }
  const median = (list: number[]) => list.sort((x, y) => x - y)[list.length >> 1];
  assert.ok(
    median(times) < TALLY_TIMEOUT_MS / 2,
    `answered as soon as both nodes counted (median ${median(times).toFixed(1)} ms)`,
  );
  console.log(
    `2 nodes, 20 sequential sends each: count=cluster median ${median(times).toFixed(1)} ms, without ${median(plain).toFixed(1)} ms`,
  );

  // The same publish on node B counts the same.
  const fromB = await send(b, { channel: 'dl:orders', event: 'order.created', data: { id: 3 } });
  assert.deepEqual([fromB.body.delivered, fromB.body.delivered_cluster, fromB.body.nodes], [1, 2, 2]);
});

test("without count=cluster the answer is this node's count alone; a bad count is refused", async () => {
  const plain = await send(a, { channel: 'dl:nobody', data: 1 }, '');
  assert.equal(plain.status, 200);
  assert.deepEqual(Object.keys(plain.body).sort(), ['channel', 'delivered', 'id']);
  const node = await send(a, { channel: 'dl:nobody', data: 1 }, '?count=node');
  assert.deepEqual(Object.keys(node.body).sort(), ['channel', 'delivered', 'id']);
  const bad = await send(a, { channel: 'dl:nobody', data: 1 }, '?count=all');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'bad_request');
  assert.match(bad.body.error.message, /count: "node" \(the default\) or "cluster"/);
});

test('a broadcast counts every connection of every node', async () => {
  const r = await postJson(`${a.url}/realtime/broadcast?count=cluster`, { event: 'notice', data: 'hello' });
  assert.equal(r.status, 200);
  assert.equal(r.body.delivered, 1, 'the WS client on A');
  assert.equal(r.body.delivered_cluster, 2, 'plus the SSE client on B');
});

test('a live node that does not answer: the count of those that did, after a bounded wait', async () => {
  const raw = new Redis(serviceUrls().redisUrl);
  try {
    // A node that crashed a moment ago: still in the directory, answering nothing.
    const [secs] = await raw.time();
    await raw.zadd(`${prefix}nodes`, (Number(secs) + 60) * 1000, 'dl-crashed');
    await waitFor(() => a.gateway.cluster.nodes().includes('dl-crashed'), 8000, 'node A to list the crashed node');
    const t0 = performance.now();
    const r = await send(a, { channel: 'dl:orders', event: 'order.created', data: { id: 4 } });
    const ms = performance.now() - t0;
    assert.deepEqual([r.body.delivered, r.body.delivered_cluster, r.body.nodes, r.body.nodes_answered], [1, 2, 3, 2]);
    assert.ok(
      ms >= TALLY_TIMEOUT_MS - 20 && ms < TALLY_TIMEOUT_MS + 1000,
      `waited for the deadline, no longer (${ms.toFixed(0)} ms)`,
    );
  } finally {
    await raw.zrem(`${prefix}nodes`, 'dl-crashed');
    raw.disconnect();
  }
});

test('a node that stops is dropped by the others at once: no wait for its answer', async () => {
  await waitFor(
    () => a.gateway.cluster.nodes().sort().join() === 'dl-a,dl-b',
    8000,
    "the crashed node of the last test gone from node A's list",
  );
  await b.close();
  // Within a second: node A's next heartbeat, which would notice too, is up to 5 s away.
  await waitFor(() => a.gateway.cluster.nodes().join() === 'dl-a', 1000, 'node A to hear node B leave');
  const t0 = performance.now();
  const r = await send(a, { channel: 'dl:orders', event: 'order.created', data: { id: 5 } });
  assert.deepEqual([r.body.delivered, r.body.delivered_cluster, r.body.nodes, r.body.nodes_answered], [1, 1, 1, 1]);
  assert.ok(performance.now() - t0 < TALLY_TIMEOUT_MS / 2, 'no wait for the node that left');
});

test('a single node (no Redis) answers the cluster figures from its own count', async () => {
  const solo = await startGateway();
  try {
    const r = await send(solo, { channel: 'dl:solo', data: 1 });
    assert.deepEqual(r.body, {
      delivered: 0,
      delivered_cluster: 0,
      nodes: 1,
      nodes_answered: 1,
      id: r.body.id,
      channel: 'dl:solo',
    });
  } finally {
    await solo.close();
  }
});
