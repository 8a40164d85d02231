/**
 * Chat posting and reading on one gateway (PostgreSQL from the shared test
 * services): WS `channel_message` and HTTP posts are validated, stored, then
 * published as `chat.message`; repeats, invalid posts and refused stores
 * publish nothing; history pages and the rooms list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chatApp } from '../../src/apps/chat/app.js';
import { getJson, postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { TestWs } from '../helpers/ws-client.js';
import { SECRET, sign } from '../auth/tokens.js';

let testDb: TestDatabase;
const running: RunningGateway[] = [];
const sockets: TestWs[] = [];
before(async () => {
  testDb = await createTestDatabase();
});
after(async () => {
  for (const s of sockets) s.close();
  await Promise.all(running.map((g) => g.close()));
  await testDb?.drop();
});

async function gateway(overrides: Record<string, unknown> = {}): Promise<RunningGateway> {
  const gw = await startGateway({ databaseUrl: testDb.url, ...overrides }, [chatApp()]);
  running.push(gw);
  return gw;
}

async function ws(url: string, options = {}): Promise<TestWs> {
  const s = await TestWs.open(url, options);
  sockets.push(s);
  await s.next((f) => f.type === 'connected');
  return s;
}

let refs = 0;
/** A channel_message with a ref; resolves its reply or error frame. */
async function say(s: TestWs, channel: string, message: unknown): Promise<any> {
  const ref = `p${++refs}`;
  s.send({ type: 'channel_message', channel, message, ref });
  return s.next((f) => f.ref === ref);
}

const history = async (url: string, room: string, query = '') =>
  (await getJson(`${url}/api/chat/rooms/${room}/messages${query}`)).body;

describe('chat with auth off', () => {
  let gw: RunningGateway;
  let ann: TestWs;
  let watcher: TestWs;
  before(async () => {
    gw = await gateway({ chatRateLimit: 0 });
    ann = await ws(`${gw.wsUrl}?user_id=ann`);
    watcher = await ws(`${gw.wsUrl}?user_id=wat`);
    assert.equal((await watcher.command('join_channel', { channel: 'chat:lobby' })).ok, true);
  });

  test('a WS post is stored, answered with the chat message, and published once as chat.message', async () => {
    const r = await say(ann, 'chat:lobby', { text: 'hello <b>all</b>', client_msg_id: 'c1' });
    assert.equal(r.type, 'reply', JSON.stringify(r));
    const m = r.data.message;
    assert.deepEqual(Object.keys(m).sort(), ['client_msg_id', 'created_at', 'id', 'room', 'text', 'user_id']);
    assert.equal(m.room, 'lobby');
    assert.equal(m.user_id, 'ann');
    assert.equal(m.text, 'hello <b>all</b>');
    const ev = await watcher.next((f) => f.event === 'chat.message');
    assert.equal(ev.channel, 'chat:lobby');
    assert.deepEqual(ev.data, m);
    assert.deepEqual((await history(gw.url, 'lobby')).messages, [m]);

    // The same client_msg_id again: the stored message, nothing new published or stored.
    const again = await say(ann, 'chat:lobby', { text: 'hello again?', client_msg_id: 'c1' });
    assert.deepEqual(again.data.message, m);
    const next = await say(ann, 'chat:lobby', { text: 'second' });
    await watcher.next((f) => f.event === 'chat.message' && f.data.id === next.data.message.id);
    assert.deepEqual(
      watcher
        .events('chat:lobby')
        .filter((f) => f.event === 'chat.message')
        .map((f) => f.data.text),
      ['hello <b>all</b>', 'second'],
    );
    assert.equal((await history(gw.url, 'lobby')).messages.length, 2);
  });

  test('invalid posts get invalid_message and store nothing', async () => {
    const stored = (await history(gw.url, 'lobby')).messages.length;
    const bad: Array<[unknown, RegExp]> = [
      [{ text: '' }, /text: must not be empty/],
      [{ text: '   \n ' }, /must not be empty/],
      [{ text: 'x'.repeat(4001) }, /at most 4000/],
      [{ text: 'nul\u0000byte' }, /control characters/],
      [{ text: 'half \ud800 pair' }, /surrogate/],
      [{ text: 42 }, /expected a string/],
      [{ text: 'ok', client_msg_id: 'k'.repeat(65) }, /client_msg_id: at most 64/],
      [{ text: 'ok', extra: 1 }, /extra/],
      ['just a string', /expected an object/],
      [null, /expected an object/],
    ];
    for (const [message, why] of bad) {
      const r = await say(ann, 'chat:lobby', message);
      assert.equal(r.type, 'error', JSON.stringify(message));
      assert.equal(r.code, 'invalid_message');
      assert.match(r.message, why);
    }
    // 4000 characters counted as characters: astral ones are one each.
    assert.equal((await say(ann, 'chat:lobby', { text: '😀'.repeat(4000) })).type, 'reply');
    assert.equal((await history(gw.url, 'lobby')).messages.length, stored + 1);
    const http = await postJson(`${gw.url}/api/chat/rooms/lobby/messages`, { user_id: 'ann', text: '' });
    assert.equal(http.status, 400);
    assert.equal(http.body.error.code, 'invalid_message');
  });

  test('room names, users and binary messages are checked', async () => {
    const room = await say(ann, 'chat:has.dot', { text: 'x' });
    assert.equal(room.code, 'invalid_channel');
    const long = await say(ann, `chat:${'r'.repeat(65)}`, { text: 'x' });
    assert.equal(long.code, 'invalid_channel');
    // Auth off and no ?user_id=: the connection posts as its client_id.
    const nobody = await TestWs.open(gw.wsUrl);
    sockets.push(nobody);
    const hello = await nobody.next((f) => f.type === 'connected');
    const anon = await say(nobody, 'chat:lobby', { text: 'who am I' });
    assert.equal(anon.data.message.user_id, hello.client_id);
    const http = await postJson(`${gw.url}/api/chat/rooms/has.dot/messages`, { user_id: 'ann', text: 'x' });
    assert.equal(http.status, 400);
    assert.equal(http.body.error.code, 'invalid_channel');
    const noUser = await postJson(`${gw.url}/api/chat/rooms/lobby/messages`, { text: 'x' });
    assert.equal(noUser.body.error.code, 'invalid_message');
    // A plain channel still takes any channel_message, as before.
    assert.equal((await say(ann, 'room:plain', { anything: true })).type, 'reply');
  });

  test('HTTP post: 201 with the chat message, published, idempotent', async () => {
    const first = await postJson(`${gw.url}/api/chat/rooms/lobby/messages`, {
      user_id: 'bob',
      text: 'via http',
      client_msg_id: 'h1',
    });
    assert.equal(first.status, 201);
    assert.equal(first.body.user_id, 'bob');
    await watcher.next((f) => f.event === 'chat.message' && f.data.id === first.body.id);
    const again = await postJson(`${gw.url}/api/chat/rooms/lobby/messages`, {
      user_id: 'bob',
      text: 'via http',
      client_msg_id: 'h1',
    });
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, first.body);
    const marker = await postJson(`${gw.url}/api/chat/rooms/lobby/messages`, { user_id: 'bob', text: 'marker' });
    await watcher.next((f) => f.event === 'chat.message' && f.data.id === marker.body.id);
    assert.equal(watcher.events('chat:lobby').filter((f) => f.data?.client_msg_id === 'h1').length, 1);
  });

  test('typing is relayed as chat.typing, folded when repeated, never stored', async () => {
    const stored = (await history(gw.url, 'lobby', '?limit=200')).messages.length;
    const r = await say(ann, 'chat:lobby', { typing: true });
    assert.deepEqual(r.data, { typing: true });
    const ev = await watcher.next((f) => f.event === 'chat.typing');
    assert.equal(ev.data.user_id, 'ann');
    assert.equal(ev.data.room, 'lobby');
    const left = Date.parse(ev.data.expires_at) - Date.now();
    assert.ok(left > 0 && left <= 6000, `expires in ${left} ms`);
    assert.equal((await say(ann, 'chat:lobby', { typing: true })).type, 'reply', 'a repeat is answered');
    const marker = await say(ann, 'chat:lobby', { text: 'after typing' });
    await watcher.next((f) => f.event === 'chat.message' && f.data.id === marker.data.message.id);
    assert.equal(
      watcher.events('chat:lobby').filter((f) => f.event === 'chat.typing').length,
      1,
      'the repeat within 2 s was folded',
    );
    assert.equal((await history(gw.url, 'lobby', '?limit=200')).messages.length, stored + 1, 'typing stored nothing');
    assert.equal((await say(ann, 'chat:lobby', { typing: false })).code, 'invalid_message');
  });

  test('history pages with limit and before; bad parameters are refused', async () => {
    for (let i = 0; i < 5; i++)
      await postJson(`${gw.url}/api/chat/rooms/paged/messages`, { user_id: 'ann', text: `p${i}` });
    const p1 = await history(gw.url, 'paged', '?limit=2');
    assert.deepEqual(
      p1.messages.map((m: any) => m.text),
      ['p3', 'p4'],
    );
    const p2 = await history(gw.url, 'paged', `?limit=2&before=${p1.next_before}`);
    assert.deepEqual(
      p2.messages.map((m: any) => m.text),
      ['p1', 'p2'],
    );
    const p3 = await history(gw.url, 'paged', `?limit=2&before=${Number(p2.next_before)}`);
    assert.deepEqual(
      p3.messages.map((m: any) => m.text),
      ['p0'],
    );
    assert.equal(p3.next_before, null);
    for (const q of ['?limit=0', '?limit=201', '?limit=x', '?before=abc', '?before=-1']) {
      const r = await getJson(`${gw.url}/api/chat/rooms/paged/messages${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'bad_request');
    }
  });

  test('rooms list: members present, message counts, last message time; members endpoint', async () => {
    const rooms = (await getJson(`${gw.url}/api/chat/rooms`)).body.rooms;
    const lobby = rooms.find((r: any) => r.room === 'lobby');
    assert.equal(lobby.members, 1, 'the watcher is present (chat rooms have presence without configuration)');
    assert.equal(lobby.messages, (await history(gw.url, 'lobby', '?limit=200')).messages.length);
    assert.ok(!Number.isNaN(Date.parse(lobby.last_message_at)));
    assert.equal(rooms.find((r: any) => r.room === 'paged').members, 0);
    const members = (await getJson(`${gw.url}/api/chat/rooms/lobby/members`)).body;
    assert.equal(members.count, 1);
    assert.equal(members.members[0].user_id, 'wat');
    assert.equal(members.next_cursor, null);
    // Paged like the presence endpoint: the count is always the whole room's.
    assert.deepEqual((await getJson(`${gw.url}/api/chat/rooms/lobby/members?limit=0`)).body, {
      room: 'lobby',
      count: 1,
      members: [],
      next_cursor: null,
    });
    const bad = await getJson(`${gw.url}/api/chat/rooms/lobby/members?limit=1001`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'bad_request');
  });
});

describe('chat with auth on', () => {
  test('the token names the user and its channels claim decides the rooms', async () => {
    const gw = await gateway({ jwtSecret: SECRET });
    const ok = await sign('carol', { channels: ['chat:*'] });
    const other = await sign('dave', { channels: ['chat:team-*'] });
    const carol = await ws(`${gw.wsUrl}?token=${ok}&user_id=mallory`);
    const posted = await say(carol, 'chat:auth', { text: 'signed' });
    assert.equal(posted.data.message.user_id, 'carol');
    const dave = await ws(`${gw.wsUrl}?token=${other}`);
    const refused = await say(dave, 'chat:auth', { text: 'not my room' });
    assert.equal(refused.code, 'forbidden');

    const url = `${gw.url}/api/chat/rooms/auth/messages`;
    assert.equal((await postJson(url, { text: 'no token' })).status, 401);
    const viaHttp = await postJson(url, { text: 'bearer' }, { authorization: `Bearer ${ok}` });
    assert.equal(viaHttp.status, 201);
    assert.equal(viaHttp.body.user_id, 'carol');
    const spoof = await postJson(url, { text: 'as someone', user_id: 'eve' }, { authorization: `Bearer ${ok}` });
    assert.equal(spoof.status, 403);
    assert.equal((await postJson(url, { text: 'x' }, { authorization: `Bearer ${other}` })).status, 403);
    assert.equal((await getJson(url)).status, 401);
    assert.equal((await getJson(`${url}?token=${other}`)).status, 403);
    assert.equal((await getJson(`${url}?token=${ok}`)).body.messages.length, 2);
    const listed = (await getJson(`${gw.url}/api/chat/rooms?token=${other}`)).body.rooms;
    assert.equal(listed.length, 0, 'rooms the token does not grant are not listed');
  });
});

describe('chat limits and failures', () => {
  test('posts over the per-user rate limit are refused rate_limited and not stored', async () => {
    const gw = await gateway({ chatRateLimit: 1, chatRateBurst: 2 });
    const erin = await ws(`${gw.wsUrl}?user_id=erin`);
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await say(erin, 'chat:rl', { text: `r${i}` })).type === 'reply' ? 'ok' : 'refused');
    assert.deepEqual(codes, ['ok', 'ok', 'refused']);
    const http = await postJson(`${gw.url}/api/chat/rooms/rl/messages`, { user_id: 'erin', text: 'more' });
    assert.equal(http.status, 429);
    assert.equal(http.body.error.code, 'rate_limited');
    assert.equal((await history(gw.url, 'rl')).messages.length, 2);
  });

  test('a post the database cannot store is refused not_ready and never published', async () => {
    const gw = await gateway({ chatRateLimit: 0 });
    const frank = await ws(`${gw.wsUrl}?user_id=frank`);
    await frank.command('join_channel', { channel: 'chat:down' });
    assert.equal((await say(frank, 'chat:down', { text: 'before' })).type, 'reply');
    await frank.next((f) => f.event === 'chat.message');
    await (await gw.gateway.database()).close();
    const r = await say(frank, 'chat:down', { text: 'lost?' });
    assert.equal(r.type, 'error');
    assert.equal(r.code, 'not_ready');
    const http = await postJson(`${gw.url}/api/chat/rooms/down/messages`, { user_id: 'frank', text: 'lost?' });
    assert.equal(http.status, 503);
    // A ping after: everything the server sent before its pong is in; no second chat.message among it.
    await frank.command('ping');
    assert.equal(frank.events('chat:down').filter((f) => f.event === 'chat.message').length, 1);
    assert.equal((await getJson(`${gw.url}/realtime/stats`)).body.chat_store_failures, 2);
  });
});
