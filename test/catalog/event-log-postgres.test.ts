import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { CatalogRepository } from '../../src/apps/catalog/repository.js';
import { seedCatalog } from '../../src/apps/catalog/seed.js';
import { migrateCatalog } from '../../src/apps/catalog/migrations/index.js';
import { createDatabase } from '../../src/store/index.js';
import { PostgresDatabase } from '../../src/store/postgres.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { change, runEventLogSuite } from './event-log-suite.js';
import { silent } from './fixture.js';

const execFileAsync = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/hubcast.js');

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

test('npx hubcast rebuild: exit 0 on a consistent database; after tampering, exit 1 listing the product', async () => {
  const testDb = await createTestDatabase();
  after(() => testDb.drop());
  const db = await createDatabase({ databaseUrl: testDb.url, dataDir: 'unused' }, silent);
  try {
    await migrateCatalog(db);
    await seedCatalog(db);
    const repo = new CatalogRepository(db);
    for (let i = 1; i <= 20; i++) await repo.applyChange(change(i, { stock: i }));
    const rebuild = () =>
      execFileAsync(process.execPath, [BIN, 'rebuild'], {
        env: { PATH: process.env.PATH, DATABASE_URL: testDb.url },
        timeout: 30_000,
      }).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (err: { code?: number; stdout?: string }) => ({ code: err.code, stdout: err.stdout ?? '' }),
      );
    const ok = await rebuild();
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /the live table matches the log/);
    await db.query('UPDATE products SET price = 1.23 WHERE id = 5');
    const bad = await rebuild();
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^product 5: price live 1\.23, rebuilt [\d.]+$/m);
  } finally {
    await db.close();
  }
});
