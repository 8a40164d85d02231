import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { SSEClient, WSClient, type EventFrame, type SSEEvent } from '../../packages/client/src/index.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ sseRetryMs: 50 });
});
after(() => gw.close());

const send = (channel: string, data: unknown, event = 'n') =>
  postJson(`${gw.url}/realtime/send`, { channel, event, data });

test('SSEClient has the WS client shape: connect, on/off, disconnect, connect again resuming from the last id', async () => {
  const sse = new SSEClient(gw.url, { channels: ['shape:sse'] });
  const seen: number[] = [];
  const fn = (e: SSEEvent<number>) => seen.push(e.data);
  sse.on('n', fn);
  await sse.connect();
  assert.equal(sse.state, 'connected');
  await send('shape:sse', 1);
  await waitFor(() => seen.length === 1, 5000, 'event 1');
  sse.disconnect();
  assert.equal(sse.state, 'disconnected');
  await send('shape:sse', 2); // missed while disconnected: the next connect replays it
  await sse.connect();
  await waitFor(() => seen.length === 2, 5000, 'event 2 replayed');
  sse.off('n', fn);
  await send('shape:sse', 3);
  const other: number[] = [];
  sse.on<number>('n', (e) => other.push(e.data));
  await send('shape:sse', 4);
  await waitFor(() => other.includes(4), 5000, 'event 4');
  assert.deepEqual(seen, [1, 2]);
  sse.disconnect();
});

test('format=message through SSEClient: on("message") gets {event, channel, data}; the unnamed welcome still connects it', async () => {
  const sse = new SSEClient(`${gw.url}/realtime/events?channels=shape:msg&format=message`);
  const seen: Array<SSEEvent<{ event: string; channel: string; data: unknown }>> = [];
  sse.on('message', (e) => seen.push(e as SSEEvent<{ event: string; channel: string; data: unknown }>));
  await sse.connect();
  assert.equal(sse.state, 'connected');
  const sent = await send('shape:msg', { x: 1 }, 'thing.changed');
  await waitFor(() => seen.length === 1, 5000, 'the event');
  assert.deepEqual(seen[0].data, { event: 'thing.changed', channel: 'shape:msg', data: { x: 1 } });
  assert.equal(seen[0].id, sent.body.id);
  sse.disconnect();
});

test('WSClient answers to on/off as well as onMessage', async () => {
  const ws = new WSClient(`${gw.wsUrl}`);
  const seen: number[] = [];
  const fn = (e: EventFrame<number>) => seen.push(e.data);
  ws.on('event', fn as (e: EventFrame) => void);
  await ws.connect();
  await ws.joinChannel('shape:ws');
  await send('shape:ws', 1);
  await waitFor(() => seen.length === 1, 5000, 'event 1');
  ws.off('event', fn);
  await send('shape:ws', 2);
  await ws.sendCommand('ping');
  assert.deepEqual(seen, [1]);
  ws.disconnect();
});
