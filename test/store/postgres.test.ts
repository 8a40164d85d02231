import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { createDatabase } from '../../src/store/index.js';
import { PostgresDatabase } from '../../src/store/postgres.js';
import { createTestDatabase } from '../helpers/services.js';
import { runStoreSuite } from './store-suite.js';

const logger = pino({ level: 'silent' });

runStoreSuite('postgres', async () => {
  const testDb = await createTestDatabase();
  return {
    open: () => createDatabase({ databaseUrl: testDb.url, dataDir: 'unused' }, logger),
    // A second pool is a second gateway node as far as the server can tell.
    openPeer: async () => new PostgresDatabase(testDb.url, logger),
    cleanup: () => testDb.drop(),
  };
});

test('postgres: driver chosen by DATABASE_URL; BIGINT/NUMERIC/BYTEA parse like PGlite', async () => {
  const testDb = await createTestDatabase();
  after(() => testDb.drop());
  const db = await createDatabase({ databaseUrl: testDb.url, dataDir: 'unused' }, logger);
  try {
    assert.equal(db.driver, 'postgres');
    const [row] = await db.query<{ n: unknown; b: unknown; y: unknown; t: unknown }>(
      `SELECT 12.50::numeric(10,2) AS n, 9007199254740::bigint AS b, '\\x00ff'::bytea AS y, now() AS t`,
    );
    assert.equal(row.n, 12.5);
    assert.equal(row.b, 9007199254740);
    assert.ok(Buffer.isBuffer(row.y) && (row.y as Buffer).equals(Buffer.from([0, 255])));
    assert.ok(row.t instanceof Date);
  } finally {
    await db.close();
  }
});

test('postgres: an unreachable server makes isReady false within its timeout, not a hang', async () => {
  // Port 1 on loopback: nothing listens there, the connect fails at once.
  const db = new PostgresDatabase('postgres://postgres@127.0.0.1:1/none', logger, { connectionTimeoutMillis: 500 });
  try {
    const started = performance.now();
    assert.equal(await db.isReady(300), false);
    assert.ok(performance.now() - started < 1000);
  } finally {
    await db.close();
  }
});
