import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Bystander,
  ChildGateway,
  SEED,
  cases,
  errorOf,
  outOfTime,
  rawExchange,
  rssReport,
  statusOf,
} from './harness.js';

// The request shapes that found issue 10's crash and slot leak: request-targets
// `new URL` or a percent-decoder cannot take (`//[`, `http://[`, `%`, very long,
// non-ASCII, absolute-form), odd Upgrade and Connection headers, and WebSocket
// handshakes with and without a valid key, version and subprotocol list, some
// of them abandoned right after the head. The gateway (with a per-address
// limit) must stay up, never answer 5xx or anything but our JSON error shape,
// never let a handler throw, and hold no connection slot once the clients are
// gone; a bystander keeps receiving and the server's RSS comes back.

const PATHS = [
  '/realtime/ws',
  '/realtime/events',
  '/realtime/webrtc/signaling',
  '/realtime/send',
  '/healthz',
  '/api/products/1',
  '/',
];

const target = fc.oneof(
  // The WebSocket paths as they are, so that the handshake variants reach ws.
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '/realtime/ws',
      '/realtime/ws?x=1',
      '/realtime/webrtc/signaling?peer_id=fuzz',
      '/realtime/webrtc/signaling',
    ),
  },
  fc.constantFrom(
    '//[',
    'http://[',
    '%',
    '/%',
    '/%zz',
    '//',
    '///',
    '*',
    'http:',
    'http://[::1',
    'http://[::1]:99999/',
    '//[/realtime/ws',
    '/realtime/ws?%',
    '/realtime/events?%ZZ&channels=%',
    'http://x:99999/realtime/ws',
    '\\\\realtime\\ws',
    '/realtime/ws#frag',
    '/realtime/ws/..',
    '/realtime/events/',
    '?',
    '/realtime/ws?peer_id=%E0%A4%A',
  ),
  // Absolute-form, as a proxy would send it.
  fc
    .tuple(
      fc.constantFrom('http://', 'https://', 'ws://', 'HTTP://', 'http:/', 'file://', 'javascript:'),
      fc.constantFrom('127.0.0.1', 'localhost:1', '[::1]', '[', 'a@b', ''),
      fc.constantFrom(...PATHS),
    )
    .map(([s, h, p]) => s + h + p),
  // A known path with a hostile tail.
  fc.tuple(fc.constantFrom(...PATHS), fc.string({ maxLength: 40 })).map(([p, tail]) => p + tail),
  fc
    .tuple(fc.constantFrom(...PATHS), fc.string({ unit: 'grapheme', maxLength: 20 }))
    .map(([p, tail]) => `${p}?x=${tail}`),
  fc.tuple(fc.constantFrom(...PATHS), fc.string({ unit: 'binary', maxLength: 12 })).map(([p, tail]) => p + tail),
  // Very long: under and over node's 16 KiB head limit.
  fc
    .tuple(
      fc.constantFrom(...PATHS),
      fc.integer({ min: 1000, max: 20_000 }),
      fc.constantFrom('a', '%', '/', '[', '%41'),
    )
    .map(([p, n, c]) => `${p}?${c.repeat(Math.ceil(n / c.length))}`),
  fc.string({ maxLength: 30 }),
);

const upgradeValue = fc.oneof(
  { weight: 4, arbitrary: fc.constant('websocket') },
  fc.constantFrom('websocket', 'WebSocket', 'WEBSOCKET', 'foo', '', 'h2c', 'websocket, h2c', 'websocket ', 'tls/1.0'),
  fc.string({ maxLength: 12 }),
);
const connectionValue = fc.constantFrom(
  'Upgrade',
  'Upgrade',
  'Upgrade',
  'upgrade',
  'keep-alive, Upgrade',
  'close, upgrade',
  'close',
  'keep-alive',
  '',
  'Upgrade, Upgrade',
);
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constant('dGhlIHNhbXBsZSBub25jZQ==') },
  fc.base64String({ minLength: 24, maxLength: 24 }),
  fc.constantFrom('abc', '', 'dGhlIHNhbXBsZSBub25jZQ', 'dGhlIHNhbXBsZSBub25jZQ===', '!!!!!!!!!!!!!!!!!!!!!!=='),
  fc.string({ maxLength: 30 }),
);

const requestCase = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constant('GET') },
    { weight: 1, arbitrary: fc.constantFrom('POST', 'OPTIONS', 'PUT', 'DELETE', 'get') },
  ),
  target,
  version: fc.oneof(
    { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
    { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/1.2', 'HTTP/2', '') },
  ),
  connection: fc.option(connectionValue, { nil: undefined }),
  upgrade: fc.option(upgradeValue, { nil: undefined }),
  key: fc.option(key, { nil: undefined }),
  version13: fc.option(fc.constantFrom('13', '13', '13', '8', '99', '', '13, 8', 'abc'), { nil: undefined }),
  protocol: fc.option(fc.constantFrom('bearer.x', 'a,,b', 'chat, superchat', '', ' ', 'a b'), { nil: undefined }),
  origin: fc.option(fc.constantFrom('https://app.example', 'null', 'http://[', ''), { nil: undefined }),
  abort: fc.nat({ max: 9 }).map((n) => n === 0),
});
type Case = typeof requestCase extends fc.Arbitrary<infer T> ? T : never;

function requestBytes(c: Case): Buffer {
  let head = `${`${c.method} ${c.target} ${c.version}`.trimEnd()}\r\nHost: 127.0.0.1\r\n`;
  if (c.connection !== undefined) head += `Connection: ${c.connection}\r\n`;
  if (c.upgrade !== undefined) head += `Upgrade: ${c.upgrade}\r\n`;
  if (c.key !== undefined) head += `Sec-WebSocket-Key: ${c.key}\r\n`;
  if (c.version13 !== undefined) head += `Sec-WebSocket-Version: ${c.version13}\r\n`;
  if (c.protocol !== undefined) head += `Sec-WebSocket-Protocol: ${c.protocol}\r\n`;
  if (c.origin !== undefined) head += `Origin: ${c.origin}\r\n`;
  // Non-ASCII goes out as its UTF-8 bytes, as a client that does not escape would send it.
  return Buffer.from(`${head}\r\n`, 'utf8');
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

test('malformed request-targets, odd Upgrade/Connection headers and handshake variants: no crash, no 5xx, our error shape, slots back to 0', async (t) => {
  const gw = await ChildGateway.start({ maxConnectionsPerIp: 64, historySize: 50 });
  t.after(() => gw.proc.kill('SIGKILL'));
  const bystander = await Bystander.start(gw.url);
  t.after(() => bystander.close());
  const port = Number(new URL(gw.url).port);
  const total = cases(800, 20_000);
  const BATCH = 200;
  const problems: string[] = [];
  const statuses = new Map<string, number>();
  const started = Date.now();
  let base = null;
  let done = 0;
  for (let batch = 0; done < total && !outOfTime(started); batch++) {
    const list = fc.sample(requestCase, { seed: SEED + 5000 + batch, numRuns: Math.min(BATCH, total - done) });
    await pool(list, 16, async (c) => {
      const answer = await rawExchange(port, requestBytes(c), { abort: c.abort });
      if (c.abort) return;
      const status = statusOf(answer);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      // 101 and 200: a request that was fine after all opened its stream (or a page answered).
      const ok =
        status === 'closed' ||
        status === '101' ||
        status === '200' ||
        status === '204' ||
        status === '304' ||
        (/^4\d\d$/.test(status) && errorOf(answer) !== null);
      if (!ok)
        problems.push(`${JSON.stringify(requestBytes(c).toString('latin1').slice(0, 300))} → ${answer.slice(0, 300)}`);
    });
    done += list.length;
    assert.ok(gw.alive, `gateway died (exit ${gw.exitCode}), seed ${SEED}`);
    assert.deepEqual(problems.slice(0, 5), [], `seed ${SEED}`);
    if (batch === 0) base = await gw.memory();
  }
  const { sent } = await bystander.verify();
  bystander.close();
  const end = await gw.slotsFree();
  t.diagnostic(
    rssReport('request-targets', base!, end, done, Date.now() - started) +
      `; statuses ${JSON.stringify(Object.fromEntries(statuses))}; bystander events ${sent}`,
  );
  assert.equal(end.stats.handler_errors, 0, `a handler threw (see the gateway's log), seed ${SEED}`);
  assert.ok(end.rss <= base!.rss * 1.1 + 8 * 1048576, `RSS ${end.rss} vs ${base!.rss} after the warm-up`);
  await gw.stop();
});
