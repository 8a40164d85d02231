/**
 * One behavioural suite for every upload store: disk (embedded mode) and
 * PostgreSQL must be indistinguishable to the upload routes.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FileStore, StoredFile } from '../../src/files/index.js';

export interface FileStoreHarness {
  /** A store over fresh, empty storage. */
  store: FileStore;
  /** A second store over the same storage (another gateway node), when the driver is shared. */
  peer?: FileStore;
  cleanup(): Promise<void>;
}

function describeFile(size: number, over: Partial<StoredFile> = {}): StoredFile {
  const id = randomUUID();
  return {
    id,
    filename: 'report.pdf',
    content_type: 'application/pdf',
    size,
    url: `/realtime/binary/files/${id}`,
    ...over,
  };
}

export function runFileStoreSuite(name: string, make: () => Promise<FileStoreHarness>): void {
  describe(`file store suite: ${name}`, () => {
    let h: FileStoreHarness;
    before(async () => {
      h = await make();
    });
    after(async () => {
      await h?.cleanup();
    });

    test('put, then get returns the same bytes and description; stat the description alone', async () => {
      const bytes = randomBytes(4096);
      const file = describeFile(bytes.length, { filename: 'naïve résumé ✓.pdf' });
      await h.store.put(file, bytes);
      const got = await h.store.get(file.id);
      assert.ok(got !== null);
      assert.deepEqual(got.file, file);
      assert.ok(Buffer.isBuffer(got.bytes));
      assert.ok(got.bytes.equals(bytes));
      assert.deepEqual(await h.store.stat(file.id), file);
    });

    test('every byte value and an empty file survive the round trip', async () => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const empty = Buffer.alloc(0);
      const a = describeFile(all.length);
      const b = describeFile(0);
      await h.store.put(a, all);
      await h.store.put(b, empty);
      assert.ok((await h.store.get(a.id))!.bytes.equals(all));
      assert.equal((await h.store.get(b.id))!.bytes.length, 0);
    });

    test('a file at the upload limit (10 MiB) is kept whole', async () => {
      const bytes = randomBytes(10 * 1024 * 1024);
      const file = describeFile(bytes.length);
      await h.store.put(file, bytes);
      const got = await h.store.get(file.id);
      assert.ok(got?.bytes.equals(bytes));
    });

    test('an unknown id, or one that is no UUID, names no file', async () => {
      assert.equal(await h.store.get(randomUUID()), null);
      assert.equal(await h.store.stat(randomUUID()), null);
      for (const bad of ['../etc/passwd', '', 'x'.repeat(36), "'; DROP TABLE uploaded_files; --"]) {
        assert.equal(await h.store.get(bad), null, bad);
        assert.equal(await h.store.stat(bad), null, bad);
        assert.equal(await h.store.delete(bad), false, bad);
      }
    });

    test('one id is stored once: a second put of it fails and the first stays', async () => {
      const file = describeFile(3);
      await h.store.put(file, Buffer.from('one'));
      await assert.rejects(h.store.put({ ...file, filename: 'other' }, Buffer.from('two')));
      const got = await h.store.get(file.id);
      assert.equal(got!.bytes.toString(), 'one');
      assert.equal(got!.file.filename, 'report.pdf');
    });

    test('delete removes the file once', async () => {
      const file = describeFile(5);
      await h.store.put(file, Buffer.from('bytes'));
      assert.equal(await h.store.delete(file.id), true);
      assert.equal(await h.store.get(file.id), null);
      assert.equal(await h.store.stat(file.id), null);
      assert.equal(await h.store.delete(file.id), false);
    });

    test('what one node stores, another reads (shared drivers)', async (t) => {
      if (h.peer === undefined) return t.skip('this driver is one process');
      const bytes = randomBytes(1000);
      const file = describeFile(bytes.length);
      await h.store.put(file, bytes);
      const got = await h.peer.get(file.id);
      assert.ok(got?.bytes.equals(bytes));
      assert.equal(await h.peer.delete(file.id), true);
      assert.equal(await h.store.get(file.id), null);
    });
  });
}
