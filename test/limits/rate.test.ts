import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, postJson, waitFor } from '../helpers/gateway.js';
import { TestWs } from '../helpers/ws-client.js';
import { RateVerdict, takeToken } from '../../src/transports/ws/rate-limit.js';

// Per-connection message rate (WS_RATE_LIMIT frames/s, WS_RATE_BURST bucket):
// frames over the rate are refused with `error` frames `rate_limited` and the
// socket stays; a client that keeps on past `burst` refusals is closed 1008.

test('token bucket: burst, refill, refusals forgiven once the bucket is full again, close after burst refusals', () => {
  const limit = { perSecond: 10, burst: 5 };
  const s = { tokens: 5, tokensAt: 0, refused: 0 };
  for (let i = 0; i < 5; i++) assert.equal(takeToken(s, limit, 0), RateVerdict.ok);
  assert.equal(takeToken(s, limit, 0), RateVerdict.limited);
  assert.equal(takeToken(s, limit, 100), RateVerdict.ok, 'one token back after 100 ms at 10/s');
  assert.equal(takeToken(s, limit, 100), RateVerdict.limited);
  assert.equal(s.refused, 2);
  assert.equal(takeToken(s, limit, 600), RateVerdict.ok, 'full again after 500 ms');
  assert.equal(s.refused, 0, 'a full bucket forgives');
  // Sustained over the rate: refusals pile up to the burst, then exceeded.
  const t = { tokens: 0, tokensAt: 0, refused: 0 };
  const verdicts = [];
  for (let ms = 0; ms < 1000; ms += 20) verdicts.push(takeToken(t, limit, ms)); // 50/s against 10/s
  assert.ok(verdicts.includes(RateVerdict.exceeded));
  assert.equal(verdicts.filter((v) => v === RateVerdict.ok).length >= 4, true);
});

test('a flooding WS client gets rate_limited errors, then close 1008; a bystander keeps its deliveries; a polite one is never limited', async () => {
  const gw = await startGateway({ wsRateLimit: 50, wsRateBurst: 20 });
  const bystander = await TestWs.open(gw.wsUrl);
  assert.equal((await bystander.command('join_channel', { channel: 'news' })).ok, true);

  const flooder = await TestWs.open(gw.wsUrl);
  await flooder.next((f) => f.type === 'connected');
  for (let i = 0; i < 200; i++) flooder.send({ type: 'text', data: `f${i}` });
  assert.equal(await flooder.waitClosed(5000), 1008);
  assert.match(flooder.closeReason, /rate/);
  const echoes = flooder.frames.filter((f) => f.type === 'text');
  const limited = flooder.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited');
  assert.ok(echoes.length >= 20 && echoes.length < 40, `answered ${echoes.length}: the burst and a little refill`);
  assert.equal(limited.length, 20, 'one error per refused frame, burst of them, then the close');
  assert.match(limited.at(-1).message, /closing/);

  // A client over the rate briefly (a burst and a few more) is told, and not closed.
  const eager = await TestWs.open(gw.wsUrl);
  await eager.next((f) => f.type === 'connected');
  for (let i = 0; i < 25; i++) eager.send({ type: 'text', data: `e${i}` });
  await eager.next((f) => f.type === 'error' && f.code === 'rate_limited');
  await waitFor(
    () => eager.frames.filter((f) => f.type === 'text' || f.type === 'error').length === 25,
    3000,
    'all 25 answered',
  );
  assert.equal(eager.closeCode, null);
  // …and once its bucket refilled it is served again.
  await new Promise((r) => setTimeout(r, 500)); // the refill itself is the condition: 20 tokens at 50/s
  assert.equal((await eager.command('ping')).ok, true);

  // A polite client, under the rate, is never limited.
  const polite = await TestWs.open(gw.wsUrl);
  await polite.next((f) => f.type === 'connected');
  for (let i = 0; i < 30; i++) {
    assert.equal((await polite.command('ping')).ok, true);
    await new Promise((r) => setTimeout(r, 25)); // 40/s against 50/s
  }
  assert.equal(polite.frames.filter((f) => f.code === 'rate_limited').length, 0);

  await postJson(`${gw.url}/realtime/send`, { channel: 'news', data: 'still here' });
  assert.equal((await bystander.next((f) => f.type === 'event')).data, 'still here');
  const stats = gw.gateway.stats();
  assert.equal(stats.rate_limit_closes, 1);
  assert.ok(Number(stats.rate_limited_frames) >= 25);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /hubcast_rate_limit_closes_total 1/);
  assert.match(metrics, /hubcast_limit\{limit="ws_rate_limit"\} 50/);
  for (const c of [bystander, eager, polite]) c.close();
  await gw.close();
});

test('WS_RATE_LIMIT=0 turns the limit off', async () => {
  const gw = await startGateway({ wsRateLimit: 0 });
  const ws = await TestWs.open(gw.wsUrl);
  for (let i = 0; i < 2000; i++) ws.send({ type: 'text', data: `n${i}` });
  await ws.next((f) => f.type === 'text' && f.data === 'n1999', 10_000);
  assert.equal(ws.frames.filter((f) => f.type === 'error').length, 0);
  ws.close();
  await gw.close();
});
