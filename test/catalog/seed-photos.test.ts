import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderProductPhoto } from '../../src/apps/catalog/photo-art.js';
import { SEED_PRODUCTS } from '../../src/apps/catalog/seed-data.js';
import { SEED_PHOTOS_FILE, encodeSeedPhotos, seedPhotos } from '../../src/apps/catalog/seed-photos.js';

const rendered = (count: number) => Array.from({ length: count }, (_, i) => renderProductPhoto(i + 1));

test('seed photos come from the file when it holds exactly the photos asked for, rendered otherwise', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-seed-photos-'));
  try {
    const file = join(dir, 'seed-photos.bin');
    const encoded = encodeSeedPhotos(3);
    writeFileSync(file, encoded);
    const fromFile = seedPhotos(3, file);
    assert.deepEqual(fromFile, rendered(3));
    assert.equal(fromFile[0].buffer, fromFile[2].buffer, 'slices of one read, not copies');

    assert.deepEqual(seedPhotos(4, file), rendered(4), 'a file for another count is not used');
    writeFileSync(file, encoded.subarray(0, encoded.length - 1));
    assert.deepEqual(seedPhotos(3, file), rendered(3), 'a truncated file is not used');
    assert.deepEqual(seedPhotos(2, join(dir, 'missing.bin')), rendered(2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the build's seed photos are what the renderer draws for every seeded product", (t) => {
  if (!existsSync(SEED_PHOTOS_FILE)) return t.skip('no dist/apps/catalog/seed-photos.bin: run npm run build');
  const photos = seedPhotos(SEED_PRODUCTS.length);
  assert.equal(photos.length, SEED_PRODUCTS.length);
  assert.equal(new Set(photos.map((p) => p.buffer)).size, 1, 'read from the file');
  assert.deepEqual(photos, rendered(SEED_PRODUCTS.length));
});
