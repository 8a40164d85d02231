import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderProductPhoto } from './photo-art.js';

/**
 * The seed's photos, rendered once by `npm run build`
 * (scripts/build-seed-photos.mjs) instead of on every first start: rendering
 * 60 of them took 0.5-1.4 s of the first start, and their PNG encodings left
 * ~10 MB of fragmented malloc heap in the gateway for good. One file read into
 * one buffer, sliced, leaves nothing behind. The same path from src/apps/catalog
 * under tsx and from dist/apps/catalog.
 */
export const SEED_PHOTOS_FILE = fileURLToPath(new URL('../../../dist/apps/catalog/seed-photos.bin', import.meta.url));

/** Photos 1..count: each a 4-byte big-endian length, then the PNG bytes. */
export function encodeSeedPhotos(count: number): Buffer {
  const parts: Buffer[] = [];
  for (let id = 1; id <= count; id++) {
    const png = renderProductPhoto(id);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(png.length);
    parts.push(length, png);
  }
  return Buffer.concat(parts);
}

/** The photos of products 1..count: from the build's file when it holds exactly that many, rendered otherwise. */
export function seedPhotos(count: number, path = SEED_PHOTOS_FILE): Buffer[] {
  return readSeedPhotos(count, path) ?? Array.from({ length: count }, (_, i) => renderProductPhoto(i + 1));
}

function readSeedPhotos(count: number, path: string): Buffer[] | null {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const photos: Buffer[] = [];
  let at = 0;
  while (at + 4 <= file.length) {
    const end = at + 4 + file.readUInt32BE(at);
    if (end > file.length) return null; // truncated: render instead
    photos.push(file.subarray(at + 4, end));
    at = end;
  }
  return at === file.length && photos.length === count ? photos : null;
}
