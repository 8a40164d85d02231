import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { TestSse } from '../helpers/sse-client.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway();
});
after(() => gw.close());

test('one POST /realtime/send reaches a ws client and an eventsource client on the channel, with the same id', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  const connected = await ws.next((f) => f.type === 'connected');
  assert.equal(typeof connected.client_id, 'string');
  assert.equal((await ws.command('join_channel', { channel: 'room:1' })).ok, true);

  const sse = new TestSse(`${gw.url}/realtime/events?channels=room:1`, ['system', 'greeting']);
  await sse.next((e) => e.type === 'system' && JSON.parse(e.data).type === 'connected');

  const sent = await postJson(`${gw.url}/realtime/send`, {
    channel: 'room:1',
    event: 'greeting',
    data: { hello: 'world' },
  });
  assert.equal(sent.status, 200);
  assert.equal(sent.body.delivered, 2);

  const viaWs = await ws.next((f) => f.type === 'event' && f.event === 'greeting');
  const viaSse = await sse.next((e) => e.type === 'greeting');
  assert.deepEqual(viaWs.data, { hello: 'world' });
  assert.equal(viaWs.channel, 'room:1');
  assert.deepEqual(JSON.parse(viaSse.data), { hello: 'world' });
  assert.equal(viaWs.id, viaSse.lastEventId);
  assert.equal(viaWs.id, sent.body.id);
  ws.close();
  sse.close();
});

test('send to a user reaches every connection of that user and nobody else', async () => {
  const alice1 = await TestWs.open(`${gw.wsUrl}?user_id=alice`);
  const alice2 = new TestSse(`${gw.url}/realtime/events?channels=products&user_id=alice`, ['system', 'note']);
  const bob = await TestWs.open(`${gw.wsUrl}?user_id=bob`);
  await alice1.next((f) => f.type === 'connected' && f.user_id === 'alice');
  await alice2.next((e) => e.type === 'system');
  await bob.next((f) => f.type === 'connected');

  const sent = await postJson(`${gw.url}/realtime/send`, { user_id: 'alice', event: 'note', data: 'for alice' });
  assert.equal(sent.body.delivered, 2);
  assert.equal((await alice1.next((f) => f.event === 'note')).data, 'for alice');
  assert.equal((await alice2.next((e) => e.type === 'note')).data, 'for alice');
  await bob.command('ping');
  assert.equal(bob.events().length, 0);
  for (const c of [alice1, bob]) c.close();
  alice2.close();
});

test('broadcast reaches every connection whatever its channels', async () => {
  const a = await TestWs.open(gw.wsUrl);
  const b = new TestSse(`${gw.url}/realtime/events?channels=elsewhere`, ['system', 'notice']);
  await a.next((f) => f.type === 'connected');
  await b.next((e) => e.type === 'system');
  const sent = await postJson(`${gw.url}/realtime/broadcast`, { event: 'notice', data: { n: 1 } });
  assert.equal(sent.status, 200);
  assert.ok(sent.body.delivered >= 2);
  assert.deepEqual((await a.next((f) => f.event === 'notice')).data, { n: 1 });
  assert.deepEqual(JSON.parse((await b.next((e) => e.type === 'notice')).data), { n: 1 });
  a.close();
  b.close();
});

test('server API rejects bad bodies with a JSON error naming the problem', async () => {
  const cases: Array<[unknown, number, string, RegExp]> = [
    ['{not json', 400, 'invalid_json', /JSON/],
    [{ channel: 'x' }, 400, 'bad_request', /data/],
    [{ channel: 'x', user_id: 'u', data: 1 }, 400, 'bad_request', /exactly one/],
    [{ data: 1 }, 400, 'bad_request', /exactly one/],
    [{ channel: 'bad channel!', data: 1 }, 400, 'invalid_channel', /channel/],
    [{ channel: 'x', data: 1, event: 'has space' }, 400, 'bad_request', /event/],
    [{ channel: 'x', data: 1, extra: true }, 400, 'bad_request', /extra/],
    [[1, 2], 400, 'bad_request', /object/],
  ];
  for (const [body, status, code, message] of cases) {
    const r = await postJson(`${gw.url}/realtime/send`, body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.body.error.code, code, JSON.stringify(body));
    assert.match(r.body.error.message, message, JSON.stringify(body));
  }
  const unknown = await fetch(`${gw.url}/nope`);
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, 'not_found');
});

test('stats count connections per transport and channels', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  await ws.command('join_channel', { channel: 'stats:a' });
  const sse = new TestSse(`${gw.url}/realtime/events?channels=stats:b`);
  await sse.next((e) => e.type === 'system');
  const read = async () => (await (await fetch(`${gw.url}/realtime/stats`)).json()) as any;
  // Earlier tests' clients may still be closing: wait for exactly these two.
  await waitFor(
    async () => {
      const s = await read();
      return s.websocket_count === 1 && s.sse_count === 1;
    },
    5000,
    'one ws and one sse connection',
  );
  const stats = await read();
  assert.ok(stats.channels >= 2);
  assert.ok(stats.messages_in >= 1);
  ws.close();
  sse.close();
});
