import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wsModule from 'ws';
import { encodeFrame, encodeTextFrame, OPCODE_BINARY } from '../../src/wire/ws-frame.js';

/** Frames must parse with ws's own receiver at every length-encoding boundary. */
function parse(frames: Buffer): Array<{ data: Buffer; binary: boolean }> {
  const out: Array<{ data: Buffer; binary: boolean }> = [];
  // ws exports its frame parser at runtime; its type definitions do not declare it.
  const Receiver = (wsModule as unknown as { Receiver: new (o: object) => NodeJS.WritableStream & NodeJS.EventEmitter })
    .Receiver;
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  receiver.on('message', (data: Buffer, binary: boolean) => out.push({ data, binary }));
  receiver.write(frames);
  return out;
}

test('text and binary frames decode with ws at 0, 125, 126, 65535, 65536 and 70000 bytes', () => {
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const text = 'é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2);
    const got = parse(encodeTextFrame(text));
    assert.equal(got.length, 1, `text ${n}`);
    assert.equal(got[0].data.toString(), text);
    const bytes = Buffer.alloc(n, 0xab);
    const bin = parse(encodeFrame(bytes, OPCODE_BINARY));
    assert.equal(bin[0].binary, true);
    assert.deepEqual(bin[0].data, bytes);
  }
});

test('concatenated frames decode as separate messages in order', () => {
  const all = Buffer.concat([encodeTextFrame('a'), encodeTextFrame('b'.repeat(300)), encodeTextFrame('c')]);
  assert.deepEqual(
    parse(all).map((m) => m.data.toString().slice(0, 1)),
    ['a', 'b', 'c'],
  );
});
