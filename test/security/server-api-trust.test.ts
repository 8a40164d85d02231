import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { raw, postRaw, multipart } from './raw-http.js';

// The probe's finding: with API_KEY unset, any page opened on the gateway's host (or a DNS-rebound
// one, or anyone through a proxy on the host) could publish, read presence and upload; preflights
// answered `*`. Each case below got 200 (or `*`) on the old code.

const SEND = { channel: 'room:trust', event: 'hello', data: { n: 1 } };
const EVIL = 'http://evil.example';
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);

function upload(gw: RunningGateway, headers: Record<string, string> = {}) {
  const form = multipart('a.png', 'image/png', png);
  return raw(
    gw.url,
    'POST',
    '/realtime/binary/upload',
    { 'content-type': form.contentType, 'content-length': String(form.body.length), ...headers },
    form.body,
  );
}

describe('without API_KEY: local callers only, judged by address, Host, proxy headers and Origin', () => {
  let gw: RunningGateway;
  let port: string;
  before(async () => {
    gw = await startGateway({ presenceChannels: ['chat:*'], allowedOrigins: ['https://app.example'] });
    port = new URL(gw.url).port;
  });
  after(() => gw.close());

  test('a loopback caller naming a loopback Host, without Origin, is answered', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `127.9.8.7:${port}`, `[::1]:${port}`]) {
      const r = await postRaw(gw.url, '/realtime/send', SEND, { host });
      assert.equal(r.status, 200, `${host}: ${JSON.stringify(r.body)}`);
    }
    assert.equal((await raw(gw.url, 'GET', '/realtime/channels/chat:x/presence')).status, 200);
  });

  test('a browser Origin that ALLOWED_ORIGINS does not list is refused on send, broadcast, presence and upload', async () => {
    const watcher = await TestWs.open(gw.wsUrl);
    await watcher.command('join_channel', { channel: 'files' });
    const answers = [
      await postRaw(gw.url, '/realtime/send', SEND, { origin: EVIL }),
      await postRaw(gw.url, '/realtime/broadcast', { data: 1 }, { origin: EVIL }),
      await raw(gw.url, 'GET', '/realtime/channels/chat:x/presence', { origin: EVIL }),
      await upload(gw, { origin: EVIL }),
      // `null` is what sandboxed frames and file:// pages send
      await postRaw(gw.url, '/realtime/send', SEND, { origin: 'null' }),
    ];
    for (const r of answers) {
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'origin_not_allowed');
      assert.match(r.body.error.message, /ALLOWED_ORIGINS/);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    // the refused upload was neither stored nor announced: the next announcement is the allowed one
    const ok = await upload(gw, { origin: 'https://app.example' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
    const announced = await watcher.next((f) => f.event === 'file.uploaded');
    assert.equal(announced.data.id, ok.body.id);
    watcher.close();
  });

  test('a listed Origin is answered, with CORS naming it', async () => {
    const r = await postRaw(gw.url, '/realtime/send', SEND, { origin: 'https://app.example' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example');
  });

  test('a Host that is not a loopback name (DNS rebinding) is refused', async () => {
    for (const host of [
      `evil.example:${port}`,
      'localhost.evil.example',
      `127.0.0.1.nip.io:${port}`,
      `[::2]:${port}`,
    ]) {
      const r = await postRaw(gw.url, '/realtime/send', SEND, { host });
      assert.equal(r.status, 403, host);
      assert.equal(r.body.error.code, 'forbidden');
      assert.match(r.body.error.message, /Host .* is not a loopback name/);
    }
    const noHost = await raw(gw.url, 'GET', '/realtime/channels/chat:x/presence', { host: '' });
    assert.equal(noHost.status, 403);
    const up = await upload(gw, { host: `evil.example:${port}` });
    assert.equal(up.status, 403);
  });

  test('a request relayed by a proxy on the host (forwarding headers) is refused', async () => {
    const relays: Array<Record<string, string>> = [
      { 'x-forwarded-for': '203.0.113.9' },
      { forwarded: 'for=203.0.113.9' },
      { 'x-real-ip': '203.0.113.9' },
    ];
    for (const h of relays) {
      const r = await postRaw(gw.url, '/realtime/send', SEND, h);
      assert.equal(r.status, 403, JSON.stringify(h));
      assert.match(r.body.error.message, /relayed by a proxy/);
    }
  });

  test('preflights of the server API never answer `*`: only listed origins are named', async () => {
    const pre = (origin: string, path: string, method = 'POST') =>
      raw(gw.url, 'OPTIONS', path, {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': 'content-type',
      });
    for (const path of ['/realtime/send', '/realtime/broadcast', '/realtime/binary/upload']) {
      assert.equal((await pre(EVIL, path)).headers['access-control-allow-origin'], undefined, path);
      assert.equal(
        (await pre('https://app.example', path)).headers['access-control-allow-origin'],
        'https://app.example',
        path,
      );
    }
    assert.equal(
      (await pre(EVIL, '/realtime/channels/chat:x/presence', 'GET')).headers['access-control-allow-origin'],
      undefined,
    );
  });
});

describe('ALLOWED_ORIGINS=* (the default) lists no origin for the server API', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('a browser page is refused and CORS is not `*` on the server API; public reads keep `*`', async () => {
    const r = await postRaw(gw.url, '/realtime/send', SEND, { origin: EVIL });
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'origin_not_allowed');
    const pre = await raw(gw.url, 'OPTIONS', '/realtime/send', {
      origin: EVIL,
      'access-control-request-method': 'POST',
    });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    const up = await upload(gw, { origin: EVIL });
    assert.equal(up.status, 403);
    assert.equal(up.headers['access-control-allow-origin'], undefined);
    // the public surface is unchanged: stats and products stay readable from any page
    const stats = await raw(gw.url, 'GET', '/realtime/stats', { origin: EVIL });
    assert.equal(stats.status, 200);
    assert.equal(stats.headers['access-control-allow-origin'], '*');
  });
});

describe('TRUST_PROXY: a configured proxy turns loopback trust off', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ trustProxy: true, presenceChannels: ['chat:*'] });
  });
  after(() => gw.close());

  test('send, presence and upload from loopback are refused without a key', async () => {
    for (const r of [
      await postRaw(gw.url, '/realtime/send', SEND),
      await raw(gw.url, 'GET', '/realtime/channels/chat:x/presence'),
      await upload(gw),
    ]) {
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'forbidden');
      assert.match(r.body.error.message, /TRUST_PROXY.*API_KEY/);
    }
  });
});

describe('API_KEY set: the key is required whatever the address', () => {
  const KEY = 'k-0123456789abcdef';
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ apiKey: KEY, trustProxy: true, allowedOrigins: ['https://app.example'] });
  });
  after(() => gw.close());

  test('loopback without the key: 401; with it, also through a proxy: 200; an unlisted Origin: 403 even with it', async () => {
    const none = await postRaw(gw.url, '/realtime/send', SEND);
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'unauthorized');
    assert.equal((await upload(gw)).status, 401);
    const auth = { authorization: `Bearer ${KEY}` };
    assert.equal(
      (
        await postRaw(gw.url, '/realtime/send', SEND, {
          ...auth,
          'x-forwarded-for': '203.0.113.9',
          host: 'hub.example',
        })
      ).status,
      200,
    );
    assert.equal((await upload(gw, auth)).status, 200);
    const evil = await postRaw(gw.url, '/realtime/send', SEND, { ...auth, origin: EVIL });
    assert.equal(evil.status, 403);
    assert.equal(evil.body.error.code, 'origin_not_allowed');
    assert.equal(
      (await postRaw(gw.url, '/realtime/send', SEND, { ...auth, origin: 'https://app.example' })).status,
      200,
    );
  });
});

describe('API_OPEN: the explicit opt-in to answer every address without a key', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway({ apiOpen: true, trustProxy: true });
  });
  after(() => gw.close());

  test('answers relayed and non-loopback-Host requests, still refuses unlisted browser origins', async () => {
    assert.equal(
      (await postRaw(gw.url, '/realtime/send', SEND, { host: 'hub.example', 'x-forwarded-for': '203.0.113.9' })).status,
      200,
    );
    const evil = await postRaw(gw.url, '/realtime/send', SEND, { origin: EVIL });
    assert.equal(evil.status, 403);
    assert.equal(evil.body.error.code, 'origin_not_allowed');
  });

  test('API_OPEN together with API_KEY fails at start, naming the variable', () => {
    assert.throws(
      () => loadConfig({ API_OPEN: 'true', API_KEY: 'x' }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'API_OPEN',
    );
    assert.equal(loadConfig({ API_OPEN: 'yes' }).apiOpen, true);
    assert.equal(loadConfig({}).apiOpen, false);
    assert.equal(loadConfig({}).trustProxy, false);
  });
});
