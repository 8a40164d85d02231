import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { jsonTextTooDeep, valueTooDeep, MAX_JSON_DEPTH } from '../../src/transports/json-depth.js';

// Inputs the hostile-input suite found taking the process down, kept as plain tests:
// deep JSON overflowed the stack when a publication or echo was serialized, and a frame
// `type` naming an Object.prototype member (`__proto__`, `constructor`) was looked up as a schema.

test('JSON depth: strings and escapes do not count, the limit is exact', () => {
  const nest = (d: number) => '['.repeat(d) + ']'.repeat(d);
  assert.equal(jsonTextTooDeep(nest(MAX_JSON_DEPTH)), false);
  assert.equal(jsonTextTooDeep(nest(MAX_JSON_DEPTH + 1)), true);
  assert.equal(jsonTextTooDeep(`{"a":"${'['.repeat(500)}"}`), false, 'brackets inside a string');
  assert.equal(jsonTextTooDeep(`{"a":"\\"${'{'.repeat(500)}"}`), false, 'an escaped quote does not end the string');
  assert.equal(jsonTextTooDeep(`["\\\\", ${nest(MAX_JSON_DEPTH)}]`), true, 'an escaped backslash does end the escape');
  const deep: unknown[] = [];
  let at = deep;
  for (let i = 1; i < MAX_JSON_DEPTH; i++) at.push((at = []));
  assert.equal(valueTooDeep(deep), false);
  at.push({ x: 1 });
  assert.equal(valueTooDeep(deep), true);
  assert.equal(valueTooDeep('flat'), false);
});

test('deep JSON and prototype-named types get error frames; the server and the socket live on', async () => {
  const gw = await startGateway({ wsRateLimit: 0 });
  const ws = await TestWs.open(gw.wsUrl);
  await ws.next((f) => f.type === 'connected');
  const deep = (d: number) => '['.repeat(d) + ']'.repeat(d);
  const frames: Array<[string, string]> = [
    [`{"type":"json","data":${deep(20_000)}}`, 'invalid_frame'],
    [`{"type":"channel_message","channel":"c","message":${deep(20_000)}}`, 'invalid_frame'],
    [`{"type":"webrtc_signal","signal_type":"offer","target_peer_id":"p","sdp":${deep(20_000)}}`, 'invalid_frame'],
    ['{"type":"__proto__"}', 'unknown_type'],
    ['{"type":"constructor"}', 'unknown_type'],
    ['{"type":"toString"}', 'unknown_type'],
    ['{"type":"hasOwnProperty","data":1}', 'unknown_type'],
  ];
  for (const [frame, code] of frames) {
    const before = ws.frames.length;
    ws.send(frame);
    assert.equal((await ws.next((f) => f.type === 'error', 3000, before)).code, code, frame.slice(0, 40));
  }
  assert.equal((await ws.command('ping')).ok, true);
  for (const path of ['/realtime/send', '/realtime/broadcast']) {
    const body = `{${path.endsWith('send') ? '"channel":"c",' : ''}"data":${deep(100_000)}}`;
    const res = await postJson(`${gw.url}${path}`, body);
    assert.equal(res.status, 400, path);
    assert.match(res.body.error.message, /nests deeper/);
  }
  ws.close();
  await gw.close();
});
