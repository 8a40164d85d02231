/**
 * The SDK tells a refusal from an outage: on a 401 it enters `unauthorized`,
 * asks getToken (when given) and sends nothing more for the backoff cap
 * unless a new token arrives. The fallback client does it once for all its
 * transports: the others would be refused alike, so none is tried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createClient,
  createSSEClient,
  SSEClient,
  WSClient,
  type ConnectionState,
} from '../../packages/client/src/index.js';
import { catalogChannels, postJson, startGateway, waitFor } from '../helpers/gateway.js';
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

for (const kind of ['sse', 'ws', 'fallback'] as const) {
  test(`${kind}: a 401 gives state unauthorized and no request for the backoff cap; setToken connects at once`, async () => {
    const gw = await startGateway({ jwtSecret: SECRET }, [catalogChannels]);
    const options = { minReconnectDelay: 20, maxReconnectDelay: CAP, token: 'not-a-token' };
    const client =
      kind === 'sse'
        ? createSSEClient(gw.url, { ...options, channels: ['products'] })
        : kind === 'ws'
          ? new WSClient(gw.url, options)
          : createClient(gw.url, { ...options, channels: ['products'] });
    track(client);
    try {
      if (!(client instanceof SSEClient)) void client.connect().catch(() => undefined);
      await waitFor(() => client.state === 'unauthorized', 5000, 'state unauthorized');
      const at = Date.now();
      const failures = await authFailures(gw.url);
      // The fallback client took the first transport's 401 for all of them.
      if (kind === 'fallback') assert.equal(failures, 1, 'refused requests before the state');
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

test('fallback: on a 401 the client asks getToken once and connects at once with a new token', async () => {
  const gw = await startGateway({ jwtSecret: SECRET });
  const good = await sign('bob', { channels: ['room:*'] });
  let calls = 0;
  const client = createClient(gw.url, {
    channels: ['room:a'],
    minReconnectDelay: 20,
    maxReconnectDelay: 60_000,
    getToken: () => (++calls === 1 ? 'expired-or-bad' : good),
  });
  const states = track(client);
  try {
    await client.connect();
    assert.equal(client.transport, 'websocket');
    assert.deepEqual(states, ['connecting', 'unauthorized', 'connected']);
    assert.equal(await authFailures(gw.url), 1);
  } finally {
    client.close();
    await gw.close();
  }
});

test('fallback on long polling: a token that expires mid-stream is refused, renewed, and nothing is missed', async () => {
  const gw = await startGateway({ jwtSecret: SECRET, websocketEnabled: false, sseEnabled: false });
  // An application that renews its token only some time after it expired, as one that refreshes
  // on a timer or on a 401 does: the polls in between are refused.
  let token = { value: '', expiresAt: 0 };
  let issued = 0;
  const getToken = async () => {
    if (Date.now() >= token.expiresAt + 500) {
      issued++;
      token = {
        value: await sign('dora', { channels: ['exp:*'], expiresIn: 2 }),
        expiresAt: Math.floor(Date.now() / 1000 + 2) * 1000,
      };
    }
    return token.value;
  };
  const client = createClient(gw.url, {
    channels: ['exp:poll'],
    transports: ['poll'],
    pollTimeout: 1,
    minReconnectDelay: 20,
    maxReconnectDelay: 200,
    getToken,
  });
  const states = track(client);
  const got: number[] = [];
  client.on('event', (e) => got.push(Number(e.data)));
  try {
    await client.connect();
    for (let i = 1; i <= 50; i++) {
      await postJson(`${gw.url}/realtime/send`, { channel: 'exp:poll', event: 'n', data: i });
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor(() => got.length >= 50, 10_000, 'every event');
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.ok(issued >= 2, `tokens were renewed (${issued} issued)`);
    const refused = states.indexOf('unauthorized');
    assert.ok(refused > 0, `a poll was refused on the way: ${states.join(' → ')}`);
    assert.ok(states.indexOf('connected', refused) > refused, `and polling went on: ${states.join(' → ')}`);
  } finally {
    client.close();
    await gw.close();
  }
});
