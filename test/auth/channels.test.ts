import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { catalogChannels, startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { encodeBinaryMessage } from '../../src/wire/binary.js';
import type { TestWs } from '../helpers/ws-client.js';
import { SECRET, sign } from './tokens.js';
import { AuthSse, connectWs, sseStatus } from './clients.js';

// Channel permissions (docs/protocol.md, "Auth"): the `channels` claim lists patterns the
// user may join and publish to; `user:<sub>` belongs to its owner alone; the
// server-owned channels (the catalog's `products`, `product:*`, the uploads' `files`, `user:*`) are open
// to join and closed to client publishes. No event may reach a client that is
// not allowed to see it — asserted by absence after a sentinel the client can see.

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ jwtSecret: SECRET }, [catalogChannels]);
});
after(() => gw.close());

const q = encodeURIComponent;
async function ws(sub: string, channels?: string[]): Promise<TestWs> {
  return (await connectWs(`${gw.wsUrl}?token=${q(await sign(sub, { channels }))}`)).ws;
}

test('WS join: granted patterns, public server channels and the own user channel are allowed; the rest is forbidden', async () => {
  const alice = await ws('alice', ['chat:*', 'room:?', 'team:blue']);
  const allowed = ['chat:general', 'chat:a:b', 'room:1', 'team:blue', 'products', 'product:7', 'files', 'user:alice'];
  for (const channel of allowed) {
    const r = await alice.command('join_channel', { channel });
    assert.equal(r.type, 'reply', `${channel}: ${JSON.stringify(r)}`);
    assert.equal(r.ok, true);
  }
  const denied = ['room:10', 'team:blues', 'team:red', 'chatroom', 'secret', 'user:bob', 'user:alice2', 'user:'];
  for (const channel of denied) {
    const r = await alice.command('join_channel', { channel });
    assert.equal(r.type, 'error', channel);
    assert.equal(r.code, 'forbidden', channel);
  }
  alice.close();
});

test('WS join: a token without channels reaches only public server channels and its own user channel', async () => {
  const eve = await ws('eve');
  for (const channel of ['chat:general', 'room:1', 'user:alice', 'anything']) {
    const r = await eve.command('join_channel', { channel });
    assert.equal(r.code, 'forbidden', channel);
  }
  for (const channel of ['products', 'product:1', 'files', 'user:eve']) {
    assert.equal((await eve.command('join_channel', { channel })).ok, true, channel);
  }
  eve.close();
});

test("a `*` pattern grants every shared channel but never someone else's user channel", async () => {
  const root = await ws('root', ['*']);
  assert.equal((await root.command('join_channel', { channel: 'chat:x' })).ok, true);
  assert.equal((await root.command('join_channel', { channel: 'user:alice' })).code, 'forbidden');
  root.send({ type: 'channel_message', channel: 'user:alice', message: 'hi', ref: 'p1' });
  assert.equal((await root.next((f) => f.ref === 'p1')).code, 'forbidden');
  root.close();
});

test('WS publish: only to granted channels; server-owned channels are refused for everyone', async () => {
  const alice = await ws('alice', ['chat:*', '*']);
  const cases: Array<[string, string | null]> = [
    ['chat:general', null],
    ['products', 'forbidden'],
    ['product:1', 'forbidden'],
    ['files', 'forbidden'],
    ['user:alice', 'forbidden'],
    ['user:bob', 'forbidden'],
  ];
  for (const [channel, code] of cases) {
    alice.send({ type: 'channel_message', channel, message: 'x', ref: channel });
    const r = await alice.next((f) => f.ref === channel);
    if (code === null) assert.equal(r.type, 'reply', channel);
    else assert.equal(r.code, code, channel);
  }
  const eve = await ws('eve');
  eve.send({ type: 'channel_message', channel: 'chat:general', message: 'x', ref: 'e1' });
  assert.equal((await eve.next((f) => f.ref === 'e1')).code, 'forbidden');
  // Binary messages are publishes too.
  const before = eve.frames.length;
  eve.ws.send(
    encodeBinaryMessage({ content_type: 'text/plain', filename: 'a.txt', channel: 'chat:general' }, Buffer.from('hi')),
  );
  const err = await eve.next((f) => f.type === 'error', 2000, before);
  assert.equal(err.code, 'forbidden');
  alice.close();
  eve.close();
});

test("SSE: a channel the token does not grant, or someone else's user channel, is refused with 403 before the stream", async () => {
  const bob = await sign('bob', { channels: ['chat:general'] });
  const cases: Array<[string, number]> = [
    ['chat:general', 200],
    ['products,chat:general,user:bob', 200],
    ['chat:secret', 403],
    ['products,chat:secret', 403],
    ['user:alice', 403],
    ['products,user:alice', 403],
  ];
  for (const [channels, status] of cases) {
    const res = await sseStatus(`${gw.url}/realtime/events?channels=${q(channels)}&token=${q(bob)}`);
    assert.equal(res.status, status, channels);
    if (status === 403) {
      assert.equal(res.body.error.code, 'forbidden');
      assert.match(res.contentType ?? '', /json/);
    }
  }
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 3000, 'streams to close');
});

test('no event reaches a client that may not see it (WS and SSE), by any route', async () => {
  const alice = await ws('alice', ['chat:*']);
  assert.equal((await alice.command('join_channel', { channel: 'chat:secret' })).ok, true);
  assert.equal((await alice.command('join_channel', { channel: 'products' })).ok, true);

  // Onlookers: bob may see chat:general only, eve nothing but public channels.
  const bob = await ws('bob', ['chat:general']);
  const eve = await ws('eve');
  for (const c of [bob, eve]) assert.equal((await c.command('join_channel', { channel: 'products' })).ok, true);
  assert.equal((await bob.command('join_channel', { channel: 'chat:general' })).ok, true);
  // Refused joins must leave no subscription behind.
  for (const c of [bob, eve]) {
    for (const channel of ['chat:secret', 'user:alice'])
      assert.equal((await c.command('join_channel', { channel })).code, 'forbidden');
  }
  const bobSse = new AuthSse(
    `${gw.url}/realtime/events?channels=products,chat:general&token=${q(await sign('bob', { channels: ['chat:general'] }))}`,
    ['system', 'message', 'private', 'sentinel', 'leak'],
  );
  const eveSse = new AuthSse(`${gw.url}/realtime/events?channels=products&token=${q(await sign('eve'))}`, [
    'system',
    'message',
    'private',
    'sentinel',
    'leak',
  ]);
  await bobSse.next((e) => e.type === 'system');
  await eveSse.next((e) => e.type === 'system');
  // Refused SSE requests for the same channels open nothing.
  assert.equal(
    (await sseStatus(`${gw.url}/realtime/events?channels=chat:secret&token=${q(await sign('eve'))}`)).status,
    403,
  );

  // Forbidden traffic by every route: server API to a channel and to a user, client publish, binary publish.
  assert.equal(
    (await postJson(`${gw.url}/realtime/send`, { channel: 'chat:secret', event: 'leak', data: 'api-channel' })).body
      .delivered,
    1,
  );
  assert.equal(
    (await postJson(`${gw.url}/realtime/send`, { user_id: 'alice', event: 'private', data: 'api-user' })).body
      .delivered,
    1,
  );
  alice.send({ type: 'channel_message', channel: 'chat:secret', message: 'client-publish', ref: 'm1' });
  assert.equal((await alice.next((f) => f.ref === 'm1')).ok, true);
  alice.ws.send(
    encodeBinaryMessage(
      { content_type: 'text/plain', filename: 's.txt', channel: 'chat:secret' },
      Buffer.from('binary-leak'),
    ),
  );
  // eve's and bob's own attempts to publish there are refused.
  eve.send({ type: 'channel_message', channel: 'chat:secret', message: 'eve-publish', ref: 'e1' });
  assert.equal((await eve.next((f) => f.ref === 'e1')).code, 'forbidden');
  bob.send({ type: 'channel_message', channel: 'user:alice', message: 'bob-publish', ref: 'b1' });
  assert.equal((await bob.next((f) => f.ref === 'b1')).code, 'forbidden');

  // The sentinel, on a channel everyone may see, after everything else.
  await postJson(`${gw.url}/realtime/send`, { channel: 'products', event: 'sentinel', data: 'last' });
  for (const c of [alice, bob, eve]) await c.next((f) => f.event === 'sentinel');
  await bobSse.next((e) => e.type === 'sentinel');
  await eveSse.next((e) => e.type === 'sentinel');

  // alice saw her own traffic; nobody else saw any of it.
  assert.deepEqual(
    alice.events('chat:secret').map((f) => f.data.message ?? f.data),
    ['api-channel', 'client-publish'],
  );
  assert.equal(alice.events('user:alice')[0].data, 'api-user');
  assert.equal(alice.binaries.length, 1);
  for (const c of [bob, eve]) {
    const seen = c.events().map((f) => f.channel);
    assert.deepEqual(seen, ['products'], `ws saw ${JSON.stringify(seen)}`);
    assert.equal(c.binaries.length, 0);
  }
  for (const s of [bobSse, eveSse]) {
    const seen = s.events.filter((e) => e.type !== 'system').map((e) => e.type);
    assert.deepEqual(seen, ['sentinel'], `sse saw ${JSON.stringify(seen)}`);
  }
  // bob's own channel still works: the absence above is permission, not silence.
  alice.send({ type: 'channel_message', channel: 'chat:general', message: 'hello bob', ref: 'm2' });
  assert.equal((await bob.next((f) => f.channel === 'chat:general')).data.message, 'hello bob');
  assert.equal(JSON.parse((await bobSse.next((e) => e.type === 'message')).data).message, 'hello bob');
  assert.equal(eve.events('chat:general').length, 0);

  for (const c of [alice, bob, eve]) c.close();
  bobSse.close();
  eveSse.close();
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 3000, 'connections to close');
});

test('WS resume with `since` on a forbidden channel replays nothing', async () => {
  const first = await postJson(`${gw.url}/realtime/send`, { channel: 'chat:vault', event: 'leak', data: 'old secret' });
  const eve = await ws('eve');
  const r = await eve.command('join_channel', { channel: 'chat:vault', since: '0' });
  assert.equal(r.code, 'forbidden');
  await postJson(`${gw.url}/realtime/broadcast`, { event: 'sentinel', data: 1 });
  await eve.next((f) => f.event === 'sentinel');
  assert.equal(eve.events('chat:vault').length, 0);
  // SSE: Last-Event-ID replays only the requested (granted) channels.
  const sse = new AuthSse(
    `${gw.url}/realtime/events?channels=products&token=${q(await sign('eve'))}`,
    ['system', 'leak', 'sentinel'],
    {
      'Last-Event-ID': String(Number(first.body.id) - 1),
    },
  );
  await sse.next((e) => e.type === 'sentinel');
  assert.equal(sse.events.filter((e) => e.type === 'leak').length, 0);
  eve.close();
  sse.close();
});
