import { pngjs } from '../lazy-deps.js';

const SIZE = 32;

/**
 * The gateway's icon, drawn once at first request: a broadcast mark (a dot
 * and two rings) on a dark disc, as a PNG inside an ICO container (an ICO may
 * hold PNG images; every browser reads it), so no binary file ships in the repo.
 */
export function faviconIco(): Buffer {
  const { PNG } = pngjs();
  const png = new PNG({ width: SIZE, height: SIZE });
  const c = (SIZE - 1) / 2;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const r = Math.hypot(x - c, y - c);
      const i = (y * SIZE + x) * 4;
      let rgba: [number, number, number, number] = [0, 0, 0, 0];
      if (r <= 15.5) rgba = [17, 24, 39, 255];
      if (r <= 3.5 || (r >= 6.5 && r <= 8.5) || (r >= 11.5 && r <= 13.5)) rgba = [45, 212, 191, 255];
      png.data[i] = rgba[0];
      png.data[i + 1] = rgba[1];
      png.data[i + 2] = rgba[2];
      png.data[i + 3] = rgba[3];
    }
  }
  const image = PNG.sync.write(png);
  const head = Buffer.alloc(6 + 16);
  head.writeUInt16LE(0, 0); // reserved
  head.writeUInt16LE(1, 2); // type: icon
  head.writeUInt16LE(1, 4); // one image
  head.writeUInt8(SIZE, 6);
  head.writeUInt8(SIZE, 7);
  head.writeUInt8(0, 8); // no palette
  head.writeUInt8(0, 9);
  head.writeUInt16LE(1, 10); // colour planes
  head.writeUInt16LE(32, 12); // bits per pixel
  head.writeUInt32LE(image.length, 14);
  head.writeUInt32LE(head.length, 18);
  return Buffer.concat([head, image]);
}
