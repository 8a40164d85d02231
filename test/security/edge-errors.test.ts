import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { pino } from 'pino';
import { startGateway } from '../helpers/gateway.js';
import { createHttpApp } from '../../src/transports/http/app.js';
import { OriginPolicy } from '../../src/transports/http/cors.js';
import { HandlerGuard } from '../../src/transports/guard.js';
import { rawExchange, statusOf, errorOf } from '../fuzz/harness.js';

// Issue 10, finding 13 (part): Fastify answered its own errors (bad URL,
// unparsable requests, oversize heads, 503 while closing) as
// {"error":"Bad Request","message":…,"statusCode":400}. Every error answer is
// {"error":{"code":"<snake_case>","message":"…"}}, whoever produces it.

test('every error answer has our shape: router, parser, body, handshake and shutdown refusals', async (t) => {
  const gw = await startGateway({ maxBodyBytes: 1024 });
  t.after(() => gw.close());
  const port = Number(new URL(gw.url).port);
  const json = (body: string) =>
    `POST /realtime/send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const cases: Array<[string, string, string, string]> = [
    ['unknown route', 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n', '404', 'not_found'],
    ['percent-escape that does not decode', 'GET /api/products/%zz HTTP/1.1\r\nHost: x\r\n\r\n', '400', 'bad_request'],
    ['a lone %', 'GET /% HTTP/1.1\r\nHost: x\r\n\r\n', '400', 'bad_request'],
    ['request line node:http cannot parse', 'NOT AN HTTP REQUEST\r\n\r\n', '400', 'bad_request'],
    ['bad header', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n', '400', 'bad_request'],
    [
      'head over the size limit',
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      '431',
      'bad_request',
    ],
    ['target over the size limit', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, '431', 'bad_request'],
    [
      'unsupported media type',
      'POST /realtime/send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/x-nope\r\nContent-Length: 2\r\n\r\nab',
      '415',
      'unsupported_media_type',
    ],
    [
      'body over MAX_BODY_BYTES',
      json(`{"channel":"a","event":"e","data":"${'x'.repeat(2000)}"}`),
      '413',
      'payload_too_large',
    ],
    ['body that is not JSON', json('{nope'), '400', 'invalid_json'],
    ['empty JSON body', json(''), '400', 'bad_request'],
    [
      'WS handshake without a key',
      'GET /realtime/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n',
      '400',
      'bad_request',
    ],
    [
      'WS handshake with a bad subprotocol list (refused by ws itself)',
      'GET /realtime/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,,b\r\n\r\n',
      '400',
      'bad_request',
    ],
    [
      'upgrade to an unknown path',
      'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      '404',
      'not_found',
    ],
  ];
  for (const [name, request, status, code] of cases) {
    const answer = await rawExchange(port, request);
    assert.equal(statusOf(answer), status, `${name}: ${answer.slice(0, 300)}`);
    const error = errorOf(answer);
    assert.ok(error, `${name}: not {"error":{"code","message"}}: ${answer.slice(0, 300)}`);
    assert.equal(error.code, code, name);
    assert.ok(error.message.length > 0 && !/statusCode|FST_/.test(error.message), `${name}: ${error.message}`);
  }
  const health = await fetch(`${gw.url}/healthz`);
  assert.equal(health.status, 200);
});

test('a request Fastify sees after close began answers 503 not_ready in our shape', async (t) => {
  const guard = new HandlerGuard(pino({ level: 'silent' }));
  const app = createHttpApp({
    logger: pino({ level: 'silent' }),
    bodyLimit: 1024,
    origins: new OriginPolicy('*'),
    guard,
    raw: () => false,
  });
  let entered!: () => void;
  const inSlow = new Promise<void>((r) => (entered = r));
  let finish!: () => void;
  const slowDone = new Promise<void>((r) => (finish = r));
  app.get('/slow', async () => {
    entered();
    await slowDone;
    return { ok: true };
  });
  app.get('/fast', async () => ({ ok: true }));
  let closeBegan!: () => void;
  const began = new Promise<void>((r) => (closeBegan = r));
  app.addHook('preClose', async () => closeBegan());
  let fastAnswered!: () => void;
  const fastSeen = new Promise<void>((r) => (fastAnswered = r));
  app.addHook('onSend', async (req) => {
    if (req.url === '/fast') fastAnswered();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  // One keep-alive connection: a request in flight keeps it open across close().
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let got = '';
  socket.on('data', (d) => (got += d.toString('latin1')));
  socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await inSlow;
  const closing = app.close();
  await began;
  socket.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
  // node:http hands a pipelined request over while the one before it is still answered.
  await fastSeen;
  finish();
  await closing;
  await new Promise((r) => (socket.destroyed ? r(null) : socket.once('close', r)));
  const answers = got.split(/(?=HTTP\/1\.1 )/);
  assert.equal(statusOf(answers[0]), '200', got);
  assert.equal(statusOf(answers[1] ?? ''), '503', got);
  assert.deepEqual(errorOf(answers[1]), { code: 'not_ready', message: 'server is shutting down' });
});
