import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { backoffDelay, WSClient, ClientErrorCode, type ClientError } from '../../packages/client/src/index.js';

test('backoff is full jitter: uniform in [0, min(max, min·2^attempt)]', () => {
  assert.equal(
    backoffDelay(0, 250, 15_000, () => 0.999999),
    249,
  );
  assert.equal(
    backoffDelay(3, 250, 15_000, () => 0.5),
    1000,
  );
  assert.equal(
    backoffDelay(10, 250, 15_000, () => 0.999999),
    14_999,
  );
  assert.equal(
    backoffDelay(1_000, 250, 15_000, () => 1 - 1e-9),
    14_999,
    'huge attempt counts stay capped',
  );
  assert.equal(
    backoffDelay(5, 250, 15_000, () => 0),
    0,
  );
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(4, 100, 10_000);
    assert.ok(d >= 0 && d < 1600);
  }
});

test('sends while connecting are queued up to maxQueuedMessages, then refused with queue_full; disconnect() fails them all', async () => {
  // A port with nobody listening: the client stays connecting/reconnecting.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const client = new WSClient(`ws://127.0.0.1:${port}/realtime/ws`, {
    maxQueuedMessages: 2,
    minReconnectDelay: 10,
    maxReconnectDelay: 20,
  });
  const connecting = client.connect();
  assert.equal(client.state, 'connecting');
  client.sendText('one');
  const ping = client.sendCommand('ping');
  assert.throws(
    () => client.sendJson({ three: true }),
    (err: ClientError) => err.code === ClientErrorCode.queueFull,
  );
  const join = client.joinChannel('later'); // joins are not queued messages: they are re-sent on connect
  client.disconnect();
  await assert.rejects(connecting, (err: ClientError) => err.code === ClientErrorCode.closed);
  await assert.rejects(ping, (err: ClientError) => err.code === ClientErrorCode.closed);
  await assert.rejects(join, (err: ClientError) => err.code === ClientErrorCode.closed);
  assert.equal(client.state, 'disconnected');
  assert.deepEqual(client.channels, ['later'], 'kept for the next connect()');
});
