import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createDatabase } from '../../src/store/index.js';
import { migrateCatalog } from '../../src/apps/catalog/migrations/index.js';
import { seedCatalog } from '../../src/apps/catalog/seed.js';
import { CatalogRepository } from '../../src/apps/catalog/repository.js';
import { runStoreSuite } from './store-suite.js';
import { PGLITE_TEMPLATE_DIR, PgliteDatabase } from '../../src/store/pglite.js';

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

test("a first start copies the build's template (no initdb) and leaves no partial copy behind", async (t) => {
  if (!existsSync(join(PGLITE_TEMPLATE_DIR, 'PG_VERSION'))) return t.skip('no template: run npm run build');
  const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-pglite-'));
  try {
    const dir = PgliteDatabase.dirFor(dataDir);
    const db = await PgliteDatabase.open(dir);
    try {
      // initdb draws a new system identifier; a copy keeps the template's (pg_control starts with it).
      const [{ id }] = await db.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
      const template = readFileSync(join(PGLITE_TEMPLATE_DIR, 'global', 'pg_control')).readBigUInt64LE(0);
      assert.equal(id, template.toString());
      assert.deepEqual(readdirSync(dataDir), ['pglite']);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a data directory holding files but no database is refused, not overwritten', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-pglite-'));
  try {
    const dir = PgliteDatabase.dirFor(dataDir);
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await assert.rejects(PgliteDatabase.open(dir), /holds files but no database \(no PG_VERSION\)/);
    assert.deepEqual(readdirSync(dir), ['notes.txt']);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('bytea round-trips every byte value exactly', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hubcast-pglite-'));
  const db = await PgliteDatabase.open(PgliteDatabase.dirFor(dataDir));
  try {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 131) & 0xff));
    const [row] = await db.query<{ b: Buffer; n: number }>('SELECT $1::bytea AS b, length($1::bytea) AS n', [bytes]);
    assert.equal(row.n, bytes.length);
    assert.ok(Buffer.isBuffer(row.b));
    assert.ok(row.b.equals(bytes));
    const [empty] = await db.query<{ b: Buffer }>('SELECT $1::bytea AS b', [Buffer.alloc(0)]);
    assert.equal(empty.b.length, 0);
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 3, 5); // an offset view, not the whole buffer
    const [sub] = await db.query<{ b: Buffer }>('SELECT $1::bytea AS b', [view]);
    assert.deepEqual([...sub.b], [...view]);
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
