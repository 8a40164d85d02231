/**
 * The two packages as a new user gets them: `npm pack` both (prepack builds them), install them
 * into empty projects outside the repository (nothing from its node_modules; registry packages
 * come from the npm cache or the registry), import the client in Node and, through an import map,
 * as a module in headless Chromium, run `npx hubcast start` from the install and receive a
 * product update with the installed client. Prints the sizes. Serial: packing rebuilds dist/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  createReadStream,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, TestProcess, childEnv } from '../helpers/processes.js';
import { launchBrowser, openPage, serveSite } from '../helpers/browser.js';

const run = promisify(execFile);
const CLIENT_TARBALL_LIMIT = 30 * 1024;

/**
 * The runner's environment without hubcast's variables and without npm's: under `npm test`,
 * npm_config_* / npm_package_* describe the repository and would point the child npm back at it.
 */
function cleanEnv(env: Record<string, string> = {}): Record<string, string> {
  const out = childEnv({});
  for (const k of Object.keys(out)) if (/^npm_/i.test(k) || k === 'INIT_CWD' || k === 'NODE_PATH') delete out[k];
  return {
    ...out,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...env,
  };
}

async function sh(
  cmd: string,
  args: string[],
  cwd: string,
  timeoutMs = 120_000,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, args, { cwd, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} in ${cwd} failed: ${e.message}\n${(e.stderr ?? '').slice(-2000)}`);
  }
}

/** Bytes of the files under `dir`, symlinks not followed (what `du --apparent-size` counts). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    total += st.isDirectory() ? treeBytes(path) : st.size;
  }
  return total;
}

/** Packages npm installed into `project` (its hidden lock file lists each one once). */
function installedPackages(project: string): string[] {
  const lock = JSON.parse(readFileSync(join(project, 'node_modules', '.package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  return Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/'));
}

function emptyProject(dir: string): string {
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module' }),
  );
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** Receives one product.updated over WS and one over SSE with the installed client; prints them as JSON. */
const NODE_CLIENT = `
import { WSClient, createSSEClient } from '@hubcast/client';
import * as viaServer from 'hubcast/client';
const base = process.argv[2];
if (viaServer.WSClient !== WSClient) throw new Error('hubcast/client is not the installed @hubcast/client');
const ws = new WSClient(base.replace(/^http/, 'ws') + '/realtime/ws');
const overWs = new Promise((resolve) => ws.onMessage('event', (e) => { if (e.event === 'product.updated') resolve(e.data); }));
await ws.connect();
await ws.joinChannel('products');
const sse = createSSEClient(base + '/realtime/events?channels=products');
const overSse = new Promise((resolve) => sse.onEvent('product.updated', (e) => resolve(e.data)));
const [a, b] = await Promise.all([overWs, overSse]);
ws.disconnect();
sse.disconnect();
console.log(JSON.stringify({ ws: a, sse: b }));
`;

/** A page that imports the installed package by its name (an import map, as a no-bundler site would). */
function page(gateway: string): string {
  return `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{"imports":{"@hubcast/client":"/pkg/dist/index.js","@hubcast/client/wire":"/pkg/dist/wire/index.js"}}</script>
<script type="module">
import { WSClient, createSSEClient } from '@hubcast/client';
import { WS_PATH } from '@hubcast/client/wire';
window.updates = [];
const ws = new WSClient('${gateway.replace(/^http/, 'ws')}' + WS_PATH);
ws.onMessage('event', (e) => { if (e.event === 'product.updated') window.updates.push(['ws', e.data]); });
const sse = createSSEClient('${gateway}/realtime/events?channels=products');
sse.onEvent('product.updated', (e) => window.updates.push(['sse', e.data]));
await ws.connect();
await ws.joinChannel('products');
</script>`;
}

test('both packages pack, install into an empty project, and the installed server and client talk (Node and Chromium)', {
  timeout: 420_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-pack-'));
  const procs: TestProcess[] = [];
  let gatewayPid = 0;
  try {
    // Pack: prepack builds each package first.
    const tarballs = join(dir, 'tarballs');
    mkdirSync(tarballs);
    const packed = await sh(
      'npm',
      ['pack', '--workspaces', '--include-workspace-root', '--pack-destination', tarballs, '--json'],
      REPO_ROOT,
      240_000,
    );
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[\n'))) as Array<{
      name: string;
      filename: string;
      size: number;
      unpackedSize: number;
      files: Array<{ path: string }>;
    }>;
    const server = report.find((p) => p.name === 'hubcast');
    const client = report.find((p) => p.name === '@hubcast/client');
    assert.ok(server && client, `npm pack reported ${report.map((p) => p.name)}`);
    console.log(
      `[pack] hubcast: ${kib(server.size)} tarball, ${kib(server.unpackedSize)} unpacked, ${server.files.length} files`,
    );
    console.log(
      `[pack] @hubcast/client: ${kib(client.size)} tarball, ${kib(client.unpackedSize)} unpacked, ${client.files.length} files`,
    );
    assert.ok(
      client.size < CLIENT_TARBALL_LIMIT,
      `the client tarball is ${client.size} bytes, over ${CLIENT_TARBALL_LIMIT}`,
    );
    const stray = server.files
      .map((f) => f.path)
      .filter((p) => /^(test|bench|scripts|src|packages|node_modules)\//.test(p));
    assert.deepEqual(stray, [], 'the server tarball holds only what runs');
    assert.ok(
      server.files.some((f) => f.path === 'dist/cli.js') && server.files.some((f) => f.path === 'dist/sdk/hubcast.js'),
      'dist/ is built into the tarball',
    );
    assert.ok(
      client.files.some((f) => f.path === 'dist/index.d.ts') &&
        client.files.some((f) => f.path === 'dist/react/index.js'),
      'the client ships its JS and types',
    );
    const clientTgz = join(tarballs, client.filename);
    const serverTgz = join(tarballs, server.filename);

    // The client alone: no dependency, importable in Node, its types resolve for a TypeScript user.
    const clientApp = emptyProject(join(dir, 'client-app'));
    await sh('npm', ['install', clientTgz], clientApp);
    assert.deepEqual(
      installedPackages(clientApp),
      ['node_modules/@hubcast/client'],
      'the client installs with 0 dependencies',
    );
    console.log(
      `[install] @hubcast/client alone: 1 package, ${kib(treeBytes(join(clientApp, 'node_modules')))} installed`,
    );
    const probe = await sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      import * as sdk from '@hubcast/client';
      import { decodeBinary, encodeBinary, CloseCode } from '@hubcast/client/wire';
      const frame = encodeBinary({ content_type: 'text/plain', filename: 'a.txt' }, new TextEncoder().encode('hi'));
      const back = decodeBinary(frame);
      console.log(JSON.stringify({ ws: typeof sdk.WSClient, sse: typeof sdk.createSSEClient, close: CloseCode.tokenExpired, body: new TextDecoder().decode(back.body) }));
    `,
      ],
      clientApp,
    );
    assert.deepEqual(JSON.parse(probe.stdout), { ws: 'function', sse: 'function', close: 4001, body: 'hi' });
    writeFileSync(
      join(clientApp, 'check.ts'),
      `import { WSClient, type EventFrame } from '@hubcast/client';\nimport { ErrorCode, type ServerFrame } from '@hubcast/client/wire';\nconst c: WSClient = new WSClient('ws://h/realtime/ws');\nc.onMessage('event', (e: EventFrame<{ id: number }>) => e.data.id.toFixed());\nconst f: ServerFrame = { type: 'error', code: ErrorCode.forbidden, message: '' };\nexport { f };\n`,
    );
    await sh(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--lib',
        'es2023,dom',
        'check.ts',
      ],
      clientApp,
    );

    // The server next to it, as `npm install` leaves it: no EBADENGINE on this Node.
    const app = emptyProject(join(dir, 'app'));
    const installed = await sh('npm', ['install', clientTgz, serverTgz], app, 240_000);
    assert.doesNotMatch(installed.stdout + installed.stderr, /EBADENGINE/);
    const packages = installedPackages(app);
    console.log(
      `[install] hubcast + @hubcast/client: ${packages.length} packages, ${mib(treeBytes(join(app, 'node_modules')))} installed (node ${process.version})`,
    );

    // `npx hubcast start` from the install: embedded mode, a free port.
    const npx = new TestProcess(
      'npx hubcast start',
      'npx',
      ['hubcast', 'start'],
      cleanEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: join(dir, 'data'),
        GENERATOR_INTERVAL_MS: '200',
        LOG_LEVEL: 'info',
      }),
      app,
    );
    procs.push(npx);
    const listening = await npx.waitForLog(
      (r) => r.msg === 'hubcast gateway listening' && typeof r.url === 'string',
      180_000,
      'the installed gateway to listen',
    );
    const url = listening.url as string;
    gatewayPid = Number(listening.pid);
    const sdk = await fetch(`${url}/sdk/hubcast.js`);
    assert.equal(sdk.status, 200, 'the installed gateway serves /sdk/hubcast.js');
    await sdk.body?.cancel();

    // Node: the installed client receives a product update over WS and SSE.
    writeFileSync(join(app, 'node-client.mjs'), NODE_CLIENT);
    const got = JSON.parse((await sh(process.execPath, ['node-client.mjs', url], app, 30_000)).stdout) as {
      ws: { id: number };
      sse: { id: number };
    };
    assert.equal(typeof got.ws.id, 'number');
    assert.equal(typeof got.sse.id, 'number');

    // Chromium: the installed package's files as ES modules, on another origin than the gateway.
    const pkgRoot = join(app, 'node_modules', '@hubcast', 'client');
    const site = await serveSite((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path.startsWith('/pkg/')) {
        const file = normalize(join(pkgRoot, path.slice('/pkg/'.length)));
        if (!file.startsWith(pkgRoot) || extname(file) !== '.js') return void res.writeHead(404).end();
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        return void createReadStream(file)
          .on('error', () => res.destroy())
          .pipe(res);
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(page(url));
    });
    const browser = await launchBrowser();
    try {
      const { page: tab, problems } = await openPage(browser);
      await tab.goto(site.url);
      await tab.waitForFunction(
        () => {
          const u = (window as any).updates as Array<[string, unknown]>;
          return u.some(([t]) => t === 'ws') && u.some(([t]) => t === 'sse');
        },
        undefined,
        { timeout: 20_000 },
      );
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await site.close();
    }

    // SIGTERM to npx reaches the gateway it launched, which stops.
    npx.signal('SIGTERM');
    const deadline = Date.now() + 20_000;
    while (alive(gatewayPid)) {
      assert.ok(Date.now() < deadline, `gateway ${gatewayPid} still running 20 s after SIGTERM to npx`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const p of procs) await p.kill();
    // npx runs the gateway as its child: make sure a failed run leaves none behind.
    if (gatewayPid > 0)
      try {
        process.kill(gatewayPid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    rmSync(dir, { recursive: true, force: true });
  }
});
