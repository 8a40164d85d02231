import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerErrorCode } from '../../src/broker/errors.js';
import {
  backoffDelay,
  explainConnectError,
  isMisconfiguration,
  redactUrl,
  withDefaultHeartbeat,
} from '../../src/broker/rabbitmq-util.js';
import { Waiters } from '../../src/broker/waiters.js';

describe('rabbitmq helpers', () => {
  it('backoffDelay stays within [50 ms, min(max, initial·2^(n-1))]', () => {
    for (let attempt = 1; attempt < 40; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, 200, 5000);
        assert.ok(d >= 50 && d <= Math.min(5000, 200 * 2 ** (attempt - 1)), `attempt ${attempt}: ${d}`);
      }
    }
  });

  it('redactUrl hides the password only', () => {
    assert.equal(redactUrl('amqp://user:secret@host:5672/vh'), 'amqp://user:***@host:5672/vh');
    assert.equal(redactUrl('amqp://host'), 'amqp://host');
  });

  it('withDefaultHeartbeat adds one unless the URL has its own', () => {
    assert.equal(new URL(withDefaultHeartbeat('amqp://h/v', 10)).searchParams.get('heartbeat'), '10');
    assert.equal(new URL(withDefaultHeartbeat('amqp://h/v?heartbeat=30', 10)).searchParams.get('heartbeat'), '30');
  });

  it('tells misconfiguration from unavailability', () => {
    assert.equal(
      isMisconfiguration(
        new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED"'),
      ),
      true,
    );
    assert.equal(isMisconfiguration(new Error('Expected ConnectionOpenOk; got <ConnectionClose channel:0>')), true);
    assert.equal(isMisconfiguration(new Error('Channel closed by server: 406 (PRECONDITION-FAILED)')), true);
    assert.equal(isMisconfiguration(new Error('connect ECONNREFUSED 127.0.0.1:5672')), false);
    assert.equal(isMisconfiguration(new Error('Socket closed abruptly during opening handshake')), false);
    assert.match(
      explainConnectError('Expected ConnectionOpenOk; got <ConnectionClose channel:0>'),
      /vhost does not exist/,
    );
  });
});

describe('Waiters', () => {
  it('releases waiters in arrival order', async () => {
    const w = new Waiters<string>(10);
    const order: number[] = [];
    const all = [1, 2, 3].map((n) => w.wait(1000, () => new Error('late')).then(() => order.push(n)));
    w.resolveAll('ok');
    await Promise.all(all);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(w.size, 0);
  });

  it('times a waiter out with the given error', async () => {
    const w = new Waiters<string>(10);
    await assert.rejects(
      w.wait(10, () => new Error('gave up')),
      /gave up/,
    );
    assert.equal(w.size, 0);
  });

  it('refuses waiters past its bound', async () => {
    const w = new Waiters<string>(1);
    const first = w.wait(1000, () => new Error('late'));
    await assert.rejects(
      w.wait(1000, () => new Error('late')),
      { code: BrokerErrorCode.overloaded },
    );
    w.rejectAll(new Error('closed'));
    await assert.rejects(first, /closed/);
  });
});
