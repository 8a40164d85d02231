import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * docs/guarantees.md names, per delivery path, the tests that prove each promise: every
 * path it names must be a file of this repository, so a renamed or deleted test shows here
 * rather than leaving a promise without proof. No services; reads files only.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'guarantees.md'), 'utf8');

test('every test file docs/guarantees.md names exists', () => {
  const named = [...new Set([...doc.matchAll(/`(test\/[^`\s]+\.ts)`/g)].map((m) => m[1]))];
  assert.ok(named.length > 30, `found ${named.length} test paths: the extractor sees the tables`);
  assert.deepEqual(
    named.filter((f) => !existsSync(join(ROOT, f))),
    [],
  );
});

test('docs/guarantees.md covers every delivery path', () => {
  const sections = [...doc.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  for (const path of [
    'Broker → database',
    'Database → client',
    'Client → client',
    'Acknowledged subscriptions',
    'The user inbox',
    'Presence',
  ]) {
    assert.ok(
      sections.some((s) => s.startsWith(path)),
      `a section for ${path}; got ${sections.join(' | ')}`,
    );
  }
});
