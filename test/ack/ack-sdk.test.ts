/**
 * The SDK side of acknowledged delivery, across a node change: a client whose handlers are
 * still running loses its connection (socket destroyed by the test) between receipt and ack,
 * reconnects to another node, gets every unacknowledged event again, and hands each event to
 * the application exactly once; acknowledged, nothing comes back on the next reconnect.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { redisPrefix, serviceUrls } from '../helpers/services.js';
import { SECRET, sign } from '../auth/tokens.js';
import { Transport } from '../../src/hub/subscriber.js';
import type { WsConnection } from '../../src/transports/ws/connection.js';
import { WSClient, type EventFrame, type WebSocketConstructor } from '../../packages/client/src/index.js';

const running: RunningGateway[] = [];
after(() => Promise.all(running.map((g) => g.close())));

const destroyAll = (g: RunningGateway) => {
  for (const c of [...g.gateway.hub.connections(Transport.ws)] as WsConnection[]) c.socket.destroy();
};

test('destroyed between receipt and ack, reconnected to another node: every event again, each once to the app; acked, never again', async () => {
  const prefix = redisPrefix();
  const { redisUrl } = serviceUrls();
  const common = { redisUrl, redisPrefix: prefix, jwtSecret: SECRET, ackTimeoutMs: 400 };
  const n1 = await startGateway({ ...common, nodeId: 'ack-1' });
  const n2 = await startGateway({ ...common, nodeId: 'ack-2' });
  running.push(n1, n2);

  // The client's WebSocket goes wherever `target` says (one URL, two nodes: a load balancer's move).
  let target = n1;
  const redelivered: string[] = [];
  class Routed extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      const u = new URL(url);
      super(`${target.wsUrl}${u.search}`, protocols);
      this.on('message', (data) => {
        const f = JSON.parse(String(data));
        if (f.redelivered === true) redelivered.push(f.id);
      });
    }
  }
  const token = await sign('ack-sdk-user', { channels: ['orders'] });
  const client = new WSClient(n1.wsUrl, {
    WebSocket: Routed as unknown as WebSocketConstructor,
    token,
    minReconnectDelay: 50,
    maxReconnectDelay: 200,
  });

  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls = new Map<string, number>();
  client.onMessage('event', async (e: EventFrame) => {
    if (e.channel !== 'orders') return;
    calls.set(e.id!, (calls.get(e.id!) ?? 0) + 1);
    await gate; // the application is still working on it
  });
  await client.connect();
  const joined = await client.joinChannel('orders', { ack: true });
  assert.equal(joined.ack, true);

  const ids: string[] = [];
  for (let i = 1; i <= 5; i++)
    ids.push(
      (await postJson(`${n1.url}/realtime/send`, { channel: 'orders', event: 'order', data: { n: i } })).body.id,
    );
  await waitFor(() => calls.size === 5, 5000, 'all five handed to the app');

  // Gone before any ack; the next connection lands on node 2.
  target = n2;
  destroyAll(n1);
  await waitFor(
    () => n2.gateway.hub.connectionCount === 1 && client.state === 'connected',
    5000,
    'reconnected to node 2',
  );
  await waitFor(
    () => ids.every((id) => redelivered.includes(id)),
    5000,
    'every unacknowledged event sent again by node 2',
  );
  release();
  await waitFor(async () => Number(n2.gateway.stats().acks) >= 1, 5000, 'acknowledged on node 2');
  assert.deepEqual(
    [...calls.entries()],
    ids.map((id) => [id, 1]),
    'each event once to the application',
  );

  // Acknowledged: a reconnect (back to node 1) brings none of them again.
  const before = redelivered.length;
  target = n1;
  destroyAll(n2);
  await waitFor(
    () => n1.gateway.hub.connectionCount === 1 && client.state === 'connected',
    5000,
    'reconnected to node 1',
  );
  const next = (await postJson(`${n1.url}/realtime/send`, { channel: 'orders', event: 'order', data: { n: 6 } })).body
    .id;
  await waitFor(() => calls.has(next), 5000, 'a new event arrives');
  assert.equal(redelivered.length, before, `redelivered after the ack: ${redelivered.slice(before)}`);
  assert.equal(calls.size, 6);
  client.disconnect();
});

test('a burst on an ack channel is acknowledged in batches: within the frame rate limit, nothing redelivered', async () => {
  const g = await startGateway({ jwtSecret: SECRET, ackTimeoutMs: 500 });
  running.push(g);
  const token = await sign('burst-user', { channels: ['burst'] });
  const client = new WSClient(g.wsUrl, { token });
  const seen: string[] = [];
  client.onMessage('event', (e: EventFrame) => {
    if (e.channel === 'burst') seen.push(e.id!);
  });
  await client.connect();
  await client.joinChannel('burst', { ack: true });
  const N = 500;
  for (let i = 0; i < N; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        postJson(`${g.url}/realtime/send`, { channel: 'burst', event: 'b', data: i + j }),
      ),
    );
  }
  await waitFor(() => seen.length >= N, 10_000, 'all delivered');
  await waitFor(
    async () => {
      const sub = [...g.gateway.hub.connections(Transport.ws)].length === 1;
      return (
        sub &&
        Number(g.gateway.stats().acks) > 0 &&
        g.gateway.hub.acks!.stats().ack_redelivered === 0 &&
        pendingOf(g) === 0
      );
    },
    5000,
    'everything acknowledged',
  );
  const acks = Number(g.gateway.stats().acks);
  console.log(`# ${N} events acknowledged with ${acks} ack frames`);
  assert.ok(acks < N / 2, `acks are batched (${acks} for ${N})`);
  assert.equal(new Set(seen).size, N);
  assert.equal(client.state, 'connected');
  client.disconnect();
});

function pendingOf(g: RunningGateway): number {
  const conn = [...g.gateway.hub.connections(Transport.ws)][0] as unknown as WsConnection;
  return g.gateway.hub.acks!.get(conn, 'burst')?.pending ?? -1;
}
