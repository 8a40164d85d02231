import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../helpers/gateway.js';
import { SECRET, sign } from '../auth/tokens.js';

// A GET on a WebSocket path without Upgrade answers what the upgrade would be refused with, or
// 426: how a browser, whose WebSocket hides a refused handshake's status, learns it.

test('GET /realtime/ws without Upgrade: 401 for a missing or bad token, 426 for a good one; no slot, nothing counted', async () => {
  const gw = await startGateway({ jwtSecret: SECRET, allowedOrigins: ['http://app.example'] });
  try {
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${gw.url}${path}`, { headers });
      return { status: res.status, headers: res.headers, body: await res.json() };
    };
    const none = await get('/realtime/ws');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'unauthorized');
    const bad = await get('/realtime/ws', { authorization: 'Bearer not-a-token' });
    assert.equal(bad.status, 401);
    assert.match(bad.body.error.message, /invalid token/);
    assert.equal((await get('/realtime/ws?token=not-a-token')).status, 401);

    const good = await get('/realtime/ws', { authorization: `Bearer ${await sign('quinn')}` });
    assert.equal(good.status, 426);
    assert.equal(good.headers.get('upgrade'), 'websocket');
    assert.equal(good.body.error.code, 'bad_request');
    assert.equal((await get(`/realtime/webrtc/signaling?token=${await sign('quinn')}`)).status, 426);

    // Another origin: refused as the upgrade would be; an allowed one can read the answer.
    assert.equal((await get('/realtime/ws', { origin: 'http://evil.example' })).status, 403);
    const allowed = await get('/realtime/ws', { origin: 'http://app.example' });
    assert.equal(allowed.status, 401);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://app.example');
    const preflight = await fetch(`${gw.url}/realtime/ws`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);

    const stats = gw.gateway.stats();
    assert.equal(stats.auth_failures, 0, 'a question is not a refused connection');
    assert.equal(gw.gateway.gate.inUse, 0, 'no connection slot taken');
  } finally {
    await gw.close();
  }
});

test('GET /realtime/ws without Upgrade when WebSocket is off: 404 transport_disabled', async () => {
  const gw = await startGateway({ websocketEnabled: false });
  try {
    const res = await fetch(`${gw.url}/realtime/ws`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, 'transport_disabled');
  } finally {
    await gw.close();
  }
});
