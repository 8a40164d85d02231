/**
 * How the product starts node: `bin/hubcast.js`'s `#!/usr/bin/env -S …` line
 * (what `npx hubcast …` runs) holds the environment assignments and node flags;
 * `npm start` repeats them (test/ops/launcher.test.ts keeps the two equal). The
 * footprint bench starts the CLI the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Launcher {
  /** `NAME=value` assignments, e.g. glibc's malloc tuning. */
  env: Record<string, string>;
  /** Flags passed to node before the script. */
  nodeArgs: string[];
}

export function productLauncher(root: string): Launcher {
  const first = readFileSync(join(root, 'bin', 'hubcast.js'), 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S (.+)$/.exec(first);
  if (m === null) throw new Error(`bin/hubcast.js: expected a '#!/usr/bin/env -S …' line, found ${first}`);
  const words = m[1].trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split('=');
    env[name] = value.join('=');
  }
  if (words.shift() !== 'node') throw new Error(`bin/hubcast.js: expected node after the assignments in ${first}`);
  return { env, nodeArgs: words };
}
