// needs: the npm registry (the README line runs `npm install` in a fresh clone)
/**
 * What a newcomer does in the first hour, from a fresh clone: the README's first
 * command line as written brings up a gateway that streams product updates;
 * SIGTERM to the npm process leaves no gateway behind; `npx hubcast token`
 * prints a token the gateway accepts; SIGTERM to the npx process stops the
 * gateway it launched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, TestProcess, childEnv } from '../helpers/processes.js';

const SECRET = 'first-hour-test-secret-0123456789abcdef';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The first `npm …` line of the README's first fenced code block, without its comment. */
function readmeFirstCommand(readme: string): string {
  const block = /```[^\n]*\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has a fenced code block');
  const line = block[1].split('\n').find((l) => l.trim().startsWith('npm'));
  assert.ok(line, 'the first code block has an npm line');
  return line.replace(/\s+#.*$/, '').trim();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200 && (await res.json()).status === 'ok';
  } catch {
    return false;
  }
}

/** Reads an SSE stream until `pred` matches an event's data line (raw fetch, no client library). */
async function firstEvent(url: string, event: string, ms: number): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
  assert.equal(res.status, 200, `${url} answered ${res.status}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before ${event}: ${text.slice(-300)}`);
      text += decoder.decode(value, { stream: true });
      const m = new RegExp(`event: ${event.replace('.', '\\.')}\\n(?:id: .*\\n)?data: (.*)\\n`).exec(text);
      if (m) return m[1];
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

test('fresh clone: the README line as written serves product updates; SIGTERM to npm leaves nothing; hubcast token works; SIGTERM to npx stops its gateway', {
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-fresh-'));
  const repo = join(dir, 'repo');
  const procs: TestProcess[] = [];
  try {
    execFileSync('git', ['clone', '--quiet', REPO_ROOT, repo], { stdio: 'ignore' });
    const line = readmeFirstCommand(readFileSync(join(repo, 'README.md'), 'utf8'));
    console.log(`[first-hour] README's first command: ${line}`);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // The line as written; the npm cache keeps the install short (prefer-offline is npm config, not a changed line).
    const env = childEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      GENERATOR_INTERVAL_MS: '200',
      LOG_LEVEL: 'info',
      npm_config_prefer_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
    });
    const started = Date.now();
    const sh = new TestProcess('readme line', 'sh', ['-c', line], env, repo);
    procs.push(sh);
    await sh.until(() => sh.logs.find((r) => r.msg === 'hubcast gateway listening'), 200_000, 'the start-up line');
    await until(() => healthy(url), 20_000, '/healthz');
    console.log(`[first-hour] fresh clone to /healthz in ${Date.now() - started} ms`);
    assert.doesNotMatch(sh.stderr + sh.stdout, /EBADENGINE/);
    const twice = sh.stdout.split('\n').filter((l) => (l.match(/"name":/g) ?? []).length > 1);
    assert.deepEqual(twice, [], 'log lines with the key "name" twice');
    const product = JSON.parse(await firstEvent(`${url}/realtime/events?channels=products`, 'product.updated', 20_000));
    assert.equal(typeof product.id, 'number');
    assert.equal(typeof product.version, 'number');

    const gatewayPid = Number(sh.logs.find((r) => r.msg === 'hubcast gateway listening')!.pid);
    const npm = childrenOf(sh.pid);
    assert.equal(npm.length, 1, `one npm under sh, got ${npm}`);
    process.kill(npm[0], 'SIGTERM');
    await until(() => !alive(gatewayPid), 15_000, `gateway ${gatewayPid} to exit after SIGTERM to npm ${npm[0]}`);
    await sh.waitExit(10_000);
    assert.ok(
      sh.logs.some((r) => r.msg === 'shutdown complete'),
      'the gateway logged shutdown complete',
    );

    // A development token from the CLI, accepted by a gateway with the same secret.
    const authEnv = childEnv({ JWT_SECRET: SECRET, LOG_LEVEL: 'info', npm_config_prefer_offline: 'true' });
    const token = execFileSync(
      'npx',
      ['hubcast', 'token', '--sub', 'alice', '--channels', 'orders,chat:*', '--ttl', '1h'],
      { cwd: repo, env: authEnv, encoding: 'utf8' },
    ).trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const port2 = await freePort();
    const url2 = `http://127.0.0.1:${port2}`;
    const npx = new TestProcess(
      'npx hubcast gateway',
      'npx',
      ['hubcast', 'gateway'],
      { ...authEnv, PORT: String(port2), HOST: '127.0.0.1', DATA_DIR: join(dir, 'data2') },
      repo,
    );
    procs.push(npx);
    const listening = await npx.until(
      () => npx.logs.find((r) => r.msg === 'hubcast gateway listening'),
      60_000,
      'the gateway start-up line',
    );
    assert.equal(listening.auth, 'on');
    const refused = await fetch(`${url2}/realtime/events?channels=orders`);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const connected = JSON.parse(
      await firstEvent(`${url2}/realtime/events?channels=orders&token=${token}`, 'system', 10_000),
    );
    assert.equal(connected.type, 'connected');
    npx.signal('SIGTERM');
    await until(() => !alive(Number(listening.pid)), 15_000, `gateway ${listening.pid} to exit after SIGTERM to npx`);
  } finally {
    for (const p of procs) await p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
