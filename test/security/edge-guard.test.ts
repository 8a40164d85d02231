import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import net from 'node:net';
import http from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { HandlerGuard } from '../../src/transports/guard.js';
import WebSocket from 'ws';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { rawExchange, statusOf, errorOf } from '../fuzz/harness.js';
import type { Gateway } from '../../src/server.js';

// Issue 10: every socket, upgrade and request handler runs inside one guard
// (src/transports/guard.ts). Here an exception is injected into each kind of
// handler — by replacing the method the handler calls with one that throws —
// and the process must answer that client with an error or a close, log and
// count it, and go on serving the next request. Before the guard, most of
// these were uncaught exceptions: the end of the process (and of this test).

const FRAME_LIMIT = 4096;

/** Replace `obj[name]` with `fn` until the returned function restores it. */
function inject<T extends object>(obj: T, name: string, fn: (...args: any[]) => unknown): () => void {
  const o = obj as Record<string, unknown>;
  const had = Object.hasOwn(o, name);
  const original = o[name];
  o[name] = fn;
  return () => {
    if (had) o[name] = original;
    else delete o[name];
  };
}

const boom = () => {
  throw new Error('injected failure');
};

function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve(-1);
    ws.once('close', (code) => resolve(code));
  });
}

/** The gateway still answers a request, a WS and an SSE client, and holds no connection slot once they leave. */
async function stillServing(gw: RunningGateway): Promise<void> {
  const health = await fetch(`${gw.url}/healthz`);
  assert.equal(health.status, 200);
  const ws = await openWs(gw.wsUrl);
  const sse = await fetch(`${gw.url}/realtime/events?channels=products`);
  assert.equal(sse.status, 200);
  await sse.body?.cancel();
  ws.close();
  await closed(ws);
  await slotsFree(gw.gateway);
}

function slotsFree(g: Gateway): Promise<void> {
  return waitFor(
    () => g.gate.inUse === 0 && g.gate.addresses === 0,
    5000,
    `connection slots back to 0 (in use ${g.gate.inUse})`,
  );
}

test('an exception in any handler answers that client only; the process goes on', async (t) => {
  const gw = await startGateway({ wsMaxFrameBytes: FRAME_LIMIT, maxConnectionsPerIp: 4 }, [
    {
      name: 'edge-guard',
      setup(ctx) {
        ctx.http.get('/edge-guard/throws', async () => boom());
      },
    },
  ]);
  t.after(() => gw.close());
  const g = gw.gateway;
  const port = Number(new URL(gw.url).port);
  let expected = 0;
  const counted = async (what: string) => {
    expected++;
    await waitFor(() => g.guard.caught >= expected, 3000, `the guard to count ${what}`);
    assert.equal(g.guard.caught, expected, what);
  };

  await t.test('fastify route', async () => {
    const res = await fetch(`${gw.url}/edge-guard/throws`);
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: { code: 'internal_error', message: 'internal server error' } });
    await counted('the route');
    await stillServing(gw);
  });

  await t.test('raw SSE route: a synchronous throw and a rejection', async () => {
    let restore = inject(g.sse, 'handle', boom);
    let res = await fetch(`${gw.url}/realtime/events?channels=products`);
    restore();
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as any).error.code, 'internal_error');
    await counted('sse sync');
    restore = inject(g.sse, 'handle', async () => boom());
    res = await fetch(`${gw.url}/realtime/events?channels=products`);
    restore();
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as any).error.code, 'internal_error');
    await counted('sse async');
    await stillServing(gw);
  });

  await t.test('HTTP upgrade: the transport throws, and ws throws opening the connection', async () => {
    let restore = inject(g.ws, 'upgrade', boom);
    let answer = await rawExchange(
      port,
      `GET /realtime/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    restore();
    assert.equal(statusOf(answer), '500', answer);
    assert.equal(errorOf(answer)?.code, 'internal_error');
    await counted('upgrade');
    restore = inject(g.ws, 'open', boom);
    const ws = new WebSocket(gw.wsUrl);
    ws.on('error', () => undefined);
    const code = await closed(ws);
    restore();
    assert.equal(code, 1011, 'the half-open connection is closed 1011');
    await counted('open');
    await stillServing(gw);
    answer = await rawExchange(
      port,
      `GET /realtime/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    assert.equal(statusOf(answer), '101');
  });

  await t.test('ws message handler', async () => {
    const ws = await openWs(gw.wsUrl);
    const restore = inject(g.ws, 'received', boom);
    ws.send(JSON.stringify({ type: 'ping' }));
    const code = await closed(ws);
    restore();
    assert.equal(code, 1011);
    await counted('message');
    await stillServing(gw);
  });

  await t.test('ws error handler (a frame over WS_MAX_FRAME_BYTES makes ws emit error)', async () => {
    const ws = await openWs(gw.wsUrl);
    const restore = inject(g.ws, 'error', boom);
    ws.send('x'.repeat(FRAME_LIMIT * 2));
    const code = await closed(ws);
    restore();
    assert.equal(code, 1009, 'ws still closes it for the frame size');
    await counted('error');
    await stillServing(gw);
  });

  await t.test('ws close handler', async () => {
    const ws = await openWs(gw.wsUrl);
    const restore = inject(g.ws, 'closed', boom);
    ws.close();
    await closed(ws);
    await counted('close');
    restore();
    await stillServing(gw);
  });

  await t.test('SSE socket close handler', async () => {
    const restore = inject(g.sse, 'closed', boom);
    const ctl = new AbortController();
    const res = await fetch(`${gw.url}/realtime/events?channels=products`, { signal: ctl.signal });
    assert.equal(res.status, 200);
    ctl.abort();
    await counted('sse close');
    restore();
    await stillServing(gw);
  });

  await t.test('socket error on an upgrade socket nobody owns yet (a 404 path)', async () => {
    const inject404 = (_req: unknown, socket: Duplex) => {
      // A reset arriving while the 404 is written: with no listener, 'error' ends the process.
      setImmediate(() => socket.emit('error', Object.assign(new Error('injected reset'), { code: 'ECONNRESET' })));
    };
    g.app.server.prependListener('upgrade', inject404);
    const answer = await rawExchange(
      port,
      `GET /nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    );
    g.app.server.removeListener('upgrade', inject404);
    assert.ok(['404', 'closed'].includes(statusOf(answer)), answer);
    await stillServing(gw);
  });

  await t.test('a request-target URL cannot parse, on the upgrade route: refused, not caught', async () => {
    const before = g.guard.caught;
    const upgrade = await rawExchange(
      port,
      `GET //[ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n`,
    );
    assert.equal(statusOf(upgrade), '400', upgrade);
    assert.deepEqual(errorOf(upgrade), { code: 'bad_request', message: 'malformed request-target' });
    assert.equal(g.guard.caught, before, 'refused on purpose, not caught');
    await stillServing(gw);
  });
});

test('a client gone while admission waits on authentication gives its slot back, once, on WS and SSE', async (t) => {
  const gw = await startGateway({ maxConnectionsPerIp: 2 });
  t.after(() => gw.close());
  const g = gw.gateway;
  const port = Number(new URL(gw.url).port);
  // The authenticator both transports share, held until released: the handshakes are mid-way.
  const auth = (g.ws as unknown as { auth: { identify: (...a: unknown[]) => Promise<unknown> } }).auth;
  const identify = auth.identify.bind(auth);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let finished = 0;
  const restore = inject(auth, 'identify', async (...a: unknown[]) => {
    await held;
    try {
      return await identify(...a);
    } finally {
      finished++;
    }
  });
  t.after(restore);
  const requests = [
    `GET /realtime/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    `GET /realtime/events?channels=products HTTP/1.1\r\nHost: x\r\n\r\n`,
  ];
  const clients = requests.map((r) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    c.write(r);
    return c;
  });
  await waitFor(() => g.gate.inUse === 2 && g.gate.addresses === 1, 5000, 'both admissions to hold a slot');
  for (const c of clients) c.resetAndDestroy();
  await slotsFree(g);
  // Authentication completes for clients that are gone: nothing is given back twice
  // (a second release would let the address past its limit).
  release();
  await waitFor(() => finished === 2, 5000, 'both authentications to finish');
  // The transports' continuations run in the turns after: let them.
  await new Promise((r) => setImmediate(r));
  assert.equal(g.gate.inUse, 0);
  restore();
  const a = await openWs(gw.wsUrl);
  const b = await openWs(gw.wsUrl);
  assert.equal(g.gate.inUse, 2);
  const third = await rawExchange(port, requests[0]);
  assert.equal(statusOf(third), '429', 'the per-address limit still counts right');
  a.close();
  b.close();
  await Promise.all([closed(a), closed(b)]);
  await slotsFree(g);
  assert.equal(g.guard.caught, 0);
});

test('the guard logs the handler kind and the path, never the query (it may carry a token)', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const guard = new HandlerGuard(pino({ level: 'warn' }, sink));
  const server = http.createServer(
    guard.requestListener(() => {
      throw new Error('injected failure');
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/realtime/events?token=SECRET-TOKEN-VALUE`);
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: { code: 'internal_error', message: 'internal server error' } });
  } finally {
    server.close();
  }
  assert.equal(guard.caught, 1);
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]);
  assert.equal(rec.handler, 'http request');
  assert.equal(rec.path, '/realtime/events');
  assert.match(rec.msg, /answered 500 internal_error/);
  assert.ok(!lines[0].includes('SECRET-TOKEN-VALUE'), lines[0]);
  // And what a client's request cannot be read from is its fault, not a bug.
  assert.equal(HandlerGuard.answer(new URIError('URI malformed')).status, 400);
  assert.equal(
    HandlerGuard.answer(
      (() => {
        try {
          new URL('//[');
        } catch (e) {
          return e;
        }
      })(),
    ).status,
    400,
  );
});
