import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
