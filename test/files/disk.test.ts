import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createFileStore } from '../../src/files/index.js';
import { DiskFileStore } from '../../src/files/disk.js';
import { runFileStoreSuite } from './file-store-suite.js';

runFileStoreSuite('disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hubcast-files-'));
  return { store: new DiskFileStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

test('disk: chosen without DATABASE_URL, files under DATA_DIR/uploads, the database never opened', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hubcast-files-'));
  try {
    const store = createFileStore(
      { databaseUrl: undefined, dataDir: dir },
      () => assert.fail('the database is not opened in embedded mode'),
      pino({ level: 'silent' }),
    );
    assert.equal(store.driver, 'disk');
    const id = '0b7e2f6c-8a51-4c0e-9d3a-2f1e5b6c7d8e';
    await store.put(
      { id, filename: 'a.txt', content_type: 'text/plain', size: 2, url: `/realtime/binary/files/${id}` },
      Buffer.from('hi'),
    );
    assert.deepEqual((await readdir(join(dir, 'uploads'))).sort(), [id, `${id}.json`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
