import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogChannels, startGateway, waitFor } from '../helpers/gateway.js';
import { SECRET, sign } from './tokens.js';
import { AuthSse, sseStatus } from './clients.js';
import { rawSse } from '../helpers/sse-client.js';

test("an SSE stream ends at its token's exp with a system token_expired event; the same URL then gets 401", async () => {
  const gw = await startGateway({ jwtSecret: SECRET }, [catalogChannels]);
  const exp = Math.floor(Date.now() / 1000) + 2;
  const url = `${gw.url}/realtime/events?channels=products&token=${encodeURIComponent(await sign('alice', { exp }))}`;
  const raw = await rawSse(url);
  assert.equal(raw.res.status, 200);
  // A WHATWG EventSource on a fresh, long-lived token is not affected.
  const lasting = new AuthSse(`${gw.url}/realtime/events?channels=products`, ['system'], {
    Authorization: `Bearer ${await sign('bob')}`,
  });
  await lasting.next((e) => e.type === 'system');

  await waitFor(() => raw.text().includes('token_expired'), exp * 1000 - Date.now() + 2500, 'the token_expired event');
  await waitFor(() => gw.gateway.hub.countByTransport().sse === 1, 3000, 'the expired stream to end');
  assert.ok(Date.now() >= exp * 1000, 'not ended before exp');
  assert.match(raw.text(), /event: system\ndata: \{"type":"token_expired","exp":\d+\}/);
  raw.close();
  // What an EventSource does next: reconnect to the same URL. Its token is stale now.
  const again = await sseStatus(url);
  assert.equal(again.status, 401);
  assert.match(again.body.error.message, /expired/);
  assert.equal(
    lasting.events.filter((e) => e.type === 'system').length,
    1,
    'the other stream is still on its first connection',
  );
  lasting.close();
  assert.ok(Number(gw.gateway.stats().token_expired_closes) >= 1);
  await gw.close();
});
