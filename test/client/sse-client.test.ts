import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import {
  createSSEClient,
  ClientErrorCode,
  type ClientError,
  type SSEEvent,
  type StateChange,
} from '../../packages/client/src/index.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ sseRetryMs: 50 });
});
after(() => gw.close());

const send = (channel: string, data: unknown, event = 'n') =>
  postJson(`${gw.url}/realtime/send`, { channel, event, data });
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('onEvent gets JSON and string payloads with their ids; ready resolves on the welcome', async () => {
  const sse = createSSEClient(gw.url, { channels: ['sse:a', 'sse:b'] });
  const json: SSEEvent[] = [];
  const text: SSEEvent[] = [];
  sse.onEvent('n', (e) => json.push(e));
  const off = sse.onEvent('note', (e) => text.push(e));
  await sse.ready;
  assert.equal(sse.state, 'connected');
  assert.match(sse.clientId ?? '', /^[0-9a-f-]{36}$/);
  const a = await send('sse:a', { n: 1 });
  await send('sse:b', 'line one\nline two', 'note');
  await waitFor(() => json.length === 1 && text.length === 1, 5000, 'both events');
  assert.deepEqual(json[0], { event: 'n', id: a.body.id, data: { n: 1 }, raw: '{"n":1}' });
  assert.equal(text[0].data, 'line one\nline two');
  assert.equal(sse.lastEventId, text[0].id);
  off();
  await send('sse:b', 'unheard', 'note');
  await send('sse:a', { n: 2 });
  await waitFor(() => json.length === 2, 5000, 'second event');
  assert.equal(text.length, 1, 'unsubscribed listener is not called');
  sse.close();
  assert.equal(sse.state, 'disconnected');
});

test('a stream the server ends is resumed from the last id: nothing missed, nothing twice', async () => {
  const sse = createSSEClient(`${gw.url}/realtime/events`, { channels: ['sse:resume'] });
  const changes: StateChange[] = [];
  sse.onStateChange((c) => changes.push(c));
  const seen: number[] = [];
  sse.onEvent<{ n: number }>('n', (e) => seen.push(e.data.n));
  const failed: SSEEvent[] = [];
  sse.onEvent('recovery_failed', (e) => failed.push(e));
  await sse.ready;
  for (let n = 1; n <= 3; n++) await send('sse:resume', { n });
  await waitFor(() => seen.length === 3, 5000, 'first three');
  const firstClient = sse.clientId;
  gw.gateway.sse.closeAll(); // ends every stream, as a shutdown does
  for (let n = 4; n <= 6; n++) await send('sse:resume', { n });
  await waitFor(() => sse.state === 'connected' && sse.clientId !== firstClient, 5000, 'reconnected');
  await send('sse:resume', { n: 7 });
  await waitFor(() => seen.includes(7), 5000, 'event 7');
  assert.deepEqual(seen, range(1, 7));
  assert.deepEqual(failed, []);
  assert.ok(changes.some((c) => c.to === 'reconnecting'));
  sse.close();
});

test('resuming from an id the server cannot reach surfaces recovery_failed', async () => {
  const sse = createSSEClient(gw.url, { channels: ['sse:gap'], lastEventId: '1000' });
  const failed: SSEEvent<{ type: string; channels: string[] }>[] = [];
  sse.onEvent<{ type: string; channels: string[] }>('recovery_failed', (e) => failed.push(e));
  await sse.ready;
  await waitFor(() => failed.length === 1, 5000, 'recovery_failed');
  assert.deepEqual(failed[0].data.channels, ['sse:gap']);
  sse.close();
});

test('a stream refused with an HTTP error is re-created with backoff, then given up after maxReconnectAttempts', async () => {
  const sse = createSSEClient(gw.url, { channels: ['bad name'], minReconnectDelay: 10, maxReconnectAttempts: 2 });
  const changes: StateChange[] = [];
  sse.onStateChange((c) => changes.push(c));
  await assert.rejects(sse.ready, (err: ClientError) => err.code === ClientErrorCode.closed);
  assert.equal(sse.state, 'disconnected');
  assert.deepEqual(
    changes.map((c) => c.to),
    ['reconnecting', 'disconnected'],
  );
});
