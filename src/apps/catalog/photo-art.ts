import { createHash } from 'node:crypto';
import { pngjs } from '../../lazy-deps.js';

/**
 * Deterministic product artwork for the seeded catalog: a two-colour gradient,
 * a few shapes and per-pixel grain, encoded as an RGB PNG. The grain is what
 * makes each image tens of KB (flat art would deflate to almost nothing, and
 * a photo cache is only worth testing with photo-sized payloads).
 */
export const PHOTO_SIZE = 160;
export const PHOTO_CONTENT_TYPE = 'image/png';

/** mulberry32: tiny, fast, good enough for art; the same seed gives the same picture. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rgb = [number, number, number];

function hsl(h: number, s: number, l: number): Rgb {
  const k = (n: number) => (n + h * 12) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [f(0) * 255, f(8) * 255, f(4) * 255];
}

interface Shape {
  kind: 'circle' | 'square';
  cx: number;
  cy: number;
  r: number;
  color: Rgb;
}

/** Render the artwork for `seed` (the product id) as PNG bytes. */
export function renderProductPhoto(seed: number, size = PHOTO_SIZE): Buffer {
  const rand = rng(seed * 2654435761);
  const hue = rand();
  const from = hsl(hue, 0.55 + rand() * 0.3, 0.35 + rand() * 0.2);
  const to = hsl((hue + 0.25 + rand() * 0.4) % 1, 0.5 + rand() * 0.4, 0.55 + rand() * 0.2);
  const shapes: Shape[] = Array.from({ length: 3 + Math.floor(rand() * 4) }, () => ({
    kind: rand() < 0.5 ? 'circle' : 'square',
    cx: rand() * size,
    cy: rand() * size,
    r: size * (0.08 + rand() * 0.22),
    color: hsl(rand(), 0.6 + rand() * 0.3, 0.3 + rand() * 0.5),
  }));
  const grain = 10 + Math.floor(rand() * 8);

  const { PNG } = pngjs();
  const png = new PNG({ width: size, height: size });
  const data = png.data;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = (x + y) / (2 * (size - 1));
      let r = from[0] + (to[0] - from[0]) * t;
      let g = from[1] + (to[1] - from[1]) * t;
      let b = from[2] + (to[2] - from[2]) * t;
      for (const s of shapes) {
        const dx = x - s.cx;
        const dy = y - s.cy;
        const inside =
          s.kind === 'circle' ? dx * dx + dy * dy <= s.r * s.r : Math.abs(dx) <= s.r && Math.abs(dy) <= s.r;
        if (inside) [r, g, b] = [(r + s.color[0] * 3) / 4, (g + s.color[1] * 3) / 4, (b + s.color[2] * 3) / 4];
      }
      const n = (rand() - 0.5) * 2 * grain;
      const i = (y * size + x) * 4;
      data[i] = clamp(r + n);
      data[i + 1] = clamp(g + n);
      data[i + 2] = clamp(b + n);
      data[i + 3] = 255;
    }
  }
  // colorType 2 (RGB): the alpha channel would only add bytes. filterType 1
  // (Sub) instead of trying all five per row: half the encode time for ~4% more
  // bytes, and seeding sits on the start path.
  return PNG.sync.write(png, { colorType: 2, filterType: 1 });
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Strong ETag for photo bytes: a content hash, quoted as HTTP requires. */
export function photoEtag(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}
