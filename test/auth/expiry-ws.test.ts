import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor, type RunningGateway } from '../helpers/gateway.js';
import { SECRET, sign } from './tokens.js';
import { connectWs } from './clients.js';

// A WS connection whose token `exp` passes is told (`error` frame
// `token_expired`) and closed with 4001, unless it sent `refresh_token` with a
// new token for the same `sub` first. One sweep timer serves every connection.

let gw: RunningGateway;
before(async () => {
  gw = await startGateway({ jwtSecret: SECRET });
});
after(() => gw.close());

const q = encodeURIComponent;
const nowS = () => Math.floor(Date.now() / 1000);

test('expiry while connected: told and closed 4001 unless refreshed; refresh is checked and may narrow channels', async () => {
  const exp = nowS() + 2;
  const short = (sub: string, channels?: string[]) => sign(sub, { exp, channels });
  const expiring = (await connectWs(`${gw.wsUrl}?token=${q(await short('alice'))}`)).ws;
  const refreshed = (await connectWs(`${gw.wsUrl}?token=${q(await short('bob', ['chat:*']))}`)).ws;
  const impostor = (await connectWs(`${gw.wsUrl}?token=${q(await short('carol'))}`)).ws;
  const badRefresh = (await connectWs(`${gw.wsUrl}?token=${q(await short('dave'))}`)).ws;
  const noExp = (await connectWs(`${gw.wsUrl}?token=${q(await sign('erin', { exp: nowS() + 7200 }))}`)).ws;

  // bob joins two channels, then refreshes with a token that grants only one of them.
  for (const channel of ['chat:a', 'chat:b'])
    assert.equal((await refreshed.command('join_channel', { channel })).ok, true);
  const r = await refreshed.command('refresh_token', {
    token: await sign('bob', { channels: ['chat:a'], expiresIn: 3600 }),
  });
  assert.equal(r.type, 'reply', JSON.stringify(r));
  assert.equal(r.ok, true);
  assert.ok(r.data.exp > exp);
  assert.deepEqual(r.data.left, ['chat:b']);
  assert.equal((await refreshed.command('join_channel', { channel: 'chat:b' })).code, 'forbidden');

  // carol tries to become someone else: refused, and her old token still governs.
  const wrongSub = await impostor.command('refresh_token', { token: await sign('mallory', { expiresIn: 3600 }) });
  assert.equal(wrongSub.code, 'forbidden');
  assert.match(wrongSub.message, /same sub/);
  // dave sends tokens that fail verification: refused, the connection stays (until its own exp).
  for (const token of [
    await sign('dave', { secret: 'not-the-secret-0123456789abcdef' }),
    await sign('dave', { expiresIn: -10 }),
    'junk',
  ]) {
    const res = await badRefresh.command('refresh_token', { token });
    assert.equal(res.code, 'unauthorized', token);
  }
  for (const data of [undefined, {}, { token: 5 }, { token: '' }]) {
    assert.equal((await badRefresh.command('refresh_token', data)).code, 'invalid_frame', JSON.stringify(data));
  }
  assert.equal((await badRefresh.command('ping')).ok, true);

  // The deadline passes.
  const expired = [expiring, impostor, badRefresh];
  await Promise.all(expired.map((c) => c.waitClosed(exp * 1000 - Date.now() + 2500)));
  const lateness = Date.now() - exp * 1000;
  assert.ok(lateness < 2000, `closed ${lateness} ms after exp`);
  for (const c of expired) {
    assert.equal(c.closeCode, 4001);
    assert.match(c.closeReason, /expired/);
    const told = c.frames.find((f) => f.type === 'error' && f.code === 'token_expired');
    assert.ok(told, 'told before the close');
    assert.match(told.message, /refresh_token/);
  }
  // The refreshed and the long-lived connections are still fully working.
  for (const c of [refreshed, noExp]) {
    assert.equal(c.closeCode, null);
    assert.equal((await c.command('ping')).ok, true);
  }
  // bob's narrowed grant holds: chat:b traffic no longer reaches him, chat:a does.
  await postJson(`${gw.url}/realtime/send`, { channel: 'chat:b', event: 'leak', data: 1 });
  await postJson(`${gw.url}/realtime/send`, { channel: 'chat:a', event: 'ok', data: 2 });
  await refreshed.next((f) => f.event === 'ok');
  assert.equal(refreshed.events('chat:b').length, 0);

  const stats = gw.gateway.stats();
  assert.ok(Number(stats.token_expired_closes) >= 3);
  assert.ok(Number(stats.token_refreshes) >= 1);
  refreshed.close();
  noExp.close();
  await waitFor(() => gw.gateway.hub.connectionCount === 0, 3000, 'connections to close');
});

test('a refresh keeps a connection alive past the old exp, again and again', async () => {
  let exp = nowS() + 2;
  const { ws } = await connectWs(gw.wsUrl, { headers: { Authorization: `Bearer ${await sign('frank', { exp })}` } });
  for (let round = 0; round < 2; round++) {
    exp += 1;
    const r = await ws.command('refresh_token', { token: await sign('frank', { exp }) });
    assert.equal(r.data.exp, exp);
  }
  // Let the first deadline pass: the connection lives on the refreshed token, then dies on it.
  const code = await ws.waitClosed((exp - nowS()) * 1000 + 2500);
  assert.equal(code, 4001);
  assert.ok(Date.now() >= exp * 1000, 'not closed before the refreshed exp');
});

test('refresh_token with auth off is refused (there is nothing to refresh)', async () => {
  const open = await startGateway();
  const { ws } = await connectWs(open.wsUrl);
  const r = await ws.command('refresh_token', { token: 'anything' });
  assert.equal(r.code, 'bad_request');
  assert.equal((await ws.command('ping')).ok, true);
  ws.close();
  await open.close();
});
