import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { matchPattern, patternsProblem, MAX_TOKEN_PATTERNS, MAX_PATTERN_LENGTH } from '../../src/auth/permissions.js';
import { Authenticator } from '../../src/auth/tokens.js';
import { ErrorCode } from '../../src/codes.js';
import { SECRET, sign } from '../auth/tokens.js';
import { TestWs } from '../helpers/ws-client.js';
import { startGateway } from '../helpers/gateway.js';

// Wildcard patterns (token `channels` claims, HISTORY_RETENTION, presence)
// are matched in time linear-ish in their length, whatever the number of
// `*`: a backtracking regex took 34 s for six of them against one
// 128-character channel name.

/** The probe's shape: many `*` that each can take any run, and a tail that never matches. */
const HOSTILE = '*a*a*a*a*a*a*b';
const LONG_NAME = 'a'.repeat(128);

test('six `*` against a 128-character name: decided in well under 50 ms', () => {
  const started = process.hrtime.bigint();
  assert.equal(matchPattern(HOSTILE, LONG_NAME), false);
  assert.equal(matchPattern('*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a', LONG_NAME), true);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`# hostile patterns decided in ${ms.toFixed(3)} ms`);
  assert.ok(ms < 50, `took ${ms} ms`);
});

test('the matcher agrees with the glob meaning (`*` any run, `?` one character, the rest literal)', () => {
  const reference = (pattern: string, name: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\/-]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(name);
  const alphabet = fc.constantFrom('a', 'b', ':', '.');
  const patternChar = fc.constantFrom('a', 'b', ':', '.', '*', '?');
  fc.assert(
    fc.property(fc.array(patternChar, { maxLength: 10 }), fc.array(alphabet, { maxLength: 12 }), (p, n) => {
      const pattern = p.join('');
      const name = n.join('');
      assert.equal(matchPattern(pattern, name), reference(pattern, name), `${pattern} vs ${name}`);
    }),
    { numRuns: 3000 },
  );
  for (const [pattern, name, expected] of [
    ['chat:*', 'chat:room1', true],
    ['chat:*', 'chat:', true],
    ['chat:*', 'cha', false],
    ['room:?', 'room:1', true],
    ['room:?', 'room:12', false],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbYcZ', false],
    ['products', 'products', true],
  ] as const) {
    assert.equal(matchPattern(pattern, name), expected, `${pattern} vs ${name}`);
  }
});

test('a token claim is bounded in pattern count and length', async () => {
  assert.equal(patternsProblem(['chat:*', 'room:1']), null);
  assert.match(patternsProblem(Array(MAX_TOKEN_PATTERNS + 1).fill('a'))!, /at most 256/);
  assert.match(patternsProblem(['x'.repeat(MAX_PATTERN_LENGTH + 1)])!, /at most 256/);
  assert.match(patternsProblem([1])!, /array of strings/);
  assert.match(patternsProblem('chat:*')!, /array of strings/);
  const auth = new Authenticator(SECRET);
  await assert.rejects(
    auth.verify(await sign('u1', { channels: Array(1000).fill('chat:*') })),
    (err: { code: string; message: string }) => {
      assert.equal(err.code, ErrorCode.unauthorized);
      assert.match(err.message, /1000 patterns; at most 256/);
      return true;
    },
  );
  assert.deepEqual((await auth.verify(await sign('u1', { channels: [HOSTILE] }))).patterns, [HOSTILE]);
});

test('through a gateway: joining a 128-character channel with a six-`*` grant is answered at once', {
  timeout: 15_000,
}, async (t) => {
  const gw = await startGateway({ jwtSecret: SECRET });
  t.after(() => gw.close());
  const token = await sign('u1', { channels: [HOSTILE] });
  const client = await TestWs.open(`${gw.wsUrl}?token=${token}`);
  t.after(() => client.ws.terminate());
  await client.next((f) => f.type === 'connected');
  const started = performance.now();
  client.send({ type: 'command', command: 'join_channel', ref: 1, data: { channel: LONG_NAME } });
  const answer = await client.next((f) => f.ref === 1, 10_000);
  const ms = performance.now() - started;
  console.log(`# join refused in ${ms.toFixed(1)} ms`);
  assert.equal(answer.type, 'error');
  assert.equal(answer.code, ErrorCode.forbidden);
  // Loose: the round trip includes the whole gateway on a shared machine (the old matcher took 34 s).
  assert.ok(ms < 2000, `join answered after ${ms.toFixed(0)} ms`);
});
