import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// The hub and the gateway have one code path for every bus: the in-process case is a driver
// (src/bus/memory.ts), not a missing one. A branch on an absent bus would make two hubs again.
const ABSENT_BUS =
  /\bbus\s*[!=]==?\s*null\b|\bnull\s*[!=]==?\s*(this\.)?bus\b|!\s*this\.bus\b|\bbus\?\.|\bbus\s*\?\?|\bbus!\./;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('nothing in src/ branches on an absent bus', () => {
  const found: string[] = [];
  for (const file of sources('src')) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (ABSENT_BUS.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(found, []);
});

test('the pattern catches each form of the branch it forbids', () => {
  for (const line of [
    'if (this.bus === null)',
    'bus !== null &&',
    'null == bus',
    '!this.bus',
    'this.bus?.close()',
    'bus ?? fallback',
    'this.bus!.since',
  ]) {
    assert.ok(ABSENT_BUS.test(line), line);
  }
  for (const line of ['this.bus.clustered', 'const bus = createBus()', 'busy === null'])
    assert.ok(!ABSENT_BUS.test(line), line);
});
