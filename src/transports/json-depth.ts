/**
 * Nesting limit for JSON from clients (WS frames, server-API bodies). Parsing
 * deep JSON is fine, but everything after it recurses — `JSON.stringify` of a
 * publication overflows the stack near 10,000 levels and takes the process
 * down — so input is refused at the edge long before that. Real messages nest
 * a handful of levels.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when JSON text nests arrays/objects deeper than `limit`. One pass over
 * the characters, skipping string contents; stops at the first level past the
 * limit. Meant to run before `JSON.parse` (it does not validate the JSON).
 */
export function jsonTextTooDeep(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A string: jump to its closing quote. indexOf is native, so a megabyte
      // string costs microseconds instead of a character loop; a quote after
      // an odd run of backslashes is escaped and the search goes on.
      let q = i;
      for (;;) {
        q = text.indexOf('"', q + 1);
        if (q === -1) return false; // unterminated: JSON.parse refuses it
        let b = q - 1;
        while (b > i && text.charCodeAt(b) === 92) b--;
        if ((q - 1 - b) % 2 === 0) break;
      }
      i = q;
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

/** True when a parsed value nests deeper than `limit` (iterative: never recurses itself). */
export function valueTooDeep(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
