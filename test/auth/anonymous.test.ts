import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogChannels, startGateway, postJson } from '../helpers/gateway.js';
import { SECRET, sign } from './tokens.js';
import { connectWs, sseStatus, upgradeStatus } from './clients.js';

// AUTH_ANONYMOUS: with auth on, a connection without any token gets in, but
// only to the public server channels, and may not publish. A bad token is
// still a 401 — anonymity is for those who bring nothing, not for forgers.

test('AUTH_ANONYMOUS lets token-less clients read public channels only', async () => {
  const gw = await startGateway({ jwtSecret: SECRET, authAnonymous: true }, [catalogChannels]);
  const { ws, connected } = await connectWs(`${gw.wsUrl}?user_id=alice`);
  assert.equal(connected.user_id, null, 'user_id cannot be claimed anonymously');
  for (const channel of ['products', 'product:3', 'files'])
    assert.equal((await ws.command('join_channel', { channel })).ok, true, channel);
  for (const channel of ['chat:general', 'user:alice', 'room:1'])
    assert.equal((await ws.command('join_channel', { channel })).code, 'forbidden', channel);
  ws.send({ type: 'channel_message', channel: 'chat:general', message: 'hi', ref: 'p' });
  assert.equal((await ws.next((f) => f.ref === 'p')).code, 'forbidden');

  assert.equal((await sseStatus(`${gw.url}/realtime/events?channels=products`)).status, 200);
  assert.equal((await sseStatus(`${gw.url}/realtime/events?channels=chat:general`)).status, 403);
  assert.equal((await sseStatus(`${gw.url}/realtime/events?channels=user:alice&user_id=alice`)).status, 403);
  // Forged or expired tokens are still refused.
  assert.equal((await upgradeStatus(`${gw.wsUrl}?token=forged`)).status, 401);
  assert.equal((await upgradeStatus(`${gw.wsUrl}?token=${await sign('alice', { expiresIn: -5 })}`)).status, 401);

  // The anonymous client sees public events and nothing of a user's.
  await postJson(`${gw.url}/realtime/send`, { user_id: 'alice', event: 'private', data: 1 });
  await postJson(`${gw.url}/realtime/send`, { channel: 'products', event: 'sentinel', data: 2 });
  await ws.next((f) => f.event === 'sentinel');
  assert.deepEqual(
    ws.events().map((f) => f.channel),
    ['products'],
  );
  ws.close();
  await gw.close();
});

test('without AUTH_ANONYMOUS a token-less client is refused (the default)', async () => {
  const gw = await startGateway({ jwtSecret: SECRET }, [catalogChannels]);
  assert.equal((await upgradeStatus(gw.wsUrl)).status, 401);
  assert.equal((await sseStatus(`${gw.url}/realtime/events`)).status, 401);
  await gw.close();
});
