import * as amqp from 'amqplib';
import { DEAD_LETTER_QUEUE, DeadLetterHeader } from '../../src/broker/broker.js';
import { rabbitmqApi } from '../helpers/services.js';
import type { DeadLetterView } from './broker-suite.js';

/**
 * Operator actions on the test RabbitMQ through its management HTTP API
 * (what `rabbitmqctl` would do), for tests that break connections on purpose.
 */
async function mgmt(path: string, method = 'GET'): Promise<Response> {
  return rabbitmqApi(path, { method });
}

export function vhostOf(amqpUrl: string): string {
  return decodeURIComponent(new URL(amqpUrl).pathname.slice(1)) || '/';
}

/** Names of the client connections open on a vhost right now. */
export async function connectionsOn(vhost: string): Promise<string[]> {
  const r = await mgmt(`/api/vhosts/${encodeURIComponent(vhost)}/connections`);
  if (!r.ok) throw new Error(`listing connections of ${vhost}: HTTP ${r.status}`);
  return ((await r.json()) as Array<{ name: string }>).map((c) => c.name);
}

/** Force-close every connection on a vhost, as an operator (or a broker restart) would. */
export async function closeConnections(vhost: string): Promise<number> {
  const names = await connectionsOn(vhost);
  for (const name of names) {
    const r = await mgmt(`/api/connections/${encodeURIComponent(name)}`, 'DELETE');
    if (!r.ok && r.status !== 404) throw new Error(`closing connection ${name}: HTTP ${r.status}`);
  }
  return names.length;
}

export async function deleteVhost(vhost: string): Promise<void> {
  const r = await mgmt(`/api/vhosts/${encodeURIComponent(vhost)}`, 'DELETE');
  if (!r.ok && r.status !== 404) throw new Error(`deleting vhost ${vhost}: HTTP ${r.status}`);
}

/**
 * Read `catalog.dead` without consuming it: get every message unacked, then
 * close the channel so RabbitMQ puts them all back.
 */
export async function peekDeadLetters(amqpUrl: string): Promise<DeadLetterView[]> {
  const conn = await amqp.connect(amqpUrl);
  try {
    const ch = await conn.createChannel();
    const out: DeadLetterView[] = [];
    for (;;) {
      const msg = await ch.get(DEAD_LETTER_QUEUE, { noAck: false });
      if (msg === false) break;
      const h = msg.properties.headers ?? {};
      out.push({
        body: msg.content.toString(),
        reason: String(h[DeadLetterHeader.reason]),
        routingKey: String(h[DeadLetterHeader.routingKey]),
        deadLetteredAt: String(h[DeadLetterHeader.deadLetteredAt]),
      });
    }
    await ch.close();
    return out;
  } finally {
    await conn.close();
  }
}
