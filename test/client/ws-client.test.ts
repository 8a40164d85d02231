import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { Transport } from '../../src/hub/subscriber.js';
import type { WsConnection } from '../../src/transports/ws/connection.js';
import {
  WSClient,
  BinaryMessage,
  ClientError,
  ClientErrorCode,
  ErrorCode,
  CloseCode,
  type StateChange,
  type EventFrame,
} from '../../packages/client/src/index.js';

let gw: RunningGateway;
before(async () => {
  gw = await startGateway();
});
after(() => gw.close());

const send = (channel: string, data: unknown, event = 'tick') =>
  postJson(`${gw.url}/realtime/send`, { channel, event, data });

/** Collect messages of one type; `next` waits for the first one matching. */
function collect<T>(
  client: WSClient,
  type: string,
): { items: T[]; next(pred?: (m: T) => boolean, timeoutMs?: number): Promise<T> } {
  const items: T[] = [];
  client.onMessage(type, (m: any) => items.push(m));
  return {
    items,
    async next(pred = () => true, timeoutMs = 5000) {
      await waitFor(() => items.some(pred), timeoutMs, `a ${type} message`);
      return items.find(pred) as T;
    },
  };
}

test('connect walks disconnected → connecting → connected and learns its client id; disconnect is final', async () => {
  const client = new WSClient(gw.wsUrl);
  const changes: StateChange[] = [];
  client.onStateChange((c) => changes.push(c));
  assert.equal(client.state, 'disconnected');
  await client.connect();
  assert.equal(client.state, 'connected');
  assert.match(client.clientId ?? '', /^[0-9a-f-]{36}$/);
  await client.connect(); // already connected: resolves, no transition
  client.disconnect();
  assert.deepEqual(
    changes.map((c) => `${c.from}>${c.to}`),
    ['disconnected>connecting', 'connecting>connected', 'connected>disconnected'],
  );
  assert.throws(
    () => client.sendText('x'),
    (err: ClientError) => err.code === ClientErrorCode.notConnected,
  );
  await assert.rejects(client.joinChannel('a'), (err: ClientError) => err.code === ClientErrorCode.notConnected);
  await waitFor(
    async () => ((await (await fetch(`${gw.url}/realtime/stats`)).json()) as any).websocket_count === 0,
    5000,
    'server to see the close',
  );
  assert.equal(client.state, 'disconnected', 'no reconnect after disconnect()');
});

test('text and json are echoed; ping replies; http:// URLs and bare hosts map to the WS endpoint', async () => {
  const client = new WSClient(gw.url); // http://host:port → ws://host:port/realtime/ws
  await client.connect();
  const texts = collect<{ data: string }>(client, 'text');
  const jsons = collect<{ data: unknown }>(client, 'json');
  const all = collect<{ type: string }>(client, '*');
  client.sendText('hello');
  client.sendJson({ a: [1, 2], b: null });
  assert.equal((await texts.next()).data, 'hello');
  assert.deepEqual((await jsons.next()).data, { a: [1, 2], b: null });
  const reply = await client.sendCommand<{ pong: boolean; time: string }>('ping');
  assert.equal(reply.pong, true);
  assert.ok(all.items.some((f) => f.type === 'text') && all.items.some((f) => f.type === 'json'));
  client.disconnect();
});

test('error frames reject sendCommand and joinChannel with the server code', async () => {
  const client = new WSClient(gw.wsUrl);
  await client.connect();
  await assert.rejects(client.sendCommand('no_such_command'), (err: ClientError) => {
    assert.ok(err instanceof ClientError);
    assert.equal(err.code, ErrorCode.unknownCommand);
    assert.match(err.message, /unknown command/);
    return true;
  });
  await assert.rejects(client.joinChannel('bad channel!'), (err: ClientError) => err.code === ErrorCode.invalidChannel);
  assert.deepEqual(client.channels, [], 'a refused join is forgotten');
  await assert.rejects(
    client.sendCommand('leave_channel', { channel: 'never-joined' }),
    (err: ClientError) => err.code === ErrorCode.notSubscribed,
  );
  await assert.rejects(
    client.sendWebRTCSignal({ signal_type: 'bye', target_peer_id: 'nobody' }),
    (err: ClientError) => err.code === ErrorCode.peerNotFound,
  );
  client.disconnect();
});

test('joinChannel delivers channel events, drops after leaveChannel', async () => {
  const client = new WSClient(gw.wsUrl);
  await client.connect();
  const events = collect<EventFrame<{ n: number }>>(client, 'event');
  const reply = await client.joinChannel('sdk:events');
  assert.equal(reply.channel, 'sdk:events');
  const sent = await send('sdk:events', { n: 1 });
  const got = await events.next((e) => e.data.n === 1);
  assert.equal(got.channel, 'sdk:events');
  assert.equal(got.event, 'tick');
  assert.equal(got.id, sent.body.id);
  assert.equal(client.lastEventId('sdk:events'), sent.body.id);
  await client.leaveChannel('sdk:events');
  assert.deepEqual(client.channels, []);
  await send('sdk:events', { n: 2 });
  await client.sendCommand('ping'); // anything sent before the reply has arrived
  assert.deepEqual(
    events.items.map((e) => e.data.n),
    [1],
  );
  client.disconnect();
});

test('binary messages round-trip through a channel and echo without one', async () => {
  const a = new WSClient(gw.wsUrl);
  const b = new WSClient(gw.wsUrl);
  await Promise.all([a.connect(), b.connect()]);
  await Promise.all([a.joinChannel('sdk:bin'), b.joinChannel('sdk:bin')]);
  const atB = collect<BinaryMessage>(b, 'binary');
  const atA = collect<BinaryMessage>(a, 'binary');
  const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
  a.sendBinary(BinaryMessage.fromBytes(bytes, 'application/octet-stream', 'blob.bin', 'sdk:bin'));
  const got = await atB.next();
  assert.ok(got instanceof BinaryMessage);
  assert.deepEqual(got.header, { content_type: 'application/octet-stream', filename: 'blob.bin', channel: 'sdk:bin' });
  assert.equal(got.channel, 'sdk:bin');
  assert.deepEqual(Buffer.from(got.bytes), Buffer.from(bytes));

  b.sendBinary(BinaryMessage.fromBytes('plain text', 'text/plain', 'note.txt'));
  const echo = await atB.next((m) => m.filename === 'note.txt');
  assert.equal(echo.text(), 'plain text');
  assert.equal(echo.contentType, 'text/plain');
  await a.sendCommand('ping');
  assert.equal(atA.items.filter((m) => m.filename === 'note.txt').length, 0, 'an echo goes to the sender only');
  a.disconnect();
  b.disconnect();
});

test('WebRTC signals are relayed to the target peer', async () => {
  const a = new WSClient(gw.wsUrl);
  const b = new WSClient(gw.wsUrl);
  await Promise.all([a.connect(), b.connect()]);
  const signals = collect<{ signal_type: string; from_peer_id: string; sdp: unknown }>(b, 'webrtc_signal');
  // Peers are reached by their peer id, never by the client id other clients see in channel messages.
  await assert.rejects(
    a.sendWebRTCSignal({ signal_type: 'offer', target_peer_id: b.clientId!, sdp: 'v=0 fake' }),
    (err: ClientError) => err.code === ErrorCode.peerNotFound,
  );
  await a.sendWebRTCSignal({ signal_type: 'offer', target_peer_id: b.peerId!, sdp: 'v=0 fake' });
  const got = await signals.next();
  assert.equal(got.signal_type, 'offer');
  assert.equal(got.from_peer_id, a.peerId);
  assert.equal(got.sdp, 'v=0 fake');
  a.disconnect();
  b.disconnect();
});

test('tokens travel as subprotocol or query; getToken is asked again on reconnect', async () => {
  const secret = 'client-sdk-test-secret-0123456789';
  const authed = await startGateway({ jwtSecret: secret });
  const sign = (sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
  try {
    const viaProtocol = new WSClient(authed.wsUrl, { token: await sign('alice') });
    await viaProtocol.connect();
    assert.equal(viaProtocol.userId, 'alice');
    viaProtocol.disconnect();

    let asked = 0;
    const viaQuery = new WSClient(authed.wsUrl, {
      tokenTransport: 'query',
      getToken: () => sign(`bob${++asked}`),
      minReconnectDelay: 20,
    });
    await viaQuery.connect();
    assert.equal(viaQuery.userId, 'bob1');
    for (const c of authed.gateway.hub.connections(Transport.ws))
      (c as WsConnection).close(CloseCode.serviceRestart, 'restart');
    await waitFor(
      () => viaQuery.state === 'connected' && viaQuery.userId === 'bob2',
      5000,
      'reconnect with a fresh token',
    );
    viaQuery.disconnect();

    // A refusal waits maxReconnectDelay before the next attempt: kept short here.
    const none = new WSClient(authed.wsUrl, { maxReconnectAttempts: 1, minReconnectDelay: 10, maxReconnectDelay: 50 });
    await assert.rejects(none.connect(), (err: ClientError) => err.code === ClientErrorCode.closed);
    assert.equal(none.state, 'disconnected');
  } finally {
    await authed.close();
  }
});
