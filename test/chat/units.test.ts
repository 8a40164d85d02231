/** The small parts of chat: ids, rooms, post validation, the per-user rate limit. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatId, isTypingSignal, isValidRoom, parseId, parsePost, roomOf } from '../../src/apps/chat/message.js';
import { KeyedRateLimit } from '../../src/keyed-rate-limit.js';
import { HubcastError } from '../../src/errors.js';

test('ids: 16 zero-padded digits, string order is numeric order, before= takes either form', () => {
  assert.equal(formatId(42), '0000000000000042');
  assert.ok(formatId(9) < formatId(10));
  assert.equal(formatId(Number.MAX_SAFE_INTEGER).length, 16);
  assert.equal(parseId('0000000000000042'), 42);
  assert.equal(parseId('42'), 42);
  for (const bad of ['', '0', '-1', '1.5', 'abc', '12345678901234567', '9999999999999999'])
    assert.equal(parseId(bad), null, bad);
});

test('rooms: 1–64 of A-Z a-z 0-9 _ -; chat:<room> channels', () => {
  assert.ok(isValidRoom('a') && isValidRoom('Team_1-x') && isValidRoom('r'.repeat(64)));
  for (const bad of ['', 'r'.repeat(65), 'a.b', 'a:b', 'ä', 'a b', 42])
    assert.equal(isValidRoom(bad), false, String(bad));
  assert.equal(roomOf('chat:lobby'), 'lobby');
  assert.equal(roomOf('chat:a.b'), null);
  assert.equal(roomOf('other:lobby'), null);
});

test('posts: text and client_msg_id rules, everything else refused as invalid_message', () => {
  assert.deepEqual(parsePost({ text: 'hi' }), { text: 'hi', clientMsgId: null });
  assert.deepEqual(parsePost({ text: ' multi\nline\ttext ', client_msg_id: 'x' }), {
    text: ' multi\nline\ttext ',
    clientMsgId: 'x',
  });
  assert.equal(parsePost({ text: '😀'.repeat(4000) }).text.length, 8000);
  for (const bad of [
    { text: '😀'.repeat(4001) },
    { text: 'a\u0007' },
    { text: '\udc00' },
    { text: 'ok', client_msg_id: '' },
    { text: 'ok', client_msg_id: 7 },
    [],
    'text',
  ]) {
    assert.throws(
      () => parsePost(bad),
      (err: unknown) => err instanceof HubcastError && err.code === 'invalid_message' && err.status === 400,
      JSON.stringify(bad),
    );
  }
  assert.ok(isTypingSignal({ typing: true }));
  for (const no of [{ typing: 1 }, { typing: true, text: 'x' }, null, 'typing'])
    assert.equal(isTypingSignal(no), false);
});

test('rate limit: burst, then the refill rate; each user has a bucket; memory stays bounded', () => {
  const limit = new KeyedRateLimit(2, 3, 5);
  const t = 1_000_000;
  assert.deepEqual(
    [0, 1, 2, 3].map(() => limit.take('ann', t)),
    [0, 0, 0, 500],
  );
  assert.equal(limit.take('bob', t), 0, 'another user is not affected');
  assert.equal(limit.take('ann', t + 500), 0, 'one post back after 1/rate');
  for (let i = 0; i < 100; i++) limit.take(`u${i}`, t + 600);
  assert.ok(limit.keys <= 5, `${limit.keys} buckets kept`);
});
