import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, type Socket } from 'node:net';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { Transport } from '../../src/hub/subscriber.js';
import type { WsConnection } from '../../src/transports/ws/connection.js';
import { publishNow } from '../helpers/hub.js';

// A resume must not pin memory: one ~100-byte `join_channel` with `since`
// used to build a private copy of the whole replay and queue it for a client
// that never reads (20 connections pinned 257 MiB). The replay now shares
// the publications' frames and is written under backpressure, a piece at a
// time: a client that does not read holds a few frames, and what is written
// to it meanwhile counts against its CLIENT_BUFFER_BYTES.

const BUFFER = 4 * 1024 * 1024;
const CLIENTS = 20;
const EVENT = { blob: 'x'.repeat(13_000) };

/** What the gateway holds for its WS clients in outgoing buffers, in bytes. */
function buffered(gw: RunningGateway): number {
  let total = 0;
  for (const conn of gw.gateway.hub.connections(Transport.ws)) total += (conn as WsConnection).socket.writableLength;
  return total;
}

/** A client that joins `channel` from `since` and then never reads another byte. */
async function stalledResume(gw: RunningGateway, channel: string, since: number): Promise<WebSocket> {
  const ws = new WebSocket(gw.wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve()); // `connected`
    ws.once('error', reject);
  });
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  ws.send(
    JSON.stringify({ type: 'command', command: 'join_channel', ref: 1, data: { channel, since: String(since) } }),
  );
  return ws;
}

/**
 * A gateway with `count` EVENTs published on `channel` (the backlog to resume from `since`),
 * closed after the test: what is pushed on `clientsGone` first, since a gateway closing with
 * stalled streams would wait for them.
 */
async function withBacklog(t: TestContext, channel: string, count: number) {
  const gw = await startGateway({ clientBufferBytes: BUFFER });
  const clientsGone: Array<() => void> = [];
  t.after(async () => {
    for (const close of clientsGone) close();
    await gw.close();
  });
  const hub = gw.gateway.hub;
  const since = hub.position;
  for (let i = 0; i < count; i++) publishNow(hub, channel, 'update', EVENT);
  hub.flush();
  return { gw, hub, since, clientsGone };
}

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);

async function measure(gw: RunningGateway, channel: string, since: number) {
  const rssBefore = process.memoryUsage().rss;
  const clients: WebSocket[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await stalledResume(gw, channel, since));
  await waitFor(() => gw.gateway.hub.subscriberCount(channel) === CLIENTS, 10_000, 'every stalled client joined');
  const bytes = buffered(gw);
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  return { clients, bytes, rssGrowth };
}

test('20 resuming clients that do not read a ~13 MB replay: a few frames queued each; live events past the bound drop them', {
  timeout: 30_000,
}, async (t) => {
  const { gw, hub, since, clientsGone } = await withBacklog(t, 'room:big', 1000); // ~13 MB of history
  const { clients, bytes, rssGrowth } = await measure(gw, 'room:big', since);
  clientsGone.push(() => {
    for (const c of clients) c.terminate();
  });
  console.log(
    `# ${CLIENTS} stalled resumes of a ~13 MB backlog: ${mib(bytes)} MiB queued, RSS +${mib(rssGrowth)} MiB (bound ${mib(CLIENTS * BUFFER)} MiB)`,
  );
  assert.ok(
    bytes <= CLIENTS * BUFFER,
    `queued ${bytes} bytes for ${CLIENTS} clients, over ${CLIENTS} × CLIENT_BUFFER_BYTES`,
  );
  assert.ok(rssGrowth < 100 * 1024 * 1024, `RSS grew ${mib(rssGrowth)} MiB`);

  // A client that reads gets the whole replay, then the reply, then live events, in order.
  const reader = await TestWs.open(gw.wsUrl);
  clientsGone.push(() => reader.ws.terminate());
  reader.send({
    type: 'command',
    command: 'join_channel',
    ref: 7,
    data: { channel: 'room:big', since: String(since) },
  });
  const reply = await reader.next((f) => f.ref === 7, 20_000);
  assert.equal(reply.data.recovered, true);
  const replayed = reader.frames.filter((f) => f.event === 'update');
  assert.equal(replayed.length, 1000, 'the whole backlog before the reply');
  assert.ok(
    replayed.every((f, i) => i === 0 || BigInt(f.id) > BigInt(replayed[i - 1].id)),
    'in id order',
  );

  // Live events for the stalled clients wait behind their replays, within the bound: past it they are dropped.
  const slowBefore = Number(gw.gateway.stats().slow_clients_dropped);
  for (let i = 0; i < 400; i++) publishNow(hub, 'room:big', 'update', EVENT); // ~5 MB > 4 MiB
  hub.flush();
  await reader.next((f) => f.event === 'update' && f.data.blob !== undefined, 5000, reader.frames.length - 1);
  await waitFor(
    () => Number(gw.gateway.stats().slow_clients_dropped) - slowBefore === CLIENTS,
    10_000,
    'the stalled clients to be dropped',
  );
  const after = buffered(gw);
  console.log(`# after 5 MB of live events: ${mib(after)} MiB queued`);
  assert.ok(after <= CLIENTS * BUFFER);
});

test('20 SSE streams resuming with Last-Event-ID that do not read: a few frames queued each, then the whole replay once read', {
  timeout: 30_000,
}, async (t) => {
  const { gw, hub, since, clientsGone } = await withBacklog(t, 'room:sse', 800); // ~10 MB
  const { port } = new URL(gw.url);
  const rssBefore = process.memoryUsage().rss;
  const sockets: Socket[] = [];
  clientsGone.push(() => {
    for (const s of sockets) s.destroy();
  });
  for (let i = 0; i < CLIENTS; i++) {
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => {}); // closed by the test
    socket.pause();
    socket.write(
      `GET /realtime/events?channels=room:sse HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: ${since}\r\n\r\n`,
    );
    sockets.push(socket);
  }
  await waitFor(() => hub.subscriberCount('room:sse') === CLIENTS, 10_000, 'every stalled stream joined');
  let bytes = 0;
  for (const conn of hub.connections(Transport.sse))
    bytes += (conn as unknown as { socket: Socket }).socket.writableLength;
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  console.log(
    `# ${CLIENTS} stalled SSE resumes of a ~10 MB backlog: ${mib(bytes)} MiB queued, RSS +${mib(rssGrowth)} MiB`,
  );
  assert.ok(bytes <= CLIENTS * BUFFER, `queued ${bytes} bytes`);
  assert.ok(rssGrowth < 60 * 1024 * 1024, `RSS grew ${mib(rssGrowth)} MiB for ${CLIENTS} replays of the same frames`);

  // Live events meanwhile wait behind the replays (within the bound).
  for (let i = 0; i < 5; i++) publishNow(hub, 'room:sse', 'live', { i });
  hub.flush();
  // One of them starts reading: it gets the replay, then the live events, each once, in order.
  const reading = sockets[0];
  let text = '';
  reading.on('data', (c: Buffer) => (text += c.toString()));
  reading.resume();
  await waitFor(() => (text.match(/event: live\n/g) ?? []).length === 5, 20_000, 'the replay and the live events');
  const events = [...text.matchAll(/id: (\d+)\nevent: (update|live)\n/g)].map((m) => [Number(m[1]), m[2]] as const);
  assert.equal(events.length, 805);
  assert.ok(events.slice(0, 800).every(([, e]) => e === 'update') && events.slice(800).every(([, e]) => e === 'live'));
  assert.ok(
    events.every(([id], i) => i === 0 || id > events[i - 1][0]),
    'in id order, no repeats',
  );
});
