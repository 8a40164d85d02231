import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { TestTcp } from '../helpers/tcp-client.js';
import { TestWs } from '../helpers/ws-client.js';
import { TestSse } from '../helpers/sse-client.js';
import { SECRET, sign } from '../auth/tokens.js';
import { publishNow } from '../helpers/hub.js';

// Raw TCP (docs/protocol.md, "Raw TCP") against a real gateway.

let gw: RunningGateway;
let port: number;
before(async () => {
  gw = await startGateway({ tcpPort: 0, wsMaxFrameBytes: 4096, wsRateLimitBytes: 0 });
  port = gw.gateway.tcp!.address!.port;
});
after(() => gw.close());

const send = (channel: string, data: unknown, event = 'tick') =>
  postJson(`${gw.url}/realtime/send`, { channel, event, data });

test('the first line is connected; join, then publications arrive as lines; ping and echo work', async () => {
  const c = await TestTcp.open(port);
  const hello = await c.next(() => true);
  assert.equal(hello.type, 'connected');
  assert.match(hello.client_id, /^[0-9a-f-]{36}$/);
  assert.equal(hello.user_id, null);
  const joined = await c.command('join_channel', { channel: 'tcp:a' });
  assert.equal(joined.type, 'reply');
  assert.equal(joined.ok, true);
  const sent = await send('tcp:a', { n: 1 });
  const ev = await c.next((f) => f.type === 'event');
  assert.deepEqual(ev, { type: 'event', channel: 'tcp:a', event: 'tick', id: sent.body.id, data: { n: 1 } });
  const pong = await c.command('ping');
  assert.equal(pong.data.pong, true);
  c.send({ type: 'text', data: 'hello' });
  assert.deepEqual(await c.next((f) => f.type === 'text'), { type: 'text', data: 'hello' });
  // CRLF line ends (telnet, some nc builds) and blank lines are fine.
  c.send('{"type":"json","data":[1,2]}\r\n');
  assert.deepEqual(await c.next((f) => f.type === 'json'), { type: 'json', data: [1, 2] });
  c.close();
});

test('TCP, WebSocket and SSE clients on one channel see each other', async () => {
  const t = await TestTcp.open(port);
  await t.command('join_channel', { channel: 'room:mix' });
  const w = await TestWs.open(gw.wsUrl);
  await w.command('join_channel', { channel: 'room:mix' });
  const s = new TestSse(`${gw.url}/realtime/events?channels=room:mix`, ['system', 'message']);
  await s.next((e) => e.type === 'system');

  t.send({ type: 'channel_message', channel: 'room:mix', message: 'from tcp', ref: 1 });
  const wsGot = await w.next((f) => f.type === 'event' && f.data?.message === 'from tcp');
  assert.equal(wsGot.data.client_id, (t.frames[0] as any).client_id);
  const sseGot = await s.next((e) => e.type === 'message' && JSON.parse(e.data).message === 'from tcp');
  assert.ok(sseGot);
  assert.equal((await t.next((f) => f.ref === 1)).ok, true);

  w.send({ type: 'channel_message', channel: 'room:mix', message: 'from ws' });
  const tcpGot = await t.next((f) => f.type === 'event' && f.data?.message === 'from ws');
  assert.equal(tcpGot.channel, 'room:mix');
  t.close();
  w.close();
  s.close();
});

test('join with since replays what was missed, in order', async () => {
  const first = await send('tcp:resume', 0);
  await send('tcp:resume', 1);
  await send('tcp:resume', 2);
  const c = await TestTcp.open(port);
  const r = await c.command('join_channel', { channel: 'tcp:resume', since: first.body.id });
  assert.equal(r.data.recovered, true);
  const events = c.frames.filter((f) => f.type === 'event');
  assert.deepEqual(
    events.map((e) => e.data),
    [1, 2],
  );
  c.close();
});

test('bad JSON and unknown frames get error frames; the connection survives', async () => {
  const c = await TestTcp.open(port);
  await c.next((f) => f.type === 'connected');
  c.send('this is not json');
  assert.equal((await c.next((f) => f.type === 'error')).code, 'invalid_json');
  c.send({ type: 'nope' });
  assert.equal((await c.next((f) => f.type === 'error' && f.code === 'unknown_type')).code, 'unknown_type');
  c.send({ type: 'webrtc_signal', signal_type: 'offer', target_peer_id: 'x', sdp: 'v=0' });
  assert.equal((await c.next((f) => f.type === 'error' && f.code === 'forbidden')).code, 'forbidden');
  const pong = await c.command('ping');
  assert.equal(pong.ok, true);
  c.close();
});

test('a heavy line (64 KiB and more) is answered, and the lines behind it stay in order', async () => {
  const g = await startGateway({ tcpPort: 0, wsRateLimitBytes: 0 });
  try {
    const c = await TestTcp.open(g.gateway.tcp!.address!.port);
    await c.next((f) => f.type === 'connected');
    const big = 'b'.repeat(200_000);
    c.socket.write(
      `${JSON.stringify({ type: 'text', data: big })}\n${JSON.stringify({ type: 'text', data: 'small' })}\n`,
    );
    await c.next((f) => f.type === 'text' && f.data === 'small');
    const texts = c.frames.filter((f) => f.type === 'text').map((f) => f.data.length);
    assert.deepEqual(texts, [200_000, 5]);
    c.close();
  } finally {
    await g.close();
  }
});

test('a line longer than WS_MAX_FRAME_BYTES gets an error frame and the connection is closed', async () => {
  const a = await TestTcp.open(port);
  a.send({ type: 'text', data: 'x'.repeat(5000) });
  const err = await a.next((f) => f.type === 'error');
  assert.equal(err.code, 'payload_too_large');
  await a.waitClosed();
  // Unterminated: refused as soon as the buffered part passes the bound.
  const b = await TestTcp.open(port);
  b.socket.write(`{"type":"text","data":"${'y'.repeat(6000)}`);
  assert.equal((await b.next((f) => f.type === 'error')).code, 'payload_too_large');
  await b.waitClosed();
});

test('a stalled TCP reader is dropped; another client on the channel gets everything', async () => {
  const g = await startGateway({ tcpPort: 0, clientBufferBytes: 64 * 1024 });
  try {
    const p = g.gateway.tcp!.address!.port;
    const stalled = await TestTcp.open(p);
    await stalled.command('join_channel', { channel: 'tcp:flood' });
    const reader = await TestTcp.open(p);
    await reader.command('join_channel', { channel: 'tcp:flood' });
    stalled.socket.pause();
    const big = 'z'.repeat(4000);
    let sent = 0;
    const deadline = Date.now() + 10_000;
    while (g.gateway.tcp!.slowClients === 0 && Date.now() < deadline && sent < 20_000) {
      for (let i = 0; i < 200; i++, sent++) publishNow(g.gateway.hub, 'tcp:flood', 'big', { i: sent, big });
      await new Promise((r) => setImmediate(r));
    }
    console.log(`stalled reader dropped after ${sent} events of ~4 KB`);
    assert.equal(g.gateway.tcp!.slowClients, 1);
    await waitFor(
      () => reader.frames.filter((f) => f.type === 'event').length === sent,
      10_000,
      'the reader to get every event',
    );
    const got = reader.frames.filter((f) => f.type === 'event').map((f) => f.data.i);
    assert.deepEqual(
      got,
      Array.from({ length: sent }, (_, i) => i),
    );
    reader.close();
    stalled.close();
  } finally {
    await g.close();
  }
});

test('with auth on: the first frame is auth; a bad or missing one closes the connection', async () => {
  const g = await startGateway({ tcpPort: 0, jwtSecret: SECRET });
  try {
    const p = g.gateway.tcp!.address!.port;
    const token = await sign('alice', { channels: ['chat:*'] });
    const ok = await TestTcp.open(p);
    assert.equal((await ok.next(() => true)).type, 'connected');
    ok.send({ type: 'command', command: 'auth', data: { token } });
    // Pipelined right behind the auth command: handled once auth is done.
    ok.send({ type: 'command', command: 'join_channel', data: { channel: 'chat:x' }, ref: 'j' });
    const authed = await ok.next((f) => f.type === 'reply' && f.data?.user_id !== undefined);
    assert.equal(authed.data.user_id, 'alice');
    assert.equal((await ok.next((f) => f.ref === 'j')).ok, true);
    const denied = await ok.command('join_channel', { channel: 'secret:x' });
    assert.equal(denied.code, 'forbidden');
    await postJson(`${g.url}/realtime/send`, { user_id: 'alice', event: 'dm', data: 'hi' });
    assert.equal((await ok.next((f) => f.type === 'event' && f.channel === 'user:alice')).data, 'hi');
    ok.close();

    const none = await TestTcp.open(p);
    none.send({ type: 'command', command: 'join_channel', data: { channel: 'chat:x' } });
    assert.equal((await none.next((f) => f.type === 'error')).code, 'unauthorized');
    await none.waitClosed();

    const bad = await TestTcp.open(p);
    bad.send({ type: 'command', command: 'auth', data: { token: `${token.slice(0, -3)}AAA` }, ref: 5 });
    const refused = await bad.next((f) => f.type === 'error');
    assert.equal(refused.code, 'unauthorized');
    assert.equal(refused.ref, 5);
    await bad.waitClosed();
    await waitFor(() => g.gateway.gate.inUse === 0, 5000, 'slots given back');
  } finally {
    await g.close();
  }
});

test('with auth on: refresh_token moves the expiry (same sub only); an expired token ends the line with token_expired', async () => {
  const g = await startGateway({ tcpPort: 0, jwtSecret: SECRET });
  const authed = async (token: string) => {
    const c = await TestTcp.open(g.gateway.tcp!.address!.port);
    c.send({ type: 'command', command: 'auth', data: { token } });
    await c.next((f) => f.type === 'reply' && f.data?.user_id !== undefined);
    return c;
  };
  try {
    const refreshed = await authed(await sign('erin', { channels: ['chat:*'], expiresIn: 2 }));
    const expiring = await authed(await sign('erin', { channels: ['chat:*'], expiresIn: 2 }));
    assert.equal((await refreshed.command('join_channel', { channel: 'chat:a' })).ok, true);
    assert.equal((await refreshed.command('join_channel', { channel: 'chat:b' })).ok, true);

    const impostor = await refreshed.command('refresh_token', {
      token: await sign('mallory', { channels: ['chat:*'] }),
    });
    assert.equal(impostor.code, 'forbidden');
    const narrower = await sign('erin', { channels: ['chat:a'], expiresIn: 3600 });
    const reply = await refreshed.command('refresh_token', { token: narrower });
    assert.equal(reply.ok, true);
    assert.ok(reply.data.exp > Date.now() / 1000 + 3000, 'the new exp');
    assert.deepEqual(reply.data.left, ['chat:b'], 'left what the new token no longer grants');
    assert.equal(g.gateway.stats().token_refreshes, 1);

    const told = await expiring.next((f) => f.type === 'error' && f.code === 'token_expired', 5000);
    assert.match(told.message, /refresh_token/);
    await expiring.waitClosed();
    assert.equal(g.gateway.stats().token_expired_closes, 1);
    // The refreshed line lives on past the first token's exp.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(refreshed.closed, false);
    assert.equal((await refreshed.command('ping')).ok, true);
    refreshed.close();
  } finally {
    await g.close();
  }
});

test('the connection limit applies to TCP as to WS and SSE', async () => {
  const g = await startGateway({ tcpPort: 0, maxConnections: 1 });
  try {
    const p = g.gateway.tcp!.address!.port;
    const first = await TestTcp.open(p);
    await first.next((f) => f.type === 'connected');
    const second = await TestTcp.open(p);
    const err = await second.next((f) => f.type === 'error');
    assert.equal(err.code, 'too_many_connections');
    await second.waitClosed();
    first.close();
    await waitFor(() => g.gateway.gate.inUse === 0, 5000, 'the slot back');
    const third = await TestTcp.open(p);
    assert.equal((await third.next(() => true)).type, 'connected');
    third.close();
  } finally {
    await g.close();
  }
});

test('examples/tcp-echo.js gets its echoes back', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['examples/tcp-echo.js', String(port)], {
    timeout: 10_000,
  });
  assert.match(stdout, /"type":"connected"/);
  assert.match(stdout, /"data":"hello over TCP"/);
  assert.match(stdout, /"ref":"p1"/);
});
