import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, waitFor } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { TestSse } from '../helpers/sse-client.js';
import { publishNow } from '../helpers/hub.js';

test('with REALTIME_MAX_CONNECTIONS=5 the sixth SSE gets 503 and the sixth WS upgrade is refused with 503', async () => {
  const gw = await startGateway({ maxConnections: 5 });
  const sses: TestSse[] = [];
  for (let i = 0; i < 3; i++) {
    const s = new TestSse(`${gw.url}/realtime/events`);
    await s.next((e) => e.type === 'system');
    sses.push(s);
  }
  const wss = [await TestWs.open(gw.wsUrl), await TestWs.open(gw.wsUrl)];
  const sixthSse = await fetch(`${gw.url}/realtime/events`);
  assert.equal(sixthSse.status, 503);
  assert.equal(((await sixthSse.json()) as any).error.code, 'too_many_connections');
  await assert.rejects(TestWs.open(gw.wsUrl), (err: any) => err.status === 503);

  // a freed slot is usable again
  wss[0].close();
  await waitFor(() => gw.gateway.hub.connectionCount === 4, 3000, 'a slot to free');
  const again = await TestWs.open(gw.wsUrl);
  again.close();
  wss[1].close();
  for (const s of sses) s.close();
  await gw.close();
});

test('disabled transports answer 404', async () => {
  const gw = await startGateway({ websocketEnabled: false, sseEnabled: false });
  const sse = await fetch(`${gw.url}/realtime/events`);
  assert.equal(sse.status, 404);
  assert.equal(((await sse.json()) as any).error.code, 'transport_disabled');
  await assert.rejects(TestWs.open(gw.wsUrl), (err: any) => err.status === 404);
  await gw.close();
});

test('a client that stops reading is dropped at its buffer bound (WS 1013) while others keep receiving', async () => {
  const gw = await startGateway({ clientBufferBytes: 64 * 1024 });
  const live = await TestWs.open(gw.wsUrl);
  await live.command('join_channel', { channel: 'flood' });
  const stalled = await TestWs.open(gw.wsUrl);
  await stalled.command('join_channel', { channel: 'flood' });
  // Stop reading on the stalled client's TCP socket: the server's buffer fills.
  (stalled.ws as any)._socket.pause();
  const payload = 'x'.repeat(40_000); // 16 MB in all: more than loopback's kernel buffers hold
  for (let i = 0; i < 400; i++) {
    publishNow(gw.gateway.hub, 'flood', 'big', { i, payload });
    await new Promise((r) => setImmediate(r)); // one flush per event: many writes
  }
  await waitFor(
    () => Number(gw.gateway.stats().slow_clients_dropped) === 1,
    10_000,
    'the stalled client to be dropped',
  );
  await live.next((f) => f.type === 'event' && f.data.i === 399, 10_000);
  // Reading again, the stalled client drains what was queued and finds the close frame.
  (stalled.ws as any)._socket.resume();
  assert.equal(await stalled.waitClosed(10_000), 1013);
  assert.match(stalled.closeReason, /slow/);
  assert.ok(stalled.events('flood').length < 400, 'the stalled client did not get everything');
  live.close();
  await gw.close();
});
