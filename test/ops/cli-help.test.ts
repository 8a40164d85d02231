/**
 * What an operator types first: `hubcast --help` lists every command, each
 * command has its own help, `--version` answers, and unknown commands and
 * flags are refused with a hint (exit 2). No services: every run ends before
 * touching one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO_ROOT, childEnv } from '../helpers/processes.js';

const COMMANDS = ['start', 'gateway', 'generator', 'token', 'rebuild'];

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: childEnv({}), cwd: REPO_ROOT, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      },
    );
  });
}

test('hubcast --help lists every command; each command answers --help and -h', async () => {
  const top = await run('--help');
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${c}\\s{2,}\\S`, 'm'), `${c} in hubcast --help`);
  const helps = await Promise.all(COMMANDS.flatMap((c) => [run(c, '--help'), run(c, '-h')]));
  helps.forEach((h, i) => {
    const c = COMMANDS[Math.floor(i / 2)];
    assert.equal(h.code, 0, `${c} help exits 0: ${h.stderr}`);
    assert.match(h.stdout, new RegExp(`^usage: hubcast ${c}\\b`), `${c} help starts with its usage`);
  });
});

test('hubcast --version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-v']) {
    const r = await run(flag);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), version);
  }
});

test('unknown commands and flags are refused with a hint, exit 2', async () => {
  const [typo, flag, gatewayFlag, rebuildFlag, generatorFlag] = await Promise.all([
    run('gatewy'),
    run('--bogus'),
    run('gateway', '--bogus'),
    run('rebuild', '--bogus'),
    run('generator', '--bogus'),
  ]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown command "gatewy"; did you mean "gateway"\?/);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /unknown option "--bogus" \(see hubcast --help\)/);
  assert.equal(gatewayFlag.code, 2);
  assert.match(gatewayFlag.stderr, /unknown argument "--bogus" \(see hubcast gateway --help\)/);
  for (const [r, c] of [
    [rebuildFlag, 'rebuild'],
    [generatorFlag, 'generator'],
  ] as const) {
    assert.equal(r.code, 2, `${c} --bogus exits 2: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--bogus: unknown argument \\(usage: hubcast ${c}`));
  }
});
