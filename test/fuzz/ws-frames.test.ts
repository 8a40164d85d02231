import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import WebSocket from 'ws';
import {
  Bystander,
  ChildGateway,
  FuzzWs,
  KNOWN_CODES,
  SEED,
  cases,
  debug,
  outOfTime,
  rssReport,
  type Received,
} from './harness.js';
import { binaryFrame, garbageText, refMode, structuredFrame } from './arbitraries.js';

// Hostile WS frames, text and binary, against a gateway in its own process:
// every bad frame gets an `error` frame with a known code (never
// internal_error), the socket stays open, every tracked ref is answered exactly
// once, a bystander's deliveries go on, and the server's RSS comes back.

const FRAME_TYPES = new Set(['command', 'channel_message', 'text', 'json', 'webrtc_signal']);
const REF_TYPES = new Set(['command', 'channel_message', 'webrtc_signal']);

type Case =
  | { kind: 'garbage'; text: string }
  | { kind: 'structured'; text: string; tracked: string | null; type: unknown }
  | { kind: 'binary'; bytes: Buffer };

const caseArb = (index: () => number) =>
  fc
    .oneof(
      { weight: 4, arbitrary: fc.tuple(structuredFrame, refMode) },
      { weight: 3, arbitrary: garbageText },
      { weight: 2, arbitrary: binaryFrame },
    )
    .map((v): Case => {
      if (Buffer.isBuffer(v)) return { kind: 'binary', bytes: v };
      if (typeof v === 'string') return { kind: 'garbage', text: v };
      const [frame, ref] = v as [Record<string, unknown>, { mode: string; value?: unknown }];
      const out: Record<string, unknown> = { ...frame };
      let tracked: string | null = null;
      if (ref.mode === 'tracked') out.ref = tracked = `t${index()}`;
      else if (ref.mode === 'random') out.ref = ref.value;
      return { kind: 'structured', text: JSON.stringify(out), tracked, type: frame.type };
    });

/** Is this text a JSON object naming a frame type? (Then it is not garbage, whatever else is wrong with it.) */
function namesFrameType(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) && FRAME_TYPES.has(v.type);
  } catch {
    return false; // not JSON: garbage, as the caller expects
  }
}

function checkCase(c: Case, got: Received[], problems: string[]): void {
  const show = () =>
    c.kind === 'binary' ? `binary ${c.bytes.toString('hex').slice(0, 80)}` : JSON.stringify(c.text.slice(0, 200));
  for (const r of got) {
    if (r.kind !== 'text' || r.value.type !== 'error') continue;
    if (!KNOWN_CODES.has(r.value.code) || r.value.code === 'internal_error' || typeof r.value.message !== 'string') {
      problems.push(`${show()} → ${JSON.stringify(r.value)}`);
    }
  }
  const errors = got.filter((r) => r.kind === 'text' && r.value.type === 'error');
  if (c.kind === 'garbage' && !namesFrameType(c.text)) {
    if (
      errors.length !== 1 ||
      !['invalid_json', 'invalid_frame', 'unknown_type'].includes((errors[0] as any).value.code)
    ) {
      problems.push(`garbage ${show()} → ${JSON.stringify(got.map((r) => r.value))}`);
    }
  }
  if (c.kind === 'binary') {
    const answers = got.filter((r) => r.kind === 'binary' || r.value.type === 'error');
    const ok =
      answers.length <= 1 &&
      answers.every((r) =>
        r.kind === 'binary' ? r.value.equals(c.bytes) : ['invalid_frame', 'forbidden'].includes(r.value.code),
      );
    if (!ok)
      problems.push(
        `${show()} → ${JSON.stringify(answers.map((r) => (r.kind === 'binary' ? `binary(${r.value.length})` : r.value)))}`,
      );
  }
}

test('hostile WS frames: always an answer with a known code, never a crash; bystanders unaffected; RSS comes back', async (t) => {
  const gw = await ChildGateway.start({
    wsRateLimit: 0,
    wsRateLimitBytes: 0,
    wsMaxFrameBytes: 64 * 1024,
    historySize: 50,
  });
  t.after(() => gw.proc.kill('SIGKILL')); // a failed assertion must not leave the child (and this test) running
  const bystander = await Bystander.start(gw.url);
  t.after(() => bystander.close());
  const total = cases(4000, 80_000);
  const BATCH = 250;
  let counter = 0;
  const arb = caseArb(() => counter++);
  const tracked = new Map<string, number>();
  const problems: string[] = [];
  let client = await FuzzWs.open(gw.wsUrl);
  t.after(() => client.close());
  let base = null;
  const started = Date.now();

  let done = 0;
  for (let batch = 0; done < total && !outOfTime(started); done += BATCH, batch++) {
    const list = fc.sample(arb, { seed: SEED + batch, numRuns: Math.min(BATCH, total - done) });
    debug('batch', batch, Date.now() - started, 'ms');
    // Each case is followed by a marker ping: the server answers in order, so what
    // lies between two markers' replies is that case's answer.
    const start = client.log.length;
    list.forEach((c, i) => {
      if (c.kind === 'binary') client.ws.send(c.bytes, { binary: true });
      else client.ws.send(c.text);
      if (c.kind === 'structured' && c.tracked !== null && REF_TYPES.has(c.type as string)) tracked.set(c.tracked, 0);
      client.ws.send(`{"type":"command","command":"ping","ref":"m${batch}.${i}"}`);
    });
    let from = start;
    for (let i = 0; i < list.length; i++) {
      const at = await client.waitRef(`m${batch}.${i}`, from);
      checkCase(list[i], client.log.slice(from, at), problems);
      from = at + 1;
    }
    for (const r of client.log.slice(start)) {
      if (r.kind === 'text' && typeof r.value.ref === 'string' && tracked.has(r.value.ref))
        tracked.set(r.value.ref, tracked.get(r.value.ref)! + 1);
    }
    // Start over on a fresh connection now and then: channels and history per connection stay realistic.
    if (batch % 8 === 7) {
      client.close();
      client = await FuzzWs.open(gw.wsUrl);
    }
    if (batch === 1) base = await gw.memory(); // after the warm-up: JIT, pools and buffers in place
    assert.ok(gw.alive, `gateway died (exit ${gw.exitCode}), seed ${SEED}`);
    assert.deepEqual(problems.slice(0, 5), [], `seed ${SEED}`);
  }
  const unanswered = [...tracked].filter(([, n]) => n !== 1);
  assert.deepEqual(unanswered.slice(0, 5), [], `every tracked ref answered exactly once (seed ${SEED})`);
  assert.equal(client.closeCode, null, 'no bad frame closed the socket');

  debug('cases done', Date.now() - started, 'ms');
  // Over the frame limit: close 1009, and the server carries on.
  const big = await FuzzWs.open(gw.wsUrl);
  big.ws.send('x'.repeat(64 * 1024 + 1));
  await new Promise<void>((resolve) => big.ws.once('close', () => resolve()));
  assert.equal(big.closeCode, 1009);
  // A client that sends a broken WebSocket frame (bad opcode) is dropped, nobody else.
  const broken = new WebSocket(gw.wsUrl);
  await new Promise((r) => broken.once('open', r));
  (broken as any)._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0])); // reserved opcode 3, masked, empty
  const code = await new Promise<number>((resolve) => broken.once('close', resolve));
  assert.ok(code === 1002 || code === 1006, `protocol error close, got ${code}`);

  debug('limits done');
  const { sent } = await bystander.verify();
  debug('bystander verified');
  client.close();
  bystander.close();
  const end = await gw.settled();
  // Every hostile input is refused on purpose: none may reach the handler guard (src/transports/guard.ts).
  assert.equal(end.stats.handler_errors, 0, `a handler threw (see the gateway's log), seed ${SEED}`);
  t.diagnostic(
    `${rssReport('ws-frames', base!, end, Math.min(done, total), Date.now() - started)}; bystander events ${sent}`,
  );
  assert.ok(end.rss <= base!.rss * 1.1 + 8 * 1048576, `RSS ${end.rss} vs ${base!.rss} after the warm-up`);
  await gw.stop();
});
