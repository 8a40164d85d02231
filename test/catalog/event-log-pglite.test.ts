import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseRebuildArgs } from '../../src/apps/catalog/rebuild-cli.js';
import { ConfigError } from '../../src/config/config.js';
import { createDatabase } from '../../src/store/index.js';
import { runEventLogSuite } from './event-log-suite.js';
import { silent } from './fixture.js';

runEventLogSuite('pglite', async () => {
  const dirs: string[] = [];
  return {
    open: () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-eventlog-'));
      dirs.push(dataDir);
      return createDatabase({ dataDir }, silent);
    },
    cleanup: async () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
});

test('hubcast rebuild arguments: --swap, --batch <n> / --batch=<n>; anything else names itself', () => {
  assert.deepEqual(parseRebuildArgs([]), { swap: false });
  assert.deepEqual(parseRebuildArgs(['--swap', '--batch', '200']), { swap: true, batchSize: 200 });
  assert.deepEqual(parseRebuildArgs(['--batch=7']), { swap: false, batchSize: 7 });
  for (const [argv, name] of [
    [['--batch'], '--batch'],
    [['--batch', '0'], '--batch'],
    [['--batch=1e3'], '--batch'],
    [['--swpa'], '--swpa'],
  ] as const) {
    assert.throws(
      () => parseRebuildArgs(argv),
      (err: Error) => err instanceof ConfigError && err.message.includes(name),
      argv.join(' '),
    );
  }
});
