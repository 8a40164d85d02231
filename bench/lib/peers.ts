/**
 * Peers that are not project dependencies, installed by the bench scripts
 * themselves on first use: uWebSockets.js (npm, outside the project) and Nchan
 * (Debian's nginx + libnginx-mod-nchan, through apt-get).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** uWebSockets.js (binaries for Node ≤ 20 only) in a directory of its own; returns the package path. */
export function ensureUws(): string {
  const dir = join(tmpdir(), 'hubcast-bench-peers');
  const pkg = join(dir, 'node_modules/@trufflesuite/uws-js-unofficial');
  if (!existsSync(pkg)) {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
    process.stderr.write(`[bench] installing @trufflesuite/uws-js-unofficial into ${dir}\n`);
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefix', dir, '@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  return pkg;
}

export const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

/** nginx + the Nchan module from Debian's packages (apt-get; `apt-get update` first only if the install fails). */
export function ensureNchan(): void {
  if (existsSync('/usr/sbin/nginx') && existsSync(NCHAN_MODULE)) return;
  process.stderr.write('[bench] installing nginx + libnginx-mod-nchan (apt-get)\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', 'nginx', 'libnginx-mod-nchan'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    });
  if (install().status !== 0) {
    execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (install().status !== 0) throw new Error('could not install nginx + libnginx-mod-nchan with apt-get');
  }
  if (!existsSync(NCHAN_MODULE)) throw new Error(`Nchan module missing after install: ${NCHAN_MODULE}`);
}

/** Plain nginx from Debian's packages (the static-file peer of bench:photo); apt-get only when missing. */
export function ensureNginx(): void {
  if (existsSync('/usr/sbin/nginx')) return;
  process.stderr.write('[bench] installing nginx (apt-get)\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', 'nginx'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (install().status !== 0) {
    execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (install().status !== 0) throw new Error('could not install nginx with apt-get');
  }
}
