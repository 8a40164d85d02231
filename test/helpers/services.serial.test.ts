// Stops and restarts the shared services: serial, so no other test file runs meanwhile.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { TestServicesError, restartService, serviceUrls, startService, stopService } from './services.js';

async function redisPid(): Promise<number | null> {
  const c = new Redis(serviceUrls().redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const info = await c.info('server');
    return Number(/process_id:(\d+)/.exec(info)![1]);
  } catch {
    return null; // refused: not running
  } finally {
    c.disconnect();
  }
}

async function postgresPid(): Promise<number> {
  const c = new pg.Client({ connectionString: serviceUrls().databaseUrl });
  await c.connect();
  try {
    return (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  } finally {
    await c.end();
  }
}

describe('shared service control', () => {
  it('stopService / startService / restartService redis', async () => {
    const before = await redisPid();
    assert.ok(before, 'redis runs before the test');

    await stopService('redis');
    assert.equal(await redisPid(), null);
    await stopService('redis'); // stopping a stopped service is a no-op

    await startService('redis');
    const started = await redisPid();
    assert.ok(started && started !== before);
    await startService('redis'); // reuses the running instance
    assert.equal(await redisPid(), started);

    await restartService('redis');
    const restarted = await redisPid();
    assert.ok(restarted && restarted !== started);
  });

  it('restartService postgres keeps the hubcast database', async () => {
    await postgresPid();
    await restartService('postgres');
    assert.ok((await postgresPid()) > 0);
  });

  it('restartService rabbitmq', async () => {
    await restartService('rabbitmq');
    const conn = await amqp.connect(serviceUrls().brokerUrl);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    assert.match(q.queue, /^amq\.gen-/);
    await conn.close();
  });

  it('reports a script failure as a coded error', async () => {
    await assert.rejects(
      // @ts-expect-error: an unknown service name reaches the script's own check
      startService('mysql'),
      (err: unknown) =>
        err instanceof TestServicesError &&
        err.code === 'service_script_failed' &&
        /unknown service 'mysql'/.test(err.message),
    );
  });
});
