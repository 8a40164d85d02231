import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { ConnectionGate, Refusal } from '../../src/transports/connection-gate.js';
import { ChildGateway, errorOf, rawExchange, statusOf } from '../fuzz/harness.js';

// Issue 10, finding 2: a handshake ws refused after admission took a
// connection slot (bad key, bad Upgrade value) never gave it back: 1,000 bad
// handshakes locked an address out for good. Every way a WS or SSE connection
// can be refused or abandoned is driven here against a gateway in a child
// process, and the gate's counters (node and per-address) must come back to 0.

const SECRET = 'edge-slots-secret-0123456789abcdef';
const PER_IP = 3;
const ORIGIN = 'https://app.example';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function sign(payload: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const TOKEN = sign({ sub: 'edge', channels: ['edge:*'], exp: Math.floor(Date.now() / 1000) + 3600 });

/** A raw upgrade request to `path` with `headers` (null drops a default). */
function upgrade(path: string, headers: Record<string, string | null> = {}, method = 'GET'): string {
  const all: Record<string, string | null> = {
    Host: '127.0.0.1',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    Origin: ORIGIN,
    ...headers,
  };
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(all)) if (v !== null) head += `${k}: ${v}\r\n`;
  return `${head}\r\n`;
}
function sse(query: string, headers: Record<string, string> = {}): string {
  let head = `GET /realtime/events?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${ORIGIN}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  return `${head}\r\n`;
}
const WS = `/realtime/ws?token=${TOKEN}`;

function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers: { Origin: ORIGIN } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
function closeWs(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', () => resolve());
    ws.close();
  });
}

test('every refused or abandoned WS and SSE handshake gives its connection slot back', async (t) => {
  const gw = await ChildGateway.start({
    jwtSecret: SECRET,
    maxConnectionsPerIp: PER_IP,
    maxConnections: 50,
    allowedOrigins: [ORIGIN],
  });
  t.after(() => gw.proc.kill('SIGKILL'));
  const port = Number(new URL(gw.url).port);
  const wsUrl = `${gw.wsUrl}?token=${TOKEN}`;

  // [name, request, expected status]: each refused after the admission step unless said otherwise.
  const refusals: Array<[string, string, string]> = [
    ['ws: no Sec-WebSocket-Key', upgrade(WS, { 'Sec-WebSocket-Key': null }), '400'],
    ['ws: bad Sec-WebSocket-Key', upgrade(WS, { 'Sec-WebSocket-Key': 'abc' }), '400'],
    ['ws: Upgrade: foo', upgrade(WS, { Upgrade: 'foo' }), '400'],
    ['ws: bad version', upgrade(WS, { 'Sec-WebSocket-Version': '99' }), '400'],
    ['ws: no version', upgrade(WS, { 'Sec-WebSocket-Version': null }), '400'],
    ['ws: POST', upgrade(WS, {}, 'POST'), '405'],
    ['ws: bad subprotocol list', upgrade(WS, { 'Sec-WebSocket-Protocol': 'a,,b' }), '400'],
    ['ws: bad origin (before admission)', upgrade(WS, { Origin: 'https://evil.example' }), '403'],
    ['ws: no token', upgrade('/realtime/ws'), '401'],
    ['ws: bad token', upgrade('/realtime/ws?token=x.y.z'), '401'],
    [
      "ws: signaling with a peer_id that is not the token's",
      upgrade(`/realtime/webrtc/signaling?token=${TOKEN}&peer_id=someone-else`),
      '403',
    ],
    ['sse: no token', sse('channels=edge:a'), '401'],
    [
      'sse: bad origin (before admission)',
      sse(`channels=edge:a&token=${TOKEN}`, { Origin: 'https://evil.example' }),
      '403',
    ],
    ['sse: channel not granted', sse(`channels=secret&token=${TOKEN}`), '403'],
  ];
  for (const [name, request, want] of refusals) {
    // More of each than the per-address limit: a leak shows as 429 within the loop already.
    for (let i = 0; i < PER_IP + 2; i++) {
      const answer = await rawExchange(port, request);
      assert.equal(statusOf(answer), want, `${name} (#${i + 1}): ${answer.slice(0, 300)}`);
      assert.ok(errorOf(answer), `${name}: not our error shape: ${answer.slice(0, 300)}`);
    }
    await gw.slotsFree(3000).catch((err: Error) => assert.fail(`${name}: ${err.message}`));
  }

  // Over the per-address limit: the refusal holds no slot, and the admitted ones give theirs back on close.
  const held = await Promise.all(Array.from({ length: PER_IP }, () => openWs(wsUrl)));
  assert.equal((await gw.memory()).slots.inUse, PER_IP);
  const overWs = await rawExchange(port, upgrade(WS));
  assert.equal(statusOf(overWs), '429', overWs);
  const overSse = await rawExchange(port, sse(`channels=edge:a&token=${TOKEN}`));
  assert.equal(statusOf(overSse), '429', overSse);
  assert.equal((await gw.memory()).slots.inUse, PER_IP);
  await Promise.all(held.map(closeWs));
  await gw.slotsFree();

  // Clients that vanish mid-handshake, at whatever step the reset lands: before
  // admission, while the token is checked, during ws's handshake, after the
  // 101 or the SSE head. Three rounds of each, in parallel.
  for (let round = 0; round < 3; round++) {
    await Promise.all([
      ...Array.from({ length: 30 }, () => rawExchange(port, upgrade(WS), { abort: true })),
      ...Array.from({ length: 30 }, () =>
        rawExchange(port, upgrade(WS, { 'Sec-WebSocket-Key': null }), { abort: true }),
      ),
      ...Array.from({ length: 30 }, () => rawExchange(port, sse(`channels=edge:a&token=${TOKEN}`), { abort: true })),
    ]);
  }
  const afterAborts = await gw.slotsFree();
  assert.ok(gw.alive);
  assert.equal(afterAborts.stats.handler_errors, 0, 'no handler threw');
  assert.equal(afterAborts.stats.connections, 0);
});

test('the probe: 1,000 bad handshakes from one address, then that address is still admitted', async (t) => {
  const gw = await ChildGateway.start({ maxConnectionsPerIp: PER_IP, maxConnections: 10 });
  t.after(() => gw.proc.kill('SIGKILL'));
  const port = Number(new URL(gw.url).port);
  const bad = [
    upgrade('/realtime/ws', { 'Sec-WebSocket-Key': null, Origin: null }),
    upgrade('/realtime/ws', { Upgrade: 'foo', Origin: null }),
  ];
  const started = Date.now();
  let next = 0;
  const statuses = new Map<string, number>();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < 1000) {
        const answer = await rawExchange(port, bad[next++ % 2]);
        const s = statusOf(answer);
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
    }),
  );
  console.log(
    `[edge-slots] 1,000 bad handshakes in ${Date.now() - started} ms: statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
  );
  assert.deepEqual([...statuses.keys()], ['400'], 'every bad handshake is refused 400, none 429/503');
  await gw.slotsFree();
  // A normal client from the same address, on both transports.
  const ws = await openWs(gw.wsUrl);
  const res = await fetch(`${gw.url}/realtime/events?channels=products`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  await closeWs(ws);
  await gw.slotsFree();
  assert.ok(gw.alive);
});

test('ConnectionGate.acquireFor: the socket gives its slots back once, on close or on releaseFor', async () => {
  const gate = new ConnectionGate(10, 2);
  const socket = new PassThrough();
  assert.equal(gate.acquireFor(socket, '10.0.0.1'), Refusal.none);
  // A request pipelined on the same connection: a second slot, same owner.
  assert.equal(gate.acquireFor(socket, '10.0.0.1'), Refusal.none);
  assert.equal(gate.acquireFor(new PassThrough(), '10.0.0.1'), Refusal.address, 'the address holds its 2');
  gate.releaseFor(socket);
  assert.equal(gate.inUse, 1);
  assert.equal(socket.listenerCount('close'), 1, 'still owned: the close listener stays');
  const closed = new Promise((r) => socket.once('close', r));
  socket.destroy();
  await closed;
  assert.equal(gate.inUse, 0);
  assert.equal(gate.addresses, 0);
  gate.releaseFor(socket);
  assert.equal(gate.inUse, 0, 'nothing given back twice');
  // A socket already destroyed takes nothing: its close may have fired already.
  assert.equal(gate.acquireFor(socket, '10.0.0.1'), Refusal.gone);
  assert.equal(gate.inUse, 0);
  // An early release leaves no listener behind on a keep-alive socket.
  const keepAlive = new PassThrough();
  for (let i = 0; i < 20; i++) {
    assert.equal(gate.acquireFor(keepAlive, '10.0.0.2'), Refusal.none);
    gate.releaseFor(keepAlive);
  }
  assert.equal(keepAlive.listenerCount('close'), 0);
  assert.equal(gate.inUse, 0);
});
