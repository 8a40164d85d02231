/**
 * The SDK tells a refusal from an outage: on a 401 it enters `unauthorized`,
 * asks getToken (when given) and sends nothing more for the backoff cap
 * unless a new token arrives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSSEClient, WSClient, type ConnectionState } from '../../packages/client/src/index.js';
import { catalogChannels, startGateway, waitFor } from '../helpers/gateway.js';
import { SECRET, sign } from '../auth/tokens.js';

const CAP = 1500;

async function authFailures(url: string): Promise<number> {
  return Number((await (await fetch(`${url}/realtime/stats`)).json()).auth_failures);
}

function track(client: { onStateChange(fn: (c: { to: ConnectionState }) => void): () => void }): ConnectionState[] {
  const states: ConnectionState[] = [];
  client.onStateChange(({ to }) => states.push(to));
  return states;
}

for (const kind of ['sse', 'ws'] as const) {
  test(`${kind}: a 401 gives state unauthorized and no request for the backoff cap; setToken connects at once`, async () => {
    const gw = await startGateway({ jwtSecret: SECRET }, [catalogChannels]);
    const options = { minReconnectDelay: 20, maxReconnectDelay: CAP, token: 'not-a-token' };
    const client =
      kind === 'sse' ? createSSEClient(gw.url, { ...options, channels: ['products'] }) : new WSClient(gw.url, options);
    track(client);
    try {
      if (client instanceof WSClient) void client.connect().catch(() => undefined);
      await waitFor(() => client.state === 'unauthorized', 5000, 'state unauthorized');
      const at = Date.now();
      const failures = await authFailures(gw.url);
      // Waiting is the point here: nothing may happen for most of the cap.
      await new Promise((r) => setTimeout(r, CAP * 0.8));
      const after = await authFailures(gw.url);
      console.log(
        `[unauthorized ${kind}] refused requests: ${failures} on entering the state, ${after} after ${Date.now() - at} ms`,
      );
      assert.equal(after, failures, 'requests were sent while unauthorized');
      assert.equal(client.state, 'unauthorized');
      client.setToken(await sign('alice'));
      await waitFor(() => client.state === 'connected', 3000, 'connected with the new token');
      assert.ok(Date.now() - at < CAP * 0.8 + 3000);
    } finally {
      if (client instanceof WSClient) client.disconnect();
      else client.close();
      await gw.close();
    }
  });
}

test('sse: on a 401 the client asks getToken and reconnects at once with a new token', async () => {
  const gw = await startGateway({ jwtSecret: SECRET });
  const good = await sign('bob');
  let calls = 0;
  const sse = createSSEClient(gw.url, {
    minReconnectDelay: 20,
    maxReconnectDelay: 60_000,
    getToken: () => (++calls === 1 ? 'expired-or-bad' : good),
  });
  const states = track(sse);
  try {
    await sse.ready;
    assert.equal(calls, 2);
    assert.deepEqual(states, ['unauthorized', 'connected']);
  } finally {
    sse.close();
    await gw.close();
  }
});
