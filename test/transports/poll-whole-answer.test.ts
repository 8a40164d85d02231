import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';

// Long-poll answers written whole (src/transports/poll/whole-answer.ts): read
// off raw sockets, so the bytes node:http would have produced are checked too.

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ maxConnectionsPerIp: 0, maxConnections: 20_000 });
});
after(() => gw.close());

const send = (channel: string, data: unknown) => postJson(`${gw.url}/realtime/send`, { channel, event: 'tick', data });

interface RawAnswer {
  status: string;
  headers: Map<string, string>;
  body: string;
}

/** A socket that sends requests as given and parses whole responses (Content-Length or chunked) off it. */
class RawClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: Array<(a: RawAnswer) => void> = [];
  ended = false;
  readonly socket: Socket;
  constructor(port: string) {
    this.socket = connect(Number(port), '127.0.0.1');
    this.socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.parse();
    });
    this.socket.on('end', () => (this.ended = true));
    this.socket.on('error', () => undefined);
  }

  request(text: string): Promise<RawAnswer> {
    this.socket.write(text);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private parse(): void {
    for (;;) {
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const lines = this.buf.subarray(0, headEnd).toString('latin1').split('\r\n');
      const headers = new Map(
        lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      let body: string;
      let end: number;
      if (headers.has('content-length')) {
        end = headEnd + 4 + Number(headers.get('content-length'));
        if (this.buf.length < end) return;
        body = this.buf.subarray(headEnd + 4, end).toString();
      } else {
        assert.equal(headers.get('transfer-encoding'), 'chunked');
        const last = this.buf.indexOf('\r\n0\r\n\r\n', headEnd);
        if (last < 0) return;
        end = last + 7;
        const chunk = this.buf.subarray(headEnd + 4, last).toString();
        body = chunk.slice(chunk.indexOf('\r\n') + 2);
      }
      this.buf = this.buf.subarray(end);
      this.waiting.shift()!({ status: lines[0], headers, body });
    }
  }
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

test('a released poll is one keep-alive HTTP/1.1 answer with Content-Length; the next poll on the socket is held and released too', async () => {
  const c = new RawClient(new URL(gw.url).port);
  const first = await c.request(get('/realtime/poll?channels=whole:a&timeout=0'));
  const since = JSON.parse(first.body).last_id;
  const held = c.request(
    get(`/realtime/poll?channels=whole:a&since=${since}&timeout=20`, 'Origin: https://app.example\r\n'),
  );
  await waitFor(() => gw.gateway.poll.held === 1, 5000, 'the poll to be held');
  const sent = await send('whole:a', { n: 1 });
  const a = await held;
  assert.equal(a.status, 'HTTP/1.1 200 OK');
  assert.equal(a.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(a.headers.get('cache-control'), 'no-store');
  assert.equal(a.headers.get('access-control-allow-origin'), '*');
  assert.equal(a.headers.get('connection'), 'keep-alive');
  assert.equal(a.headers.get('keep-alive'), 'timeout=65');
  assert.ok(Math.abs(Date.parse(a.headers.get('date')!) - Date.now()) < 5000, `date ${a.headers.get('date')}`);
  assert.equal(Number(a.headers.get('content-length')), Buffer.byteLength(a.body));
  assert.equal(a.headers.has('transfer-encoding'), false);
  const body = JSON.parse(a.body);
  assert.deepEqual(
    body.events.map((e: { id: string }) => e.id),
    [sent.body.id],
  );
  assert.equal(body.last_id, sent.body.id);

  // Same socket: node:http took the next request after the answer.
  const again = c.request(get(`/realtime/poll?channels=whole:a&since=${body.last_id}&timeout=20`));
  await waitFor(() => gw.gateway.poll.held === 1, 5000, 'the second poll to be held');
  const next = await send('whole:a', { n: 2 });
  const b = JSON.parse((await again).body);
  assert.deepEqual(
    b.events.map((e: { data: unknown }) => e.data),
    [{ n: 2 }],
  );
  assert.equal(b.last_id, next.body.id);
  assert.equal(c.ended, false);
  c.socket.destroy();
  await waitFor(() => gw.gateway.gate.inUse === 0, 5000, 'slots given back');
});

test('HTTP/1.0 without keep-alive: the answer says Connection: close and the server closes', async () => {
  const c = new RawClient(new URL(gw.url).port);
  const a = await c.request('GET /realtime/poll?channels=whole:b&timeout=0 HTTP/1.0\r\n\r\n');
  assert.equal(a.headers.get('connection'), 'close');
  assert.deepEqual(JSON.parse(a.body).events, []);
  await waitFor(() => c.ended, 5000, 'the server to close');
  c.socket.destroy();
});

test('5,000 held polls: one publish answers every one, each exactly once (memory and release time checked loosely)', async () => {
  const N = 5000;
  const start = await new RawClient(new URL(gw.url).port).request(get('/realtime/poll?channels=whole:many&timeout=0'));
  const since = JSON.parse(start.body).last_id;
  // A full GC before each reading, so what is counted is what the held polls keep.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const clients: RawClient[] = [];
  const answers: Array<Promise<RawAnswer>> = [];
  let lastAt = 0;
  try {
    for (let i = 0; i < N; i++) {
      const c = new RawClient(new URL(gw.url).port);
      clients.push(c);
      answers.push(
        c.request(get(`/realtime/poll?channels=whole:many&since=${since}&timeout=30`)).then((a) => {
          lastAt = performance.now();
          return a;
        }),
      );
      if (i % 250 === 249) await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => gw.gateway.poll.held === N, 60_000, `${N} held polls`);
    gc();
    // The raw clients' sockets are in this heap too (≈ 1 KiB each); bench:poll-release reads the
    // gateway's own resident memory.
    const heapPerPollKiB = (process.memoryUsage().heapUsed - heapBefore) / N / 1024;
    const published = performance.now();
    const sent = await send('whole:many', 'go');
    const all = await Promise.all(answers);
    const clientMs = lastAt - published;
    const serverMs = gw.gateway.poll.lastReleaseMs;
    console.log(
      `${N} held polls: heap ≈ ${heapPerPollKiB.toFixed(1)} KiB per held poll (server and client); last answer written ${serverMs.toFixed(0)} ms after the publication reached the transport, read by the last client ${clientMs.toFixed(0)} ms after the publish request`,
    );
    // Loose: node:http's request, response and socket are ≈ 4 KiB of heap; 16 catches a poll that keeps more.
    assert.ok(heapPerPollKiB < 16, `heap per held poll ${heapPerPollKiB.toFixed(1)} KiB`);
    for (const a of all)
      assert.deepEqual(
        JSON.parse(a.body).events.map((e: { id: string }) => e.id),
        [sent.body.id],
      );
    // Loose: writeHead + end per answer took ≈ 1 s here under load; whole answers ≈ 0.1–0.3 s.
    assert.ok(serverMs < 1000, `release pass ${serverMs.toFixed(0)} ms`);
    assert.equal(gw.gateway.poll.held, 0);
  } finally {
    for (const c of clients) c.socket.destroy();
  }
  await waitFor(() => gw.gateway.gate.inUse === 0, 10_000, 'slots given back');
});
