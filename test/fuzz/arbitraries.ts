import fc from 'fast-check';
import { encodeBinaryMessage } from '../../src/wire/binary.js';

/** Hostile and malformed inputs. Everything here is generated from one seed (harness.ts). */

const anyValue = fc.jsonValue({ maxDepth: 3 });

/** Channel names: valid ones, reserved and private ones, invalid ones, and non-strings. */
export const channelish = fc
  .oneof(
    fc.stringMatching(/^[A-Za-z0-9_\-:.@/=]{1,24}$/),
    fc.constantFrom(
      'products',
      'product:1',
      'files',
      'user:alice',
      'user:',
      'chat:general',
      '*',
      'chat:*',
      'room:?',
      '',
      ' ',
      'a'.repeat(128),
      'a'.repeat(129),
      '../../etc/passwd',
      'x\u0000y',
      '__proto__',
      'constructor',
      'toString',
      'ch\u202eannel',
      '\ud800',
      'a,b',
      'ä',
      '$sys',
    ),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    anyValue,
  )
  .filter((c) => c !== 'bystander'); // the bystander's channel is not for the attacker to flood in this run

/** A JSON object frame shaped like a client frame, its fields fuzzed. */
export const structuredFrame = fc.oneof(
  fc.record(
    {
      type: fc.constant('command'),
      command: fc.oneof(
        fc.constantFrom('join_channel', 'leave_channel', 'ping', 'refresh_token'),
        fc.string({ maxLength: 70 }),
        anyValue,
      ),
      data: fc.oneof(
        fc.record(
          {
            channel: channelish,
            since: fc.oneof(
              fc.string({ maxLength: 20 }),
              fc.integer(),
              fc.constantFrom('0', '-1', '1e400', '9007199254740993'),
              anyValue,
            ),
          },
          { requiredKeys: [] },
        ),
        fc.record({ token: fc.oneof(fc.string({ maxLength: 100 }), anyValue) }, { requiredKeys: [] }),
        anyValue,
      ),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    { type: fc.constant('channel_message'), channel: channelish, message: anyValue },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('text'),
      data: fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 50 }), anyValue),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.constant('json'), data: anyValue }, { requiredKeys: ['type'] }),
  fc.record(
    {
      type: fc.constant('webrtc_signal'),
      signal_type: fc.oneof(fc.constantFrom('offer', 'answer', 'ice_candidate', 'bye', 'shout'), anyValue),
      target_peer_id: fc.oneof(fc.string({ maxLength: 140 }), anyValue),
      sdp: anyValue,
      candidate: anyValue,
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.oneof(fc.string({ maxLength: 30 }), anyValue), data: anyValue }, { requiredKeys: [] }),
);

/**
 * The refs the harness owns: tracked ones (`t12`) and the marker pings between cases (`m3.40`).
 * A hostile ref must never take one of these forms, or its answer is counted as theirs.
 */
export const HARNESS_REF = /^(t\d+|m\d+\.\d+)$/;

/** How a structured frame carries its ref: a tracked one (must be answered exactly once), a hostile value, or none. */
export const refMode = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ mode: 'tracked' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      mode: fc.constant('random' as const),
      value: fc
        .oneof(
          fc.string({ maxLength: 10 }),
          fc.string({ minLength: 129, maxLength: 140 }),
          fc.integer(),
          fc.double(),
          anyValue,
        )
        .filter((v) => typeof v !== 'string' || !HARNESS_REF.test(v)),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ mode: 'none' as const }) },
);

const validFrameText = fc.constantFrom(
  '{"type":"command","command":"join_channel","data":{"channel":"fuzz:a"},"ref":"x"}',
  '{"type":"channel_message","channel":"fuzz:a","message":{"hello":"world"}}',
  '{"type":"text","data":"hi"}',
  '{"type":"json","data":[1,{"a":null}]}',
  '{"type":"webrtc_signal","signal_type":"offer","target_peer_id":"p","sdp":"v=0"}',
);

/** Text that is mostly not a frame at all. */
export const garbageText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  anyValue.map((v) => JSON.stringify(v)),
  // a valid frame, damaged: truncated, a character inserted, a character dropped
  fc.tuple(validFrameText, fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([t, at, ins]) => {
    const i = at % t.length;
    switch (at % 3) {
      case 0:
        return t.slice(0, i);
      case 1:
        return t.slice(0, i) + ins + t.slice(i);
      default:
        return t.slice(0, i) + t.slice(i + 1);
    }
  }),
  // nesting far past any sane depth, bare and inside a frame
  fc.integer({ min: 60, max: 20_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.integer({ min: 60, max: 10_000 }).map((d) => `{"type":"json","data":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`),
  fc
    .integer({ min: 60, max: 20_000 })
    .map((d) => `{"type":"channel_message","channel":"fuzz:deep","message":${'['.repeat(d)}${']'.repeat(d)}}`),
  // prototype keys, duplicate keys, big values
  fc.constantFrom(
    '{"type":"command","command":"join_channel","data":{"__proto__":{"channel":"x"}}}',
    '{"__proto__":{"type":"text","data":"x"}}',
    '{"type":"text","type":"json","data":"dup"}',
    '{"type":"constructor"}',
    '{"type":"__proto__"}',
    '{"type":"toString","data":1}',
    '{"type":"command","command":"hasOwnProperty"}',
    '{"type":"json","data":1e999}',
    '{"type":"json","data":-0}',
    '{"type":"text","data":"\\ud800"}',
    '\u0000',
    '',
    'null',
    '{}',
  ),
  fc.integer({ min: 1000, max: 60_000 }).map((n) => `{"type":"text","data":"${'x'.repeat(n)}"}`),
);

/** Binary frames: random bytes, bad header lengths, fuzzed headers around real bytes. */
export const binaryFrame = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc
    .tuple(
      fc.oneof(fc.constantFrom(0, 1, 3, 16 * 1024, 16 * 1024 + 1, 0xffffffff), fc.nat()),
      fc.uint8Array({ maxLength: 128 }),
    )
    .map(([len, rest]) => {
      const b = Buffer.alloc(4 + rest.length);
      b.writeUInt32BE(len >>> 0, 0);
      b.set(rest, 4);
      return b;
    }),
  fc
    .tuple(
      fc.record(
        {
          content_type: fc.oneof(
            fc.string({ minLength: 1, maxLength: 40 }),
            fc.string({ minLength: 256, maxLength: 300 }),
            anyValue,
          ),
          filename: fc.oneof(fc.string({ maxLength: 40 }), anyValue),
          channel: channelish,
        },
        { requiredKeys: [] },
      ),
      fc.uint8Array({ maxLength: 256 }),
    )
    .map(([header, body]) => encodeBinaryMessage(header as never, body)),
  fc.nat({ max: 3 }).map((n) => Buffer.alloc(n)),
);
