import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError, loadConfig, type Config } from '../../src/config/config.js';
import { envSchema } from '../../src/config/schema.js';
import { SEED, cases, debug, outOfTime } from './harness.js';

// Hostile environment values through loadConfig (docs/protocol.md: bad configuration
// fails at start with one clear line naming the variable). Every outcome is a
// frozen Config or a ConfigError naming a variable that was set, in one line
// of bounded length, never any other exception. Variables with a simple rule
// are checked against an independent model of it: accepted exactly when the
// rule says so, and parsed to the value it says.

type Rule =
  | { kind: 'int'; min: number; max: number; field: keyof Config }
  | { kind: 'bool'; field: keyof Config }
  | { kind: 'url'; protocols: string[]; field: keyof Config }
  | { kind: 'enum'; values: string[] }
  | { kind: 'name' }
  | { kind: 'nonblank' }
  | { kind: 'secret' }
  | { kind: 'any' };

const MiB = 1024 * 1024;
const RULES: Record<string, Rule> = {
  PORT: { kind: 'int', min: 0, max: 65535, field: 'port' },
  REALTIME_MAX_CONNECTIONS: { kind: 'int', min: 1, max: 1_000_000, field: 'maxConnections' },
  REALTIME_MAX_CONNECTIONS_PER_IP: { kind: 'int', min: 0, max: 1_000_000, field: 'maxConnectionsPerIp' },
  WS_RATE_LIMIT: { kind: 'int', min: 0, max: 1_000_000, field: 'wsRateLimit' },
  WS_RATE_BURST: { kind: 'int', min: 1, max: 1_000_000, field: 'wsRateBurst' },
  WS_RATE_LIMIT_BYTES: { kind: 'int', min: 0, max: 1024 * MiB, field: 'wsRateLimitBytes' },
  WS_RATE_BURST_BYTES: { kind: 'int', min: 1, max: 1024 * MiB, field: 'wsRateBurstBytes' },
  WEBRTC_SIGNAL_MAX_BYTES: { kind: 'int', min: 256, max: 64 * MiB, field: 'webrtcSignalMaxBytes' },
  WEBRTC_SIGNAL_RATE: { kind: 'int', min: 0, max: 1_000_000, field: 'webrtcSignalRate' },
  WEBRTC_SIGNAL_BURST: { kind: 'int', min: 1, max: 1_000_000, field: 'webrtcSignalBurst' },
  GENERATOR_INTERVAL_MS: { kind: 'int', min: 1, max: 86_400_000, field: 'generatorIntervalMs' },
  HISTORY_SIZE: { kind: 'int', min: 0, max: 1_000_000, field: 'historySize' },
  HISTORY_MAX_AGE_MS: { kind: 'int', min: 0, max: 30 * 86_400_000, field: 'historyMaxAgeMs' },
  HISTORY_MAX_BYTES: { kind: 'int', min: 0, max: 64 * 1024 * MiB, field: 'historyMaxBytes' },
  WS_MAX_FRAME_BYTES: { kind: 'int', min: 64, max: 64 * MiB, field: 'wsMaxFrameBytes' },
  CLIENT_BUFFER_BYTES: { kind: 'int', min: 1024, max: 1024 * MiB, field: 'clientBufferBytes' },
  WS_PING_INTERVAL_MS: { kind: 'int', min: 100, max: 600_000, field: 'wsPingIntervalMs' },
  SSE_HEARTBEAT_MS: { kind: 'int', min: 100, max: 600_000, field: 'sseHeartbeatMs' },
  SSE_RETRY_MS: { kind: 'int', min: 0, max: 600_000, field: 'sseRetryMs' },
  MAX_BODY_BYTES: { kind: 'int', min: 1024, max: 64 * MiB, field: 'maxBodyBytes' },
  UPLOAD_MAX_BYTES: { kind: 'int', min: 1024, max: 1024 * MiB, field: 'uploadMaxBytes' },
  CHANNELS_PER_CONNECTION: { kind: 'int', min: 1, max: 100_000, field: 'channelsPerConnection' },
  SHUTDOWN_TIMEOUT_MS: { kind: 'int', min: 100, max: 60_000, field: 'shutdownTimeoutMs' },
  WEBSOCKET_ENABLED: { kind: 'bool', field: 'websocketEnabled' },
  SSE_ENABLED: { kind: 'bool', field: 'sseEnabled' },
  AUTH_ANONYMOUS: { kind: 'bool', field: 'authAnonymous' },
  DATABASE_URL: { kind: 'url', protocols: ['postgres:', 'postgresql:'], field: 'databaseUrl' },
  BROKER_URL: { kind: 'url', protocols: ['amqp:', 'amqps:'], field: 'brokerUrl' },
  REDIS_URL: { kind: 'url', protocols: ['redis:', 'rediss:'], field: 'redisUrl' },
  LOG_LEVEL: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  NODE_ID: { kind: 'name' },
  REDIS_PREFIX: { kind: 'name' },
  HOST: { kind: 'nonblank' },
  DATA_DIR: { kind: 'nonblank' },
  JWT_SECRET: { kind: 'secret' },
  API_KEY: { kind: 'any' },
  ALLOWED_ORIGINS: { kind: 'any' },
};

/** What the rule says of one value: accepted (with the parsed value where the rule fixes it) or refused. */
function model(rule: Rule, value: string): { ok: boolean; parsed?: unknown } {
  const t = value.trim();
  switch (rule.kind) {
    case 'int': {
      if (!/^[0-9]+$/.test(t)) return { ok: false };
      const n = Number(t);
      return n >= rule.min && n <= rule.max ? { ok: true, parsed: n } : { ok: false };
    }
    case 'bool': {
      const v = t.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return { ok: true, parsed: true };
      if (['false', '0', 'no', 'off'].includes(v)) return { ok: true, parsed: false };
      return { ok: false };
    }
    case 'url': {
      let protocol: string;
      try {
        protocol = new URL(t).protocol;
      } catch {
        return { ok: false }; // not a URL at all: the model's answer
      }
      return rule.protocols.includes(protocol) ? { ok: true } : { ok: false };
    }
    case 'enum':
      return { ok: rule.values.includes(value) };
    case 'name':
      return { ok: /^[A-Za-z0-9_.:-]{1,64}$/.test(t) };
    case 'nonblank':
      return { ok: t !== '' };
    case 'secret':
      return { ok: Buffer.byteLength(value) >= 32 };
    case 'any':
      return { ok: true };
  }
}

const VARIABLES = Object.keys(envSchema.shape);

function keyFiles(dir: string): string[] {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const files: Array<[string, string]> = [
    ['rsa.pub.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string],
    ['ec.key.pem', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['garbage.pem', '-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n'],
    ['empty', ''],
    ['binary', '\u0000\u0001\u00ff'.repeat(100)],
    ['jwks.json', JSON.stringify({ keys: [ec.publicKey.export({ format: 'jwk' })] })],
    ['secret-jwks.json', JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] })],
    ['private-jwks.json', JSON.stringify({ keys: [ec.privateKey.export({ format: 'jwk' })] })],
    ['bad.json', '{"keys": ['],
    ['nokeys.json', '{"keys": []}'],
    ['proto.json', '{"__proto__": {"keys": [{"kty": "EC"}]}}'],
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'a-directory'));
  return [
    ...files.map(([name]) => join(dir, name)),
    join(dir, 'a-directory'),
    join(dir, 'missing.pem'),
    `${join(dir, 'rsa.pub.pem')}\n`,
    `${join(dir, 'missing')}\nsecond line`,
    (rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string).replace(/\n/g, '\\n'),
    '-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----',
    '-----BEGIN',
  ];
}

function valueArb(paths: string[]) {
  const digits = fc.stringMatching(/^[0-9]{1,22}$/);
  return fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: -10, max: 2 ** 37 }).map(String) },
    { weight: 2, arbitrary: digits },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom('', ' ', '\t', '\n', '\u00a0', '\ufeff', '\u2003'),
          fc.integer({ min: 0, max: 70000 }),
          fc.constantFrom('', ' ', '\r\n', '\u3000'),
        )
        .map(([a, n, b]) => `${a}${n}${b}`),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '0',
        '-0',
        '+1',
        '1.0',
        '1e3',
        '0x10',
        '0b1',
        '1_000',
        'NaN',
        'Infinity',
        '-1',
        '00000000000000000000001',
        '１２３',
        '٣',
        '9'.repeat(400),
        'true',
        'TRUE',
        ' yes ',
        'On',
        'off',
        'no',
        'y',
        'enabled',
        'ｔｒｕｅ',
        'tru\u0000e',
        'info',
        'INFO',
        ' debug',
        'silent',
        'trace\n',
        'loud',
        'postgres://u:p@localhost:5432/db',
        'postgresql://[::1]/x',
        'postgres:',
        'postgres://%zz',
        'mysql://x',
        'amqp://guest:guest@127.0.0.1',
        'amqps://h',
        'AMQP://H',
        'redis://127.0.0.1:6379/0',
        'rediss://h',
        'redis://h:99999',
        'http://example.com',
        '//x',
        'redis',
        'javascript:alert(1)',
        'hubcast:',
        'node-1',
        'a'.repeat(64),
        'a'.repeat(65),
        'bad id',
        'ünïcode',
        '*',
        'https://a.example, https://b.example',
        ',,,',
        'null',
        'undefined',
        '{}',
        '[]',
        '__proto__',
        'constructor',
        '\u0000',
        '\n',
        '\r\n',
        ' ',
        '\t',
        '\u202e',
        '\ud800',
        '$(reboot)',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell-style reference the config must take literally.
        '${HOME}',
        '%s%n',
        '../../../../etc/passwd',
        '/dev/null',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.webUrl({ validSchemes: ['http', 'https', 'postgres', 'amqp', 'redis', 'rediss', 'ftp'] }),
    },
    { weight: 1, arbitrary: fc.constantFrom(...paths) },
    { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(100_000), `${'1'.repeat(50_000)}`, 'a\n'.repeat(1000)) },
  );
}

/** The result of loadConfig, or what it threw. */
function attempt(env: Record<string, string>): { config: Config } | { error: unknown } {
  try {
    return { config: loadConfig(env) };
  } catch (error) {
    return { error };
  }
}

test('hostile env values: a frozen Config or a ConfigError naming a set variable in one short line, never anything else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hubcast-env-fuzz-'));
  try {
    const values = valueArb(keyFiles(dir));
    const single = fc.tuple(fc.constantFrom(...VARIABLES), values);
    const several = fc.dictionary(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...VARIABLES) },
        { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
      ),
      values,
      { maxKeys: 6 },
    );
    const total = cases(3000, 100_000);
    const started = Date.now();
    const problems: string[] = [];
    const show = (env: Record<string, string>) =>
      JSON.stringify(env, (_k, v) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v));
    let done = 0;
    let refused = 0;
    const BATCH = 500;
    for (let batch = 0; done < total && !outOfTime(started); batch++) {
      const n = Math.min(BATCH, total - done);
      const samples = fc.sample(fc.oneof(single, several), { seed: SEED + batch * 104_729, numRuns: n });
      for (const sample of samples) {
        done++;
        const env: Record<string, string> = Array.isArray(sample)
          ? { [sample[0]]: sample[1] }
          : (sample as Record<string, string>);
        const r = attempt(env);
        if ('error' in r) {
          refused++;
          const e = r.error;
          if (!(e instanceof ConfigError)) {
            problems.push(`${show(env)} → ${(e as Error)?.name}: ${String((e as Error)?.message).slice(0, 200)}`);
            continue;
          }
          const set = Object.keys(env).filter((k) => VARIABLES.includes(k) && env[k] !== '');
          if (!set.includes(e.variable)) problems.push(`${show(env)} → names ${e.variable}, which was not set`);
          if (!e.message.includes(e.variable)) problems.push(`${show(env)} → message does not name ${e.variable}`);
          if (/[\r\n\u2028\u2029]/.test(e.message))
            problems.push(`${show(env)} → more than one line: ${JSON.stringify(e.message.slice(0, 300))}`);
          if (e.message.length > 1000) problems.push(`${show(env)} → a ${e.message.length}-character line`);
        } else if (!Object.isFrozen(r.config)) {
          problems.push(`${show(env)} → a config that is not frozen`);
        }
        if (Array.isArray(sample)) {
          const [variable, value] = sample as [string, string];
          const rule = RULES[variable];
          if (rule === undefined || value === '') continue;
          const want = model(rule, value);
          const refusedHere = 'error' in r && r.error instanceof ConfigError && r.error.variable === variable;
          if (want.ok && 'error' in r)
            problems.push(`${show(env)} → refused, the rule accepts it: ${(r.error as Error).message.slice(0, 200)}`);
          if (!want.ok && !refusedHere) problems.push(`${show(env)} → accepted, the rule refuses it`);
          if (
            want.ok &&
            'config' in r &&
            want.parsed !== undefined &&
            'field' in rule &&
            r.config[rule.field] !== want.parsed
          ) {
            problems.push(
              `${show(env)} → ${String(rule.field)} = ${JSON.stringify(r.config[rule.field])}, the rule says ${JSON.stringify(want.parsed)}`,
            );
          }
        }
        if (problems.length > 20) break;
      }
      debug(`env batch ${batch}: ${done} cases, ${refused} refused`);
      if (problems.length > 20) break;
    }
    assert.deepEqual(problems, [], `seed ${SEED}`);
    console.log(
      `[fuzz env-values] seed=${SEED} cases=${done} in ${Date.now() - started} ms: ${refused} refused with ConfigError, ${done - refused} accepted`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
