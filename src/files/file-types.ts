/**
 * Declared upload types checked against the bytes: a file that says it is a
 * PNG must start like one. Types without a signature here are accepted as
 * declared; the served copy always goes out with `nosniff` and as an attachment.
 */
const SIGNATURES: Record<string, (b: Buffer) => boolean> = {
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/gif': (b) =>
    b.subarray(0, 6).toString('latin1') === 'GIF87a' || b.subarray(0, 6).toString('latin1') === 'GIF89a',
  'image/webp': (b) =>
    b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  'application/pdf': (b) => b.subarray(0, 5).toString('latin1') === '%PDF-',
  'application/zip': (b) => b[0] === 0x50 && b[1] === 0x4b,
  'application/gzip': (b) => b[0] === 0x1f && b[1] === 0x8b,
};

/** Null when the bytes fit the declared type, else why not. */
export function contentMismatch(declared: string, bytes: Buffer): string | null {
  const type = declared.split(';')[0].trim().toLowerCase();
  const check = SIGNATURES[type];
  if (check === undefined || check(bytes)) return null;
  return `declared content type ${type} does not match the file's bytes`;
}

/**
 * Characters that change how a name reads without showing themselves: controls
 * (C0, C1), format characters (bidi overrides and isolates, zero-width joiners,
 * BOM, soft hyphen), line/paragraph separators, private-use, unassigned and
 * lone surrogates, and the letters that render blank (Hangul fillers, braille
 * blank). `invoice\u202Egnp.exe` would display as `invoiceexe.png`.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}\u115F\u1160\u3164\uFFA0\u2800]/gu;

/** A filename safe to show and to put in Content-Disposition: no paths, no control or invisible characters. */
export function sanitizeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    .replace(HIDDEN, '_')
    .replace(/\p{Zs}/gu, ' ')
    .replace(/["<>|:*?]/g, '_')
    .replace(/^\.+/, '')
    .trim();
  // Cut by code points: slicing UTF-16 units could leave half a surrogate pair.
  const short = Array.from(cleaned).slice(0, 200).join('');
  return short === '' ? 'upload.bin' : short;
}
