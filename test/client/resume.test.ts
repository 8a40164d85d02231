import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { Transport } from '../../src/hub/subscriber.js';
import type { WsConnection } from '../../src/transports/ws/connection.js';
import {
  WSClient,
  CloseCode,
  type StateChange,
  type EventFrame,
  type WebSocketConstructor,
} from '../../packages/client/src/index.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ historySize: 5000, clientBufferBytes: 64 * 1024 });
});
after(() => gw.close());

const send = (channel: string, n: number, pad = '') =>
  postJson(`${gw.url}/realtime/send`, { channel, event: 'n', data: { n, pad } });
const serverConnections = () => [...gw.gateway.hub.connections(Transport.ws)] as WsConnection[];
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function numbers(client: WSClient, channel: string): number[] {
  const seen: number[] = [];
  client.onMessage('event', (e: EventFrame<{ n: number }>) => {
    if (e.channel === channel && e.event === 'n') seen.push(e.data.n);
  });
  return seen;
}

test('a 1012 close reconnects, re-joins with since, and replays exactly what was missed; queued sends go out after', async () => {
  const client = new WSClient(gw.wsUrl, { minReconnectDelay: 200 });
  const changes: StateChange[] = [];
  client.onStateChange((c) => changes.push(c));
  const failed: unknown[] = [];
  client.onMessage('recovery_failed', (m) => failed.push(m));
  const texts: string[] = [];
  client.onMessage('text', (f) => texts.push(f.data));
  const seen = numbers(client, 'resume:1012');
  await client.connect();
  await client.joinChannel('resume:1012');
  for (let n = 1; n <= 3; n++) await send('resume:1012', n);
  await waitFor(() => seen.length === 3, 5000, 'first three events');

  const reconnecting = new Promise<void>((resolve) => {
    const off = client.onStateChange((c) => {
      if (c.to !== 'reconnecting') return;
      off();
      resolve();
    });
  });
  for (const c of serverConnections()) c.close(CloseCode.serviceRestart, 'server restart');
  await reconnecting;
  client.sendText('queued while reconnecting');
  for (let n = 4; n <= 6; n++) await send('resume:1012', n);
  await waitFor(() => client.state === 'connected', 5000, 'reconnected');
  await send('resume:1012', 7);
  await waitFor(() => seen.includes(7) && texts.length === 1, 5000, 'event 7 and the echo');
  await client.sendCommand('ping');
  assert.deepEqual(seen, range(1, 7));
  assert.deepEqual(texts, ['queued while reconnecting']);
  assert.deepEqual(failed, []);
  const drop = changes.find((c) => c.to === 'reconnecting');
  assert.equal(drop?.closeCode, CloseCode.serviceRestart);
  assert.deepEqual(
    changes.map((c) => c.to),
    ['connecting', 'connected', 'reconnecting', 'connected'],
  );
  client.disconnect();
});

test('a slow consumer closed with 1013 reconnects and resumes with no gap and no duplicate', async () => {
  const sockets: WebSocket[] = [];
  // The real `ws` client, recorded so the test can stop reading from the socket.
  class RecordingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  const client = new WSClient(gw.wsUrl, {
    WebSocket: RecordingWebSocket as unknown as WebSocketConstructor,
    minReconnectDelay: 50,
  });
  const changes: StateChange[] = [];
  client.onStateChange((c) => changes.push(c));
  const seen = numbers(client, 'resume:slow');
  await client.connect();
  await client.joinChannel('resume:slow');
  await send('resume:slow', 1);
  await waitFor(() => seen.length === 1, 5000, 'first event');
  const server = serverConnections().find((c) => c.clientId === client.clientId)!;

  sockets[0].pause(); // the client stops reading: kernel buffers fill, then the server's
  const pad = 'x'.repeat(32 * 1024);
  let n = 1;
  while (server.ws.readyState === server.ws.OPEN) {
    assert.ok(n < 2000, 'the server should have dropped the slow client by now');
    await send('resume:slow', ++n, pad);
  }
  const last = n;
  sockets[0].resume();
  await waitFor(() => client.state === 'connected' && sockets.length === 2, 5000, 'reconnect');
  await send('resume:slow', last + 1);
  await waitFor(() => seen.includes(last + 1), 10_000, 'the event after the reconnect');
  assert.deepEqual(seen, range(1, last + 1), `missing or doubled: got ${seen.length} of ${last + 1}`);
  assert.equal(changes.find((c) => c.to === 'reconnecting')?.closeCode, CloseCode.tryAgainLater);
  client.disconnect();
});
