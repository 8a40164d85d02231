/**
 * Logs: readable lines on a terminal (the real CLI under `script`, which gives
 * it a pseudo-terminal), JSON through a pipe; LOG_FORMAT forces either;
 * LOG_LEVELS sets levels per component.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { childEnv, CLI } from '../helpers/processes.js';

const ANSI = /\u001b\[[0-9;]*m/g;
const PRETTY = /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /;

function sink(isTTY: boolean): { stream: Writable & { isTTY: boolean }; lines: string[] } {
  const lines: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, lines };
}

test('auto: pretty on a terminal, JSON otherwise; LOG_FORMAT forces either', () => {
  const tty = sink(true);
  createLogger('info', 'hubcast', { stream: tty.stream })
    .child({ component: 'ws' })
    .info({ channel: 'products', n: 3, err: new Error('boom\nsecond') }, 'joined');
  assert.equal(tty.lines.length, 1);
  const plain = tty.lines[0].replace(ANSI, '');
  assert.match(plain, PRETTY);
  assert.match(plain, / \[ws\] joined channel=products n=3 err="Error: boom\\nsecond"$/);

  const pipe = sink(false);
  createLogger('info', 'hubcast', { stream: pipe.stream }).info({ a: 1 }, 'hello');
  assert.equal(JSON.parse(pipe.lines[0]).msg, 'hello');

  const forcedJson = sink(true);
  createLogger('info', 'hubcast', { stream: forcedJson.stream, format: 'json' }).info('x');
  assert.equal(JSON.parse(forcedJson.lines[0]).msg, 'x');

  const forcedPretty = sink(false);
  createLogger('info', 'hubcast', { stream: forcedPretty.stream, format: 'pretty' }).warn('y');
  assert.match(forcedPretty.lines[0], PRETTY, 'no colour codes off a terminal');
  assert.doesNotMatch(forcedPretty.lines[0], ANSI);
});

test('LOG_LEVELS: per-component levels over LOG_LEVEL', () => {
  const config = loadConfig({ LOG_LEVELS: 'ws=debug, http=error' });
  assert.deepEqual(config.logLevels, { ws: 'debug', http: 'error' });
  assert.throws(
    () => loadConfig({ LOG_LEVELS: 'ws:debug' }),
    (e: unknown) => e instanceof ConfigError && /LOG_LEVELS/.test(e.message),
  );
  assert.throws(
    () => loadConfig({ LOG_FORMAT: 'fancy' }),
    (e: unknown) => e instanceof ConfigError && /LOG_FORMAT/.test(e.message),
  );
  const out = sink(false);
  const log = createLogger('info', 'hubcast', { stream: out.stream, levels: config.logLevels });
  log.child({ component: 'ws' }).debug('ws debug');
  log.child({ component: 'http' }).warn('http warn');
  log.child({ component: 'http' }).error('http error');
  log.child({ component: 'bus' }).debug('bus debug');
  log.child({ component: 'bus' }).info('bus info');
  assert.deepEqual(
    out.lines.map((l) => JSON.parse(l).msg),
    ['ws debug', 'http error', 'bus info'],
  );
});

/** Run the real CLI until its `listening` line; `tty` puts it under a pseudo-terminal. */
async function listeningLine(tty: boolean, env: Record<string, string> = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-logs-'));
  const childenv = childEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: join(dir, 'data'),
    LOG_LEVEL: 'info',
    NO_COLOR: '',
    ...env,
  });
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} gateway`;
  const child = tty
    ? spawn('script', ['-qfec', cmd, '/dev/null'], {
        cwd: dir,
        env: childenv,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      })
    : spawn(process.execPath, [CLI, 'gateway'], {
        cwd: dir,
        env: childenv,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
  let text = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 60 s:\n${text}`)), 60_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const line = text.split(/\r?\n/).find((l) => l.includes('hubcast gateway listening'));
        if (line !== undefined) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited ${code}:\n${text}`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      // The whole group: `script` and the gateway under it.
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the CLI: readable coloured lines on a terminal, JSON lines through a pipe', async () => {
  const [onTty, piped] = await Promise.all([listeningLine(true), listeningLine(false)]);
  console.log(`tty: ${JSON.stringify(onTty)}\npipe: ${piped.slice(0, 100)}…`);
  assert.match(onTty, ANSI, 'coloured on a terminal');
  assert.match(
    onTty.replace(ANSI, ''),
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}hubcast gateway listening mode=gateway url=http:\/\/127\.0\.0\.1:\d+/,
  );
  const json = JSON.parse(piped) as { msg: string; level: number; mode: string };
  assert.equal(json.msg, 'hubcast gateway listening');
  assert.equal(json.mode, 'gateway');
});
