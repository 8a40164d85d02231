import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.js';
import { rawExchange, statusOf, errorOf } from '../fuzz/harness.js';

// Issue 10, finding 13 (part): Fastify answered its own errors (bad URL,
// unparsable requests, oversize heads, 503 while closing) as
// {"error":"Bad Request","message":…,"statusCode":400}. Every error answer is
// {"error":{"code":"<snake_case>","message":"…"}}, whoever produces it.

test('every error answer has our shape: router, parser, body, handshake and shutdown refusals', async (t) => {
  const gw = await startGateway({ maxBodyBytes: 1024 });
  t.after(() => gw.close());
  const port = Number(new URL(gw.url).port);
  const json = (body: string) => `POST /realtime/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const cases: Array<[string, string, string, string]> = [
    ['unknown route', 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n', '404', 'not_found'],
    ['percent-escape that does not decode', 'GET /api/products/%zz HTTP/1.1\r\nHost: x\r\n\r\n', '400', 'bad_request'],
    ['a lone %', 'GET /% HTTP/1.1\r\nHost: x\r\n\r\n', '400', 'bad_request'],
    ['request line node:http cannot parse', 'NOT AN HTTP REQUEST\r\n\r\n', '400', 'bad_request'],
    ['bad header', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n', '400', 'bad_request'],
    ['head over the size limit', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, '431', 'bad_request'],
    ['target over the size limit', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, '431', 'bad_request'],
    ['unsupported media type', 'POST /realtime/send HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-nope\r\nContent-Length: 2\r\n\r\nab', '415', 'unsupported_media_type'],
    ['body over MAX_BODY_BYTES', json(`{"channel":"a","event":"e","data":"${'x'.repeat(2000)}"}`), '413', 'payload_too_large'],
    ['body that is not JSON', json('{nope'), '400', 'invalid_json'],
    ['empty JSON body', json(''), '400', 'bad_request'],
    ['WS handshake without a key', 'GET /realtime/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n', '400', 'bad_request'],
    ['WS handshake with a bad subprotocol list (refused by ws itself)', 'GET /realtime/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,,b\r\n\r\n', '400', 'bad_request'],
    ['upgrade to an unknown path', 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', '404', 'not_found'],
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
