import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { catalogChannels, startGateway, postJson, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { encodeBinaryMessage, parseBinaryMessage } from '../../src/wire/binary.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ wsMaxFrameBytes: 64 * 1024 }, [catalogChannels]);
});
after(() => gw.close());

test('first frame is connected with client_id and user_id', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  const first = await ws.next(() => true);
  assert.equal(first.type, 'connected');
  assert.match(first.client_id, /^[0-9a-f-]{36}$/);
  assert.equal(first.user_id, null);
  ws.close();
});

test('malformed frames each get an error frame and the socket keeps working', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  await ws.next((f) => f.type === 'connected');
  const cases: Array<[string, string, RegExp]> = [
    ['not json at all', 'invalid_json', /JSON/],
    ['[1,2,3]', 'invalid_frame', /object/],
    ['"a string"', 'invalid_frame', /object/],
    ['{"no":"type"}', 'invalid_frame', /type/],
    ['{"type":42}', 'invalid_frame', /type/],
    ['{"type":"teleport"}', 'unknown_type', /teleport/],
    ['{"type":"text"}', 'invalid_frame', /data/],
    ['{"type":"text","data":5}', 'invalid_frame', /data/],
    ['{"type":"command"}', 'invalid_frame', /command/],
    ['{"type":"command","command":"fly"}', 'unknown_command', /fly/],
    ['{"type":"command","command":"join_channel","data":{}}', 'invalid_frame', /channel/],
    ['{"type":"command","command":"join_channel","data":{"channel":7}}', 'invalid_frame', /channel/],
    ['{"type":"command","command":"join_channel","data":{"channel":"has space"}}', 'invalid_channel', /has space/],
    ['{"type":"command","command":"join_channel","data":{"channel":"ok","since":"soon"}}', 'invalid_frame', /since/],
    [
      '{"type":"command","command":"leave_channel","data":{"channel":"never-joined"}}',
      'not_subscribed',
      /never-joined/,
    ],
    ['{"type":"channel_message","channel":"chat:1"}', 'invalid_frame', /message/],
    ['{"type":"channel_message","channel":"products","message":"spoof"}', 'forbidden', /server/],
    ['{"type":"webrtc_signal","signal_type":"offer","target_peer_id":"nobody","sdp":"x"}', 'peer_not_found', /nobody/],
    ['{"type":"webrtc_signal","signal_type":"shout","target_peer_id":"x"}', 'invalid_frame', /signal_type/],
  ];
  for (const [frame, code, message] of cases) {
    const before = ws.frames.length;
    ws.send(frame);
    const err = await ws.next((f) => f.type === 'error', 2000, before);
    assert.equal(err.code, code, frame);
    assert.match(err.message, message, frame);
  }
  // refs come back on errors too
  ws.send({ type: 'command', command: 'fly', ref: 'r-9' });
  assert.equal((await ws.next((f) => f.ref === 'r-9')).type, 'error');
  // still alive
  ws.send({ type: 'text', data: 'still here' });
  assert.equal((await ws.next((f) => f.type === 'text')).data, 'still here');
  assert.equal(ws.closeCode, null);
  ws.close();
});

test('text and json are echoed; ping answers with a reply', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  ws.send({ type: 'json', data: { deep: [1, { x: null }] } });
  assert.deepEqual((await ws.next((f) => f.type === 'json')).data, { deep: [1, { x: null }] });
  const pong = await ws.command('ping');
  assert.equal(pong.type, 'reply');
  assert.equal(pong.ok, true);
  ws.send({ type: 'command', command: 'ping' });
  await ws.next((f) => f.type === 'pong');
  ws.close();
});

test('channel_message publishes to everyone on the channel, sender included', async () => {
  const a = await TestWs.open(gw.wsUrl);
  const b = await TestWs.open(gw.wsUrl);
  await a.command('join_channel', { channel: 'chat:lobby' });
  await b.command('join_channel', { channel: 'chat:lobby' });
  a.send({ type: 'channel_message', channel: 'chat:lobby', message: 'hi all', ref: 'm1' });
  const reply = await a.next((f) => f.ref === 'm1');
  assert.equal(reply.ok, true);
  assert.equal(reply.data.delivered, 2);
  for (const c of [a, b]) {
    const evt = await c.next((f) => f.type === 'event' && f.channel === 'chat:lobby');
    assert.equal(evt.data.message, 'hi all');
    assert.equal(typeof evt.id, 'string');
  }
  a.close();
  b.close();
});

test('binary frames reach the channel binary subscribers in the same layout', async () => {
  const sender = await TestWs.open(gw.wsUrl);
  const receiver = await TestWs.open(gw.wsUrl);
  await receiver.command('join_channel', { channel: 'files:raw' });
  const bytes = Buffer.from([0, 1, 2, 250, 255, 0, 42]);
  const message = encodeBinaryMessage(
    { content_type: 'application/octet-stream', filename: 'x.bin', channel: 'files:raw' },
    bytes,
  );
  sender.ws.send(message);
  const start = Date.now();
  while (receiver.binaries.length === 0 && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 10));
  assert.equal(receiver.binaries.length, 1);
  assert.deepEqual(receiver.binaries[0], message);
  const parsed = parseBinaryMessage(receiver.binaries[0]);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.ok && parsed.body, bytes);

  // a malformed binary frame is refused with an error, the socket survives
  sender.ws.send(Buffer.from([0, 0, 0, 200, 1, 2]));
  assert.equal((await sender.next((f) => f.type === 'error')).code, 'invalid_frame');
  sender.send({ type: 'text', data: 'ok' });
  await sender.next((f) => f.type === 'text');
  sender.close();
  receiver.close();
});

test('a frame over the size limit closes the socket with 1009', async () => {
  const ws = await TestWs.open(gw.wsUrl);
  await ws.next((f) => f.type === 'connected');
  ws.send({ type: 'text', data: 'x'.repeat(70 * 1024) });
  assert.equal(await ws.waitClosed(), 1009);
});

test('webrtc signals are relayed between peers on the signaling endpoint', async () => {
  const base = `${gw.url.replace(/^http/, 'ws')}/realtime/webrtc/signaling`;
  const alice = await TestWs.open(`${base}?peer_id=alice`);
  const bob = await TestWs.open(`${base}?peer_id=bob`);
  await alice.next((f) => f.type === 'connected' && f.peer_id === 'alice');
  await bob.next((f) => f.type === 'connected');
  alice.send({ type: 'webrtc_signal', signal_type: 'offer', target_peer_id: 'bob', sdp: 'v=0 offer' });
  const offer = await bob.next((f) => f.type === 'webrtc_signal');
  assert.equal(offer.signal_type, 'offer');
  assert.equal(offer.from_peer_id, 'alice');
  assert.equal(offer.sdp, 'v=0 offer');
  bob.send({
    type: 'webrtc_signal',
    signal_type: 'ice_candidate',
    target_peer_id: 'alice',
    candidate: { candidate: 'c1' },
  });
  assert.deepEqual((await alice.next((f) => f.type === 'webrtc_signal')).candidate, { candidate: 'c1' });
  await assert.rejects(TestWs.open(`${base}?peer_id=alice`), /409/);
  await assert.rejects(TestWs.open(base), /400/);
  alice.close();
  bob.close();
});

test('the server API stays loopback-only without API_KEY and needs the key with it', async () => {
  const keyed = await startGateway({ apiKey: 'sekret' });
  const denied = await postJson(`${keyed.url}/realtime/broadcast`, { data: 1 });
  assert.equal(denied.status, 401);
  assert.equal(denied.body.error.code, 'unauthorized');
  const ok = await postJson(`${keyed.url}/realtime/broadcast`, { data: 1 }, { authorization: 'Bearer sekret' });
  assert.equal(ok.status, 200);
  await keyed.close();
});
