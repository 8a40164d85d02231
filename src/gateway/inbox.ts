import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Component } from '../application.js';
import type { Hub } from '../hub/hub.js';
import { Acks, ACK_WINDOW } from '../ack/acks.js';
import { MemoryAckPositions, RedisAckPositions } from '../ack/positions.js';
import { Inboxes } from '../ack/inbox-delivery.js';
import { MemoryInbox } from '../ack/inbox-memory.js';
import { restoreInboxSnapshot, saveInboxSnapshot } from '../ack/inbox-snapshot.js';
import { RedisInbox } from '../ack/inbox-redis.js';
import { MemoryOnlineUsers, RedisOnlineUsers } from '../ack/online.js';

/**
 * Acknowledged subscriptions and the user inbox (src/ack/), wired into `hub`:
 * Redis-backed with REDIS_URL, in memory (snapshot kept across a graceful
 * restart) without. Returns the inboxes and the component that closes them.
 */
export function createInboxes(config: Config, hub: Hub, log: Logger): { inboxes: Inboxes; component: Component } {
  const inboxOptions = { max: config.inboxMax, ttlS: config.inboxTtlS };
  const inboxStore = config.redisUrl
    ? new RedisInbox(config.redisUrl, config.redisPrefix, inboxOptions)
    : new MemoryInbox(inboxOptions);
  const acks = (hub.acks = new Acks({
    timeoutMs: config.ackTimeoutMs,
    // An inbox is delivered as one subscription: the window holds a full one.
    window: Math.max(ACK_WINDOW, config.inboxMax),
    positions: config.redisUrl ? new RedisAckPositions(config.redisUrl, config.redisPrefix) : new MemoryAckPositions(),
    detach: (sub) => hub.removeConnection(sub),
    inbox: inboxStore,
    log: log.child({ component: 'acks' }),
  }));
  const inboxLog = log.child({ component: 'inbox' });
  const inboxes = new Inboxes(
    inboxStore,
    config.redisUrl ? new RedisOnlineUsers(config.redisUrl, config.redisPrefix, inboxLog) : new MemoryOnlineUsers(),
    acks,
    inboxLog,
  );
  hub.watcher = inboxes;
  const component: Component = {
    name: 'acks',
    ready: async () => true,
    close: async () => {
      acks.close();
      await acks.positions.close();
      if (inboxStore instanceof MemoryInbox) {
        await saveInboxSnapshot(config.dataDir, inboxStore).catch((err) =>
          log.warn({ err }, 'inbox snapshot not saved: what offline users had not acknowledged is lost'),
        );
      }
      await inboxes.close();
    },
    stats: () => ({ ...acks.stats(), ...inboxes.stats() }),
  };
  return { inboxes, component };
}

/** Embedded mode: what offline users had not acknowledged before the last graceful stop. */
export async function restoreInboxes(config: Config, inboxes: Inboxes, log: Logger): Promise<void> {
  if (!(inboxes.store instanceof MemoryInbox)) return;
  const kept = await restoreInboxSnapshot(config.dataDir, inboxes.store);
  if (kept > 0) log.info({ events: kept }, 'user inboxes restored from the last graceful shutdown');
}
