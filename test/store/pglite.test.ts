import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createDatabase } from '../../src/store/index.js';
import { migrateCatalog } from '../../src/apps/catalog/migrations/index.js';
import { seedCatalog } from '../../src/apps/catalog/seed.js';
import { CatalogRepository } from '../../src/apps/catalog/repository.js';
import { runStoreSuite } from './store-suite.js';

const logger = pino({ level: 'silent' });

runStoreSuite('pglite', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-pglite-'));
  return {
    open: () => createDatabase({ dataDir }, logger),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});

test('pglite persists under DATA_DIR/pglite across restarts; seeding is fast', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-pglite-'));
  try {
    const db = await createDatabase({ dataDir }, logger);
    assert.equal(db.driver, 'pglite');
    await migrateCatalog(db);
    const started = performance.now();
    const { inserted } = await seedCatalog(db);
    const ms = performance.now() - started;
    assert.ok(inserted >= 50);
    assert.ok(ms < 2000, `seeding took ${Math.round(ms)} ms`);
    await db.close();
    assert.equal(await db.isReady(), false, 'a closed database is not ready');

    const again = await createDatabase({ dataDir }, logger);
    try {
      assert.deepEqual((await migrateCatalog(again)).applied, []);
      assert.deepEqual(await seedCatalog(again), { inserted: 0 });
      assert.equal((await new CatalogRepository(again).list()).length, inserted);
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
