/**
 * The core imports nothing from an application, and an application reaches
 * the core only through its public surface (docs/applications.md): the
 * application interface and the shared libraries, never the gateway's
 * insides. Scans every import in src/, static and dynamic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

/** The one place that composes the core with the built-in applications (`hubcast start|gateway`). */
const COMPOSITION_ROOTS = new Set(['cli.ts']);
/** Core parts an application must not import: the gateway's insides. It gets what it needs through AppContext. */
const CORE_INSIDES = ['server.ts', 'gateway/', 'transports/', 'hub/', 'bus/', 'auth/', 'ack/'];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of `import … from`, `export … from`, `import '…'` and `import('…')`, comments removed. */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g))
    found.push(m[2]);
  return found;
}

/** `src/`-relative path an import of `spec` in `file` reaches (`.js` named, `.ts` on disk). */
function target(file: string, spec: string): string {
  return relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
}

/** Every rule the tree breaks, as `file → import (why)`. */
function violations(files: string[], read: (f: string) => string): string[] {
  const out: string[] = [];
  for (const file of files) {
    const here = relative(SRC, file);
    const app = /^apps\/([^/]+)\//.exec(here)?.[1];
    for (const spec of importsOf(read(file))) {
      const to = target(file, spec);
      const toApp = /^apps\/([^/]+)\//.exec(to)?.[1];
      if (app === undefined && toApp !== undefined && !COMPOSITION_ROOTS.has(here))
        out.push(`${here} → ${spec} (the core imports no application)`);
      if (app !== undefined && toApp !== undefined && toApp !== app)
        out.push(`${here} → ${spec} (an application imports no other application)`);
      if (app !== undefined && CORE_INSIDES.some((p) => to === p || to.startsWith(p)))
        out.push(`${here} → ${spec} (an application uses AppContext, not the gateway's insides)`);
    }
  }
  return out;
}

test('the core imports nothing from src/apps/; applications import no gateway insides and no other application', () => {
  const files = walk(SRC);
  assert.ok(
    files.some((f) => f.includes('/apps/catalog/')) && files.some((f) => f.includes('/apps/chat/')),
    'the applications are where the scan looks',
  );
  assert.deepEqual(
    violations(files, (f) => readFileSync(f, 'utf8')),
    [],
  );
});

test('the scan catches each kind of breach (static, dynamic, re-export), and ignores comments', () => {
  const fake: Record<string, string> = {
    [join(SRC, 'hub/leak.ts')]: "import { catalogApp } from '../apps/catalog/app.js';",
    [join(SRC, 'transports/lazy.ts')]: "const m = await import('../apps/chat/app.js');",
    [join(SRC, 'web/again.ts')]: "export { dashboardPage } from '../apps/catalog/dashboard-page.js';",
    [join(SRC, 'apps/chat/peek.ts')]:
      "import type { Hub } from '../../hub/hub.js';\nimport { migrations } from '../catalog/migrations/index.js';",
    [join(SRC, 'apps/catalog/fine.ts')]:
      "// import x from '../../server.js'\nimport type { Application } from '../../application.js';\nimport { seedCatalog } from './seed.js';",
    [join(SRC, 'cli.ts')]: "const { chatApp } = await import('./apps/chat/app.js');",
  };
  assert.deepEqual(
    violations(Object.keys(fake), (f) => fake[f]),
    [
      'hub/leak.ts → ../apps/catalog/app.js (the core imports no application)',
      'transports/lazy.ts → ../apps/chat/app.js (the core imports no application)',
      'web/again.ts → ../apps/catalog/dashboard-page.js (the core imports no application)',
      "apps/chat/peek.ts → ../../hub/hub.js (an application uses AppContext, not the gateway's insides)",
      'apps/chat/peek.ts → ../catalog/migrations/index.js (an application imports no other application)',
    ],
  );
});
