import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { TestWs } from '../helpers/ws-client.js';
import { startGateway } from '../helpers/gateway.js';
import { BYTE_REFUSALS_BEFORE_CLOSE, RateVerdict, bytesDueIn, takeBytes } from '../../src/transports/ws/rate-limit.js';
import { ChildGateway, RawFlooder, clientTextFrame, percentile } from './flood.js';

// The probe's big-frame flood: three anonymous connections each send a 1 MB
// `text` frame (echoed back in full) 20 times a second — 20 % of the default
// frame limit, so the frame count alone lets all of it through — while a
// bystander on the same gateway pings. The byte budget (WS_RATE_LIMIT_BYTES)
// must hold each flooder to its rate, pausing its reads, and big frames take
// turns with small ones, so the bystander's pings stay fast.
//
// Measured on this 2-core machine shared with other test runs: before, p50
// 13–27 ms and p99 72–436 ms with 17–20 MB/s echoed to each flooder; after,
// p50 ≈ 0.4 ms and p99 4–20 ms (the target, p99 < 10 ms, holds on a
// quiet machine), 1.7 MB/s echoed (the 2 MiB burst, then 1 MiB/s).

const FLOODERS = 3;
const FRAME_RATE = 20;
const FLOOD_MS = 3000;

/** Pings one after another, 10 ms apart, for `ms`; the round-trip times, sorted. */
async function pings(ws: TestWs, ms: number): Promise<number[]> {
  const rtts: number[] = [];
  const started = performance.now();
  let ref = 0;
  while (performance.now() - started < ms) {
    const t0 = performance.now();
    const r = `p${ref++}`;
    ws.send({ type: 'command', command: 'ping', ref: r });
    await ws.next((f) => f.ref === r, 5000, ws.frames.length);
    rtts.push(performance.now() - t0);
    ws.frames.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return rtts.sort((a, b) => a - b);
}

const fmt = (rtts: number[]) =>
  `p50 ${percentile(rtts, 50).toFixed(2)} ms, p99 ${percentile(rtts, 99).toFixed(2)} ms, max ${rtts.at(-1)!.toFixed(2)} ms over ${rtts.length} pings`;

test('1 MB echo frames from three connections: flooders held to the byte budget, a bystander keeps fast pings', async () => {
  const gw = await ChildGateway.start({});
  const flooders: RawFlooder[] = [];
  try {
    const bystander = await TestWs.open(gw.wsUrl);
    await bystander.next((f) => f.type === 'connected');
    // How noisy the machine is right now, before any flood: the bounds below scale with it.
    const quiet = await pings(bystander, 1000);

    const frame = clientTextFrame(JSON.stringify({ type: 'text', data: 'x'.repeat(1_000_000 - 30) }));
    for (let i = 0; i < FLOODERS; i++) flooders.push(await RawFlooder.open(gw.wsUrl));
    const started = performance.now();
    for (const f of flooders) f.start(frame, FRAME_RATE);
    const flood = await pings(bystander, FLOOD_MS);
    const seconds = (performance.now() - started) / 1000;
    for (const f of flooders) f.stop();

    const echoedMBps = flooders.map((f) => f.receivedBytes / seconds / 1e6);
    const stats = await gw.stats();
    console.log(
      `bystander ping before the flood: ${fmt(quiet)}; during it: ${fmt(flood)}; ` +
        `flooders sent ${flooders.map((f) => f.sentFrames).join('/')} frames, got back ${echoedMBps.map((m) => m.toFixed(2)).join('/')} MB/s, ` +
        `rate_limited seen ${flooders.map((f) => f.rateLimitedSeen).join('/')}, closed ${flooders.filter((f) => f.closed).length}; ` +
        `server refused ${stats.rate_limited_frames_bytes} frames for bytes`,
    );
    // Each flooder is held near its budget (1 MiB/s after a 2 MiB burst) instead of the 20 MB/s it sends.
    for (const [i, f] of flooders.entries()) {
      assert.ok(echoedMBps[i] < 3, `flooder ${i} got ${echoedMBps[i].toFixed(2)} MB/s echoed: not limited`);
      assert.ok(f.rateLimitedSeen > 0 || f.closed, `flooder ${i} was never told it is over the byte rate`);
    }
    assert.ok(stats.rate_limited_frames_bytes > 0);
    // The median tells the old code (13–27 ms) from the new (< 1 ms) on any machine; the tail is
    // bounded loosely because the suite shares two cores with other test files: 64 ms was seen
    // there with the fix in place, 72–436 ms without it.
    const p99 = percentile(flood, 99);
    const bound = Math.max(150, 4 * percentile(quiet, 99));
    assert.ok(percentile(flood, 50) < 5, `bystander ping p50 ${percentile(flood, 50).toFixed(2)} ms during the flood`);
    assert.ok(p99 < bound, `bystander ping p99 ${p99.toFixed(2)} ms during the flood (bound ${bound.toFixed(0)} ms)`);
    // Normal use goes on: the bystander was never limited.
    assert.equal((await bystander.command('ping')).ok, true);
    bystander.close();
  } finally {
    for (const f of flooders) f.destroy();
    await gw.stop();
  }
});

test('byte bucket: burst, refill, refusals forgiven once full again, close after repeated refusals', () => {
  const limit = { perSecond: 1000, burst: 3000 };
  const s = { byteTokens: 3000, byteTokensAt: 0, bytesRefused: 0 };
  assert.equal(takeBytes(s, limit, 0, 2000), RateVerdict.ok);
  assert.equal(takeBytes(s, limit, 0, 2000), RateVerdict.limited, '1000 left');
  assert.equal(bytesDueIn(s, limit, 2000), 1000, 'a second until 2000 fit');
  assert.equal(takeBytes(s, limit, 1000, 2000), RateVerdict.ok);
  assert.equal(s.bytesRefused, 1);
  assert.equal(takeBytes(s, limit, 5000, 10), RateVerdict.ok);
  assert.equal(s.bytesRefused, 0, 'a full bucket forgives');
  const t = { byteTokens: 0, byteTokensAt: 0, bytesRefused: 0 };
  const verdicts = [];
  for (let i = 0; i < BYTE_REFUSALS_BEFORE_CLOSE; i++) verdicts.push(takeBytes(t, limit, i, 2000));
  assert.equal(verdicts.at(-1), RateVerdict.exceeded);
  assert.equal(verdicts.filter((v) => v === RateVerdict.limited).length, BYTE_REFUSALS_BEFORE_CLOSE - 1);
});

test('a client over the byte rate is refused, paused, and closed 1008 when it keeps on; a burst within the bucket is not', async () => {
  // 4 KiB frames against 40 KiB/s and a 16 KiB bucket: each refusal pauses reading ~100 ms.
  const gw = await startGateway({
    wsMaxFrameBytes: 4096,
    wsRateLimitBytes: 40 * 1024,
    wsRateBurstBytes: 16 * 1024,
    wsRateLimit: 0,
  });
  try {
    const polite = await TestWs.open(gw.wsUrl);
    await polite.next((f) => f.type === 'connected');
    const chunk = 'y'.repeat(4000);
    for (let i = 0; i < 3; i++) polite.send({ type: 'text', data: chunk });
    await polite.next(() => polite.frames.filter((g) => g.type === 'text').length === 3);
    assert.equal(polite.frames.filter((f) => f.type === 'error').length, 0, 'three frames within the 16 KiB bucket');

    const flooder = await TestWs.open(gw.wsUrl);
    await flooder.next((f) => f.type === 'connected');
    const started = Date.now();
    // Kept sending for as long as it is open (bounded: 400 frames).
    for (let i = 0; i < 400 && flooder.closeCode === null; i++) {
      flooder.send({ type: 'text', data: chunk });
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(await flooder.waitClosed(10_000), 1008);
    assert.match(flooder.closeReason, /byte rate/);
    const limited = flooder.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited');
    const echoed = flooder.frames.filter((f) => f.type === 'text').length * 4000;
    const ms = Date.now() - started;
    console.log(`byte flooder: ${limited.length} refusals, ${echoed} bytes echoed in ${ms} ms before close 1008`);
    assert.equal(limited.length, BYTE_REFUSALS_BEFORE_CLOSE);
    assert.match(limited[0].message, /bytes\/s .*reading paused/);
    assert.match(limited.at(-1).message, /closing/);
    // Held near the rate: the 16 KiB burst plus 40 KiB/s, not the megabytes it tried.
    assert.ok(echoed <= 16 * 1024 + (40 * 1024 * ms) / 1000 + 8000, `${echoed} bytes echoed in ${ms} ms`);
    assert.equal((await polite.command('ping')).ok, true, 'the polite client is untouched');
    polite.close();
  } finally {
    await gw.close();
  }
});

test("a heavy frame waits its turn but keeps its place: one connection's answers stay in order", async () => {
  const gw = await startGateway();
  try {
    const ws = await TestWs.open(gw.wsUrl);
    await ws.next((f) => f.type === 'connected');
    const big = 'z'.repeat(200_000);
    ws.send({ type: 'command', command: 'ping', ref: 'before' });
    ws.send({ type: 'text', data: big });
    ws.send({ type: 'command', command: 'ping', ref: 'after' });
    ws.send({ type: 'text', data: big });
    ws.send({ type: 'json', data: 'last' });
    await ws.next((f) => f.type === 'json');
    assert.deepEqual(
      ws.frames.filter((f) => f.type !== 'connected').map((f) => f.ref ?? f.type),
      ['before', 'text', 'after', 'text', 'json'],
    );
    ws.close();
  } finally {
    await gw.close();
  }
});
