import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor } from '../helpers/gateway.js';
import { createSSEClient, WSClient, type SSEEvent } from '../../packages/client/src/index.js';
import { SECRET, sign } from '../auth/tokens.js';

test('SDK clients with getToken ride through token expiry without missing events', async () => {
  const gw = await startGateway({ jwtSecret: SECRET });
  let issued = 0;
  const getToken = async () => {
    issued++;
    return sign('carol', { channels: ['exp:*'], expiresIn: 2 });
  };
  const sse = createSSEClient(gw.url, { channels: ['exp:room'], getToken });
  const got: number[] = [];
  sse.onEvent('n', (e: SSEEvent) => got.push(Number(e.data)));
  await sse.ready;
  const ws = new WSClient(gw.wsUrl, { getToken });
  const wsGot: number[] = [];
  ws.onMessage('event', (f: any) => {
    if (f.channel === 'exp:room') wsGot.push(Number(f.data));
  });
  await ws.connect();
  await ws.joinChannel('exp:room');
  // Publish across more than one token lifetime: both clients must renew and resume.
  for (let i = 1; i <= 40; i++) {
    await postJson(`${gw.url}/realtime/send`, { channel: 'exp:room', event: 'n', data: i });
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitFor(() => got.length >= 40 && wsGot.length >= 40, 15_000, 'every event on both clients');
  assert.deepEqual(
    got,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    wsGot,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  assert.ok(issued >= 3, `tokens were renewed (${issued} issued)`);
  sse.close();
  ws.disconnect();
  await gw.close();
});
