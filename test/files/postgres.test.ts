import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { createFileStore } from '../../src/files/index.js';
import { SqlFileStore } from '../../src/files/sql.js';
import { createDatabase, type Database } from '../../src/store/index.js';
import { createTestDatabase } from '../helpers/services.js';
import { runFileStoreSuite } from './file-store-suite.js';

const logger = pino({ level: 'silent' });

runFileStoreSuite('postgres', async () => {
  const testDb = await createTestDatabase();
  // Two pools on one database: two gateway nodes, each migrating on first use.
  const dbs: Database[] = [];
  const open = (): Promise<Database> =>
    createDatabase({ databaseUrl: testDb.url, dataDir: 'unused' }, logger).then((db) => {
      dbs.push(db);
      return db;
    });
  const [a, b] = [open(), open()];
  return {
    store: new SqlFileStore(() => a, logger),
    peer: new SqlFileStore(() => b, logger),
    async cleanup() {
      for (const db of dbs) await db.close();
      await testDb.drop();
    },
  };
});

test('postgres: chosen by DATABASE_URL, over the database it is given; the table comes with its own migrations', async () => {
  const testDb = await createTestDatabase();
  const db = await createDatabase({ databaseUrl: testDb.url, dataDir: 'unused' }, logger);
  after(async () => {
    await db.close();
    await testDb.drop();
  });
  let opened = 0;
  const store = createFileStore(
    { databaseUrl: testDb.url, dataDir: 'unused' },
    async () => {
      opened++;
      return db;
    },
    logger,
  );
  assert.equal(store.driver, 'sql');
  assert.equal(opened, 0, 'not opened before the first use');
  assert.equal(await store.stat('0b7e2f6c-8a51-4c0e-9d3a-2f1e5b6c7d8e'), null);
  assert.equal(await store.stat('0b7e2f6c-8a51-4c0e-9d3a-2f1e5b6c7d8f'), null);
  assert.equal(opened, 1, 'opened and migrated once');
  const rows = await db.query<{ version: number }>('SELECT version FROM file_schema_migrations');
  assert.deepEqual(
    rows.map((r) => r.version),
    [1],
  );
});
