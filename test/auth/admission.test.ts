import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { catalogChannels, startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { SECRET, sign, tampered, unsigned } from './tokens.js';
import { AuthSse, connectWs, sseStatus, upgradeStatus } from './clients.js';

// Admission (docs/protocol.md, "Auth"): with JWT_SECRET set, every WS upgrade and every SSE
// stream needs a valid token; a missing or bad one is answered 401 before the
// upgrade / before the stream starts, as a JSON error, and holds no slot.

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ jwtSecret: SECRET, maxConnections: 4 }, [catalogChannels]);
});
after(() => gw.close());

const q = encodeURIComponent;

async function badTokens(): Promise<Array<[string, string | null, RegExp]>> {
  return [
    ['no token', null, /token is required/],
    ['bad signature', await sign('alice', { secret: 'another-secret-entirely-0123456789' }), /signature/],
    ['payload altered after signing', await tampered('alice', 'admin'), /signature/],
    ['alg none', unsigned('alice'), /invalid token/],
    ['expired', await sign('alice', { expiresIn: -30 }), /expired/],
    ['no sub', await sign(undefined), /sub/],
    ['empty sub', await sign(''), /sub/],
    ['channels not an array', await sign('alice', { channels: 'chat:*' }), /channels/],
    ['channels with a non-string', await sign('alice', { channels: ['chat:*', 7] }), /channels/],
    ['not a JWT', 'not-a-jwt', /invalid token/],
    ['three empty parts', '..', /invalid token/],
  ];
}

for (const carrier of ['query', 'header', 'subprotocol'] as const) {
  test(`WS: every bad token by ${carrier} is refused with 401 before the upgrade`, async () => {
    for (const [name, token, message] of await badTokens()) {
      if (token === null && carrier !== 'query') continue; // "no token" is one case, tried once
      let res: Awaited<ReturnType<typeof upgradeStatus>>;
      if (carrier === 'query') res = await upgradeStatus(token === null ? gw.wsUrl : `${gw.wsUrl}?token=${q(token)}`);
      else if (carrier === 'header')
        res = await upgradeStatus(gw.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
      else {
        // A subprotocol is a token in the RFC 7230 sense: a JWT's base64url parts and dots fit.
        if (!/^[A-Za-z0-9._-]+$/.test(token!)) continue;
        res = await upgradeStatus(gw.wsUrl, { protocols: [`bearer.${token}`] });
      }
      assert.equal(res.status, 401, `${name} via ${carrier}`);
      assert.equal(res.body.error.code, 'unauthorized', name);
      assert.match(res.body.error.message, message, name);
    }
  });
}

test('SSE: every bad token (query or Authorization header) is refused with 401 before the stream starts', async () => {
  for (const [name, token, message] of await badTokens()) {
    for (const carrier of ['query', 'header'] as const) {
      if (token === null && carrier === 'header') continue;
      const res =
        carrier === 'query'
          ? await sseStatus(`${gw.url}/realtime/events?channels=products${token === null ? '' : `&token=${q(token)}`}`)
          : await sseStatus(`${gw.url}/realtime/events?channels=products`, { Authorization: `Bearer ${token}` });
      assert.equal(res.status, 401, `${name} via ${carrier}`);
      assert.match(res.contentType ?? '', /application\/json/, 'no event stream was started');
      assert.equal(res.body.error.code, 'unauthorized');
      assert.match(res.body.error.message, message, name);
    }
  }
  // A WHATWG EventSource sees the failure as an error with the status and gives up.
  const es = new AuthSse(`${gw.url}/realtime/events?channels=products`, ['system']);
  await waitFor(() => es.failedStatus !== null, 3000, 'the EventSource to fail');
  assert.equal(es.failedStatus, 401);
  assert.equal(es.opened, false);
  assert.equal(es.events.length, 0);
  es.close();
});

test('refused attempts hold no connection slot', async () => {
  // maxConnections is 4: a leaked slot per refusal would lock everyone out long before 40.
  for (let i = 0; i < 20; i++) {
    assert.equal((await upgradeStatus(gw.wsUrl)).status, 401);
    assert.equal((await sseStatus(`${gw.url}/realtime/events`)).status, 401);
  }
  const token = await sign('slots');
  const open = [];
  for (let i = 0; i < 4; i++) open.push(await connectWs(`${gw.wsUrl}?token=${token}`));
  assert.equal((await upgradeStatus(`${gw.wsUrl}?token=${token}`)).status, 503);
  for (const { ws } of open) ws.close();
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 3000, 'connections to close');
});

test('WS: a valid token is accepted by each carrier and names the user', async () => {
  const token = await sign('alice');
  const viaQuery = await connectWs(`${gw.wsUrl}?token=${q(token)}`);
  const viaHeader = await connectWs(gw.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
  const viaProtocol = await connectWs(gw.wsUrl, { protocols: ['hubcast.v1', `bearer.${token}`] });
  for (const { connected } of [viaQuery, viaHeader, viaProtocol]) assert.equal(connected.user_id, 'alice');
  // The handshake must echo the offered bearer protocol, or a browser aborts the connection.
  assert.equal(viaProtocol.ws.ws.protocol, `bearer.${token}`);
  // The lowercase scheme works too (RFC 7235: the scheme is case-insensitive).
  const lower = await connectWs(gw.wsUrl, { headers: { Authorization: `bearer ${token}` } });
  assert.equal(lower.connected.user_id, 'alice');
  for (const c of [viaQuery, viaHeader, viaProtocol, lower]) c.ws.close();
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 3000, 'connections to close');
});

test('with auth on, ?user_id= cannot name someone else', async () => {
  const token = await sign('alice');
  const { ws, connected } = await connectWs(`${gw.wsUrl}?token=${q(token)}&user_id=bob`);
  assert.equal(connected.user_id, 'alice');
  ws.close();
  const sse = new AuthSse(`${gw.url}/realtime/events?channels=products&user_id=bob&token=${q(token)}`, ['system']);
  const hello = JSON.parse((await sse.next((e) => e.type === 'system')).data);
  assert.equal(hello.user_id, 'alice');
  sse.close();
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 3000, 'connections to close');
});

test('SSE: a valid token by query or Authorization header opens the stream', async () => {
  const token = await sign('carol');
  const viaQuery = new AuthSse(`${gw.url}/realtime/events?channels=products&token=${q(token)}`, ['system']);
  const viaHeader = new AuthSse(`${gw.url}/realtime/events?channels=products`, ['system'], {
    Authorization: `Bearer ${token}`,
  });
  for (const sse of [viaQuery, viaHeader]) {
    const hello = JSON.parse((await sse.next((e) => e.type === 'system')).data);
    assert.equal(hello.type, 'connected');
    assert.equal(hello.user_id, 'carol');
    sse.close();
  }
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 3000, 'connections to close');
});
