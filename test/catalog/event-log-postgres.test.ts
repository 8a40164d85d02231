import { createDatabase } from '../../src/store/index.js';
import { PostgresDatabase } from '../../src/store/postgres.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { runEventLogSuite } from './event-log-suite.js';
import { silent } from './fixture.js';

runEventLogSuite('postgres', async () => {
  const created: TestDatabase[] = [];
  let first: TestDatabase | undefined;
  return {
    open: async () => {
      const testDb = await createTestDatabase();
      created.push(testDb);
      first ??= testDb;
      return createDatabase({ databaseUrl: testDb.url, dataDir: 'unused' }, silent);
    },
    // A second pool on the first database: another gateway node as far as the server can tell.
    openPeer: async () => new PostgresDatabase(first!.url, silent),
    cleanup: async () => {
      for (const d of created) await d.drop();
    },
  };
});
