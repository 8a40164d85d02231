import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { throttledWarn } from '../../src/cache/throttle.js';

test('throttledWarn logs once per interval and reports how many it held back', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const warn = throttledWarn(logger, 100);
  for (let i = 0; i < 50; i++) warn({ i }, 'cache down');
  assert.equal(lines.length, 1);
  assert.equal(lines[0].i, 0);
  const deadline = performance.now() + 2000;
  while (lines.length < 2 && performance.now() < deadline) {
    warn({ i: 'later' }, 'cache down');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(lines.length, 2);
  assert.ok((lines[1].suppressed as number) >= 49);
});
