import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../src/config/config.js';

test('defaults are the embedded setup of docs/protocol.md', () => {
  const c = loadConfig({});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8000);
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.brokerUrl, undefined);
  assert.equal(c.redisUrl, undefined);
  assert.equal(c.dataDir, './data');
  assert.equal(c.websocketEnabled, true);
  assert.equal(c.sseEnabled, true);
  assert.equal(c.maxConnections, 10_000);
  assert.equal(c.generatorIntervalMs, 1000);
  assert.ok(c.sseHeartbeatMs <= 15_000);
  assert.ok(Object.isFrozen(c));
});

test('values are parsed and empty strings count as unset', () => {
  const c = loadConfig({
    PORT: '9001',
    WEBSOCKET_ENABLED: 'false',
    SSE_ENABLED: '0',
    REDIS_URL: '',
    ALLOWED_ORIGINS: 'https://a.example, https://b.example',
  });
  assert.equal(c.port, 9001);
  assert.equal(c.websocketEnabled, false);
  assert.equal(c.sseEnabled, false);
  assert.equal(c.redisUrl, undefined);
  assert.deepEqual(c.allowedOrigins, ['https://a.example', 'https://b.example']);
});

test('a bad value fails with one message naming the variable and the value', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ BROKER_URL: 'http://x' }, 'BROKER_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ WEBSOCKET_ENABLED: 'maybe' }, 'WEBSOCKET_ENABLED'],
    [{ REALTIME_MAX_CONNECTIONS: '0' }, 'REALTIME_MAX_CONNECTIONS'],
    [{ GENERATOR_INTERVAL_MS: '-1' }, 'GENERATOR_INTERVAL_MS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ];
  for (const [env, variable] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.variable === variable &&
        err.message.includes(variable) &&
        !err.message.includes('\n'),
      JSON.stringify(env),
    );
  }
});
