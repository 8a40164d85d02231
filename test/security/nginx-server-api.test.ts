import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startNginx, type RunningNginx } from '../helpers/cluster.js';
import { raw, postRaw } from './raw-http.js';

// deploy/nginx.conf in front of one gateway, as shipped. On the old file and gateway, a caller
// from any address got 200 from /realtime/send through nginx: nginx relayed it from loopback.

const KEY = 'nginx-test-key-0123456789';
const SEND = { channel: 'room:nginx', data: 1 };
let keyless: RunningGateway;
let keyed: RunningGateway;
let nginxKeyless: RunningNginx;
let nginxKeyed: RunningNginx;

before(async () => {
  keyless = await startGateway({ presenceChannels: ['chat:*'] });
  keyed = await startGateway({ apiKey: KEY, trustProxy: true, presenceChannels: ['chat:*'] });
  nginxKeyless = await startNginx([Number(new URL(keyless.url).port)]);
  nginxKeyed = await startNginx([Number(new URL(keyed.url).port)]);
});
after(async () => {
  await nginxKeyless?.stop();
  await nginxKeyed?.stop();
  await keyless?.close();
  await keyed?.close();
});

test('nginx refuses the server API to addresses outside $server_api_allowed, with a JSON 403', async () => {
  const outside = '127.0.0.2'; // not in the default allow list (127.0.0.1, ::1)
  const answers = [
    await raw(
      nginxKeyed.url,
      'POST',
      '/realtime/send',
      { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      JSON.stringify(SEND),
      outside,
    ),
    await raw(
      nginxKeyed.url,
      'POST',
      '/realtime/broadcast',
      { 'content-type': 'application/json' },
      '{"data":1}',
      outside,
    ),
    await raw(
      nginxKeyed.url,
      'POST',
      '/realtime/binary/upload',
      { 'content-type': 'multipart/form-data; boundary=x' },
      '--x--',
      outside,
    ),
    await raw(nginxKeyed.url, 'GET', '/realtime/channels/chat:a/presence', {}, undefined, outside),
    // nginx matches the decoded path; a `/` in the channel name must not slip past the location
    await raw(nginxKeyed.url, 'GET', '/realtime/channels/chat:a%2Fb/presence', {}, undefined, outside),
    await raw(
      nginxKeyed.url,
      'POST',
      '/realtime/%73end',
      { 'content-type': 'application/json' },
      JSON.stringify(SEND),
      outside,
    ),
  ];
  for (const r of answers) {
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'forbidden');
    assert.match(String(r.headers['content-type']), /application\/json/);
  }
  // the public surface still passes from there
  assert.equal((await raw(nginxKeyed.url, 'GET', '/realtime/stats', {}, undefined, outside)).status, 200);
  assert.equal((await raw(nginxKeyed.url, 'GET', '/healthz', {}, undefined, outside)).status, 200);
});

test('from an allowed address the gateway still asks for the key; without API_KEY it refuses relayed requests', async () => {
  const relayed = await postRaw(nginxKeyless.url, '/realtime/send', SEND);
  assert.equal(relayed.status, 403);
  assert.match(relayed.body.error.message, /relayed by a proxy/);
  assert.equal((await postRaw(nginxKeyed.url, '/realtime/send', SEND)).status, 401);
  const ok = await postRaw(nginxKeyed.url, '/realtime/send', SEND, { authorization: `Bearer ${KEY}` });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const presence = await raw(nginxKeyed.url, 'GET', '/realtime/channels/chat:a/presence', {
    authorization: `Bearer ${KEY}`,
  });
  assert.equal(presence.status, 200);
});
