import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createDatabase } from '../../src/store/index.js';
import { PostgresDatabase } from '../../src/store/postgres.js';
import { createTestDatabase } from '../helpers/services.js';
import { runChatStoreSuite } from './store-suite.js';

const logger = pino({ level: 'silent' });

runChatStoreSuite('postgres', async () => {
  const testDb = await createTestDatabase();
  const open = () => createDatabase({ databaseUrl: testDb.url, dataDir: 'unused' }, logger);
  return {
    open,
    reopen: open,
    openPeer: async () => new PostgresDatabase(testDb.url, logger),
    cleanup: () => testDb.drop(),
  };
});

runChatStoreSuite('pglite', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-chat-'));
  const open = () => createDatabase({ dataDir }, logger);
  return { open, reopen: open, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
});
