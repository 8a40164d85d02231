import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import {
  createClient,
  type FallbackClient,
  type TransportMemory,
  type TransportName,
} from '../../packages/client/src/index.js';

// The SDK's fallback (packages/client/src/fallback.ts) against real gateways with
// transports switched off, and behind a proxy that starts dropping WebSocket
// upgrades, then SSE streams, while events flow.

const fast = { minReconnectDelay: 20, maxReconnectDelay: 200, connectTimeout: 2000, pollTimeout: 2 };
const memory = (): TransportMemory & { map: Map<string, string> } => {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
};

async function roundTrip(client: FallbackClient, channel: string): Promise<void> {
  const got: unknown[] = [];
  const off = client.on('event', (e) => {
    if (e.channel === channel) got.push(e.data.message);
  });
  const sent = await client.publish(channel, { hello: client.transport });
  assert.match(sent.id, /^\d+$/);
  await waitFor(() => got.length === 1, 5000, `the message back on ${client.transport}`);
  assert.deepEqual(got, [{ hello: client.transport }]);
  off();
}

test('WEBSOCKET_ENABLED=false: the client runs on SSE and sends by POST; the choice is remembered', async () => {
  const gw = await startGateway({ websocketEnabled: false });
  const mem = memory();
  const client = createClient(gw.url, { ...fast, channels: ['fb:a'], memory: mem });
  try {
    await client.connect();
    assert.equal(client.transport, 'sse');
    await roundTrip(client, 'fb:a');
    assert.deepEqual([...mem.map.values()], ['sse']);
    client.close();
    // Next time the remembered transport goes first: no WebSocket attempt at all.
    const tried: string[] = [];
    class CountingWs {
      constructor(url: string) {
        tried.push(url);
        throw new Error('not expected');
      }
    }
    const again = createClient(gw.url, { ...fast, channels: ['fb:a'], memory: mem, WebSocket: CountingWs as never });
    await again.connect();
    assert.equal(again.transport, 'sse');
    assert.deepEqual(tried, []);
    again.close();
  } finally {
    client.close();
    await gw.close();
  }
});

test('WebSocket and SSE disabled: the client runs on long polling, reads and sends', async () => {
  const gw = await startGateway({ websocketEnabled: false, sseEnabled: false });
  const client = createClient(gw.url, { ...fast, channels: ['fb:b'], memory: memory() });
  try {
    await client.connect();
    assert.equal(client.transport, 'poll');
    await roundTrip(client, 'fb:b');
  } finally {
    client.close();
    await gw.close();
  }
});

/**
 * A reverse proxy in front of `gw` that can be told to drop WebSocket
 * upgrades and to refuse SSE streams, closing the ones it carries.
 */
async function startProxy(gw: RunningGateway) {
  const upstream = new URL(gw.url);
  const mode = { upgrades: true, streams: true, buffer: false };
  const tunnels = new Set<Duplex>();
  const streams = new Set<ServerResponse>();
  const upstreams = new Set<ReturnType<typeof request>>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const isStream = req.url?.startsWith('/realtime/events') ?? false;
    if (isStream && !mode.streams) {
      res.writeHead(502).end();
      return;
    }
    // A buffering proxy: the stream's bytes never reach the client.
    if (isStream && mode.buffer) {
      streams.add(res);
      return;
    }
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        if (isStream) {
          streams.add(res);
          res.on('close', () => streams.delete(res));
        }
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    upstreams.add(up);
    up.on('close', () => upstreams.delete(up));
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!mode.upgrades) return void socket.destroy();
    const up: Socket = connect(Number(upstream.port), upstream.hostname, () => {
      let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(`${text}\r\n`);
      up.write(head);
      up.pipe(socket).pipe(up);
    });
    tunnels.add(socket);
    socket.on('close', () => {
      tunnels.delete(socket);
      up.destroy();
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dropUpgrades() {
      mode.upgrades = false;
      for (const s of tunnels) s.destroy();
    },
    bufferStreams() {
      mode.buffer = true;
    },
    dropStreams() {
      mode.streams = false;
      for (const r of streams) r.destroy();
    },
    close: () => {
      for (const up of upstreams) up.destroy();
      for (const s of tunnels) s.destroy();
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('a proxy that drops upgrades: the client runs on SSE', async () => {
  const gw = await startGateway();
  const proxy = await startProxy(gw);
  proxy.dropUpgrades();
  const client = createClient(proxy.url, { ...fast, channels: ['fb:c'], memory: memory() });
  try {
    await client.connect();
    assert.equal(client.transport, 'sse');
    await roundTrip(client, 'fb:c');
  } finally {
    client.close();
    await proxy.close();
    await gw.close();
  }
});

test('a proxy that drops upgrades and buffers streams: SSE never shows its welcome, the client runs on long polling', async () => {
  const gw = await startGateway();
  const proxy = await startProxy(gw);
  proxy.dropUpgrades();
  proxy.bufferStreams();
  const client = createClient(proxy.url, { ...fast, connectTimeout: 1000, channels: ['fb:d'], memory: memory() });
  try {
    await client.connect();
    assert.equal(client.transport, 'poll');
    await roundTrip(client, 'fb:d');
  } finally {
    client.close();
    await proxy.close();
    await gw.close();
  }
});

test('transport changes mid-stream (WebSocket → SSE → long polling): every event once, in order', async () => {
  const gw = await startGateway({ historySize: 10_000 });
  const proxy = await startProxy(gw);
  const client = createClient(proxy.url, { ...fast, channels: ['fb:live'], memory: memory() });
  const got: number[] = [];
  const transports: TransportName[] = [];
  client.on('event', (e) => {
    if (e.channel === 'fb:live') got.push(e.data.n);
  });
  client.on('transport', (t) => transports.push(t));
  let stop = false;
  let sent = 0;
  let publisher: Promise<void> = Promise.resolve();
  try {
    await client.connect();
    assert.equal(client.transport, 'websocket');
    // From here on the client reads the channel: it must get every event published.
    publisher = (async () => {
      while (!stop) {
        await gw.gateway.hub.publishEvent('fb:live', 'n', { n: sent++ });
        if (sent % 5 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => got.length >= 100, 10_000, 'events over the WebSocket');
    proxy.dropUpgrades();
    await waitFor(() => client.transport === 'sse', 15_000, 'the switch to SSE');
    const onSse = got.length;
    await waitFor(() => got.length >= onSse + 100, 10_000, 'events over SSE');
    proxy.dropStreams();
    await waitFor(() => client.transport === 'poll', 15_000, 'the switch to long polling');
    const onPoll = got.length;
    await waitFor(() => got.length >= onPoll + 100, 10_000, 'events by long polling');
    stop = true;
    await publisher;
    await waitFor(() => got.length >= sent, 10_000, `all ${sent} events`);
    assert.deepEqual(transports, ['websocket', 'sse', 'poll']);
    assert.equal(got.length, sent, 'each event once');
    assert.deepEqual(
      got,
      Array.from({ length: sent }, (_, i) => i),
      'in order, none missing',
    );
    console.log(`${sent} events across websocket → sse → poll, each once and in order`);
  } finally {
    stop = true;
    await publisher;
    client.close();
    await proxy.close();
    await gw.close();
  }
});
