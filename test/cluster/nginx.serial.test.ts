/**
 * Acceptance (issue 5): three gateway processes behind nginx (deploy/nginx.conf) behave as one
 * server. Clients connect through nginx (and one straight to node 1); the send is made on node 3,
 * the broker event is consumed by node 2 — every client gets both.
 * Then a node is drained with SIGTERM: its clients reconnect through nginx to the other nodes and
 * resume without a gap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { WSClient, createSSEClient } from '../../packages/client/src/index.js';
import { TestCluster } from '../helpers/cluster.js';
import { postJson, waitFor } from '../helpers/gateway.js';
import { TestSse } from '../helpers/sse-client.js';
import { TestWs } from '../helpers/ws-client.js';

describe('three gateway nodes behind nginx', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    // Node 2 starts first: it holds the gateway queue's single active consumer.
    cluster = await TestCluster.start({
      nodes: 3,
      startOrder: [2, 1, 3],
      env: { SSE_RETRY_MS: '200', PRESENCE_CHANNELS: 'chat:*', PRESENCE_TTL_MS: '1500' },
    });
  });
  after(async () => {
    await cluster?.close();
  });

  it('a client on node 1 receives a send made on node 3 and a broker event consumed by node 2', async () => {
    const { nginx } = cluster;
    // WS and SSE clients through nginx, plus one WS client on node 1 directly. nginx round-robins
    // per worker process (two here), so three connections need not reach three nodes: open them
    // in pairs (at least three) until every node has both kinds, at most twelve pairs.
    const wsClients = [await TestWs.open(`${cluster.node(1).url.replace('http', 'ws')}/realtime/ws`)];
    const sseClients: TestSse[] = [];
    try {
      await wsClients[0].command('join_channel', { channel: 'room:x' });
      await wsClients[0].command('join_channel', { channel: 'products' });
      let perNode = await Promise.all([1, 2, 3].map((i) => cluster.stats(i)));
      for (let pair = 0; pair < 12; pair++) {
        if (pair >= 3 && perNode.every((s) => s.websocket_count > 0 && s.sse_count > 0)) break;
        const ws = await TestWs.open(nginx.wsUrl);
        wsClients.push(ws);
        await ws.command('join_channel', { channel: 'room:x' });
        await ws.command('join_channel', { channel: 'products' });
        const sse = new TestSse(`${nginx.url}/realtime/events?channels=room:x,products`, [
          'system',
          'hello',
          'product.updated',
        ]);
        sseClients.push(sse);
        await sse.next((e) => e.type === 'system');
        perNode = await Promise.all([1, 2, 3].map((i) => cluster.stats(i)));
      }
      assert.deepEqual(
        perNode.map((s) => s.websocket_count > 0 && s.sse_count > 0),
        [true, true, true],
        `every node has WS and SSE clients through nginx: ${JSON.stringify(perNode.map((s) => [s.websocket_count, s.sse_count]))}`,
      );

      // The send, made on node 3 directly.
      const sent = await postJson(`${cluster.node(3).url}/realtime/send`, {
        channel: 'room:x',
        event: 'hello',
        data: { from: 'node-3' },
      });
      assert.equal(sent.status, 200);
      for (const ws of wsClients) {
        const f = await ws.next((x) => x.type === 'event' && x.event === 'hello');
        assert.deepEqual(f.data, { from: 'node-3' });
        assert.equal(f.id, sent.body.id);
      }
      for (const sse of sseClients) assert.equal((await sse.next((e) => e.type === 'hello')).lastEventId, sent.body.id);

      // The broker event, from a foreign producer; node 2 is the active consumer and applies it.
      const conn = await amqp.connect(cluster.env.BROKER_URL);
      try {
        const ch = await conn.createConfirmChannel();
        const event = {
          event_id: randomUUID(),
          product_id: 7,
          changes: { stock: 777 },
          occurred_at: new Date().toISOString(),
        };
        ch.publish('catalog', 'product.changed', Buffer.from(JSON.stringify(event)), {
          persistent: true,
          contentType: 'application/json',
        });
        await ch.waitForConfirms();
      } finally {
        await conn.close();
      }
      for (const ws of wsClients) {
        const f = await ws.next((x) => x.type === 'event' && x.event === 'product.updated' && x.data.id === 7);
        assert.equal(f.data.stock, 777);
        assert.equal(f.channel, 'products');
      }
      for (const sse of sseClients) {
        const e = await sse.next((x) => x.type === 'product.updated');
        assert.equal(JSON.parse(e.data).stock, 777);
      }
      const applied = await Promise.all([1, 2, 3].map(async (i) => (await cluster.stats(i)).events_applied));
      assert.deepEqual(applied, [0, 1, 0], 'node 2 (the active consumer) applied it; the others only delivered it');

      // Through nginx, the HTTP API works as on any node.
      const product = await (await fetch(`${nginx.url}/api/products/7`)).json();
      assert.equal(product.stock, 777);
    } finally {
      // Closed whatever happened: the drain test below counts every client on the nodes.
      for (const ws of wsClients) ws.close();
      for (const sse of sseClients) sse.close();
    }
  });

  it('a killed node is skipped: new connections through nginx land on the live ones', async () => {
    await cluster.kill(3);
    for (let i = 0; i < 6; i++) {
      const ws = await TestWs.open(cluster.nginx.wsUrl);
      await ws.next((f) => f.type === 'connected');
      ws.close();
      const res = await fetch(`${cluster.nginx.url}/readyz`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    await cluster.start(3);
  });

  it('presence is cluster-wide through nginx; the members of a SIGKILLed node drop out after the TTL', async () => {
    const watcher = await TestWs.open(`${cluster.node(2).url.replace('http', 'ws')}/realtime/ws`);
    await watcher.command('join_channel', { channel: 'chat:room' });
    const member = await TestWs.open(`${cluster.node(3).url.replace('http', 'ws')}/realtime/ws`);
    const memberId = (await member.next((f) => f.type === 'connected')).client_id;
    await member.command('join_channel', { channel: 'chat:room' });
    await watcher.next((f) => f.event === 'presence.join' && f.data.client_id === memberId);
    // Read from node 1, which holds neither member: through nginx a keyless read is a relayed request, which the nodes refuse.
    const list = async () =>
      (await (await fetch(`${cluster.node(1).url}/realtime/channels/chat:room/presence`)).json()) as any;
    const before = await list();
    assert.deepEqual(before.members.map((m: any) => m.node).sort(), ['node-2', 'node-3']);
    const killedAt = Date.now();
    await cluster.kill(3);
    const left = await watcher.next((f) => f.event === 'presence.leave' && f.data.client_id === memberId, 10_000);
    assert.equal(left.data.node, 'node-3');
    assert.ok(Date.now() - killedAt < 1500 + 1500, 'announced within the TTL plus one heartbeat');
    assert.equal((await list()).count, 1);
    watcher.close();
    await cluster.start(3);
  });

  it('SIGTERM drains a node: its SDK clients reconnect through nginx to another node and miss nothing', async () => {
    const { nginx } = cluster;
    const received: Array<Array<number>> = [];
    const ws = Array.from({ length: 6 }, (_, k) => {
      received.push([]);
      const c = new WSClient(nginx.wsUrl, { minReconnectDelay: 50, maxReconnectDelay: 500 });
      c.onMessage('event', (f) => {
        if (f.channel === 'room:drain') received[k].push(f.data as number);
      });
      return c;
    });
    const sse = Array.from({ length: 6 }, () => {
      const k = received.push([]) - 1;
      const c = createSSEClient(nginx.url, { channels: ['room:drain'], minReconnectDelay: 50, maxReconnectDelay: 500 });
      c.onEvent<number>('n', (e) => received[k].push(e.data));
      return c;
    });
    try {
      await Promise.all(
        ws.map(async (c) => {
          await c.connect();
          await c.joinChannel('room:drain');
        }),
      );
      await Promise.all(sse.map((c) => c.ready));
      const before = await Promise.all([1, 2, 3].map((i) => cluster.stats(i)));
      const onNode1 = before[0].websocket_count + before[0].sse_count;
      assert.ok(onNode1 > 0, 'some clients are on node 1');

      // Publish continuously (on node 2 directly) while node 1 drains.
      let n = 0;
      let sending = true;
      const sender = (async () => {
        while (sending) {
          const r = await postJson(`${cluster.node(2).url}/realtime/send`, {
            channel: 'room:drain',
            event: 'n',
            data: ++n,
          });
          assert.equal(r.status, 200);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await waitFor(() => n >= 50, 10_000, 'sending under way');
      const exit = await cluster.terminate(1);
      assert.equal(exit.code, 0, 'node 1 shut down cleanly');
      await waitFor(() => n >= 150, 10_000, 'sending after the drain');
      sending = false;
      await sender;
      await waitFor(() => received.every((r) => r.length >= n), 15_000, `every client got all ${n} events`);
      const expected = Array.from({ length: n }, (_, i) => i + 1);
      for (const r of received) assert.deepEqual(r, expected);
      const after = await Promise.all([2, 3].map((i) => cluster.stats(i)));
      assert.equal(
        after.reduce((a, s) => a + s.websocket_count + s.sse_count, 0),
        12,
        'all twelve clients are now on nodes 2 and 3',
      );
    } finally {
      for (const c of ws) c.disconnect();
      for (const c of sse) c.close();
      await cluster.start(1);
    }
  });
});
