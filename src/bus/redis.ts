import type { Redis } from 'ioredis';
import { ioredis } from '../lazy-deps.js';
import type { Logger } from '../logger.js';
import {
  EVERY_NODE,
  type BusBinary,
  type BusPublication,
  type ClusterBus,
  type DurableRecovery,
  type NodeTopic,
  type PublishOnce,
} from './bus.js';
import type { RetentionPolicy } from '../hub/retention.js';
import { PUBLISH_SCRIPT, type RedisWithScript } from './redis-publish-script.js';

export interface RedisBusOptions {
  nodeId: string;
  /** Key and channel namespace (tests use a unique one per run). */
  prefix?: string;
  /** Events kept per channel in durable history, by count and age. */
  retention: RetentionPolicy;
  /** Estimated bytes of durable history over all channels, cluster-wide (0 = no byte bound). */
  maxBytes?: number;
}

/** Body of a bus message and a history entry: everything but the id. */
interface Body {
  c: string;
  e: string;
  d: string;
  t: 0 | 1;
  at: number;
  n: string;
  /** Tally token (BusPublication.tally), only when asked for. */
  q?: string;
}

export class RedisBus implements ClusterBus {
  readonly nodeId: string;
  readonly clustered = true;
  private readonly pub: RedisWithScript;
  private readonly sub: Redis;
  private readonly prefix: string;
  private readonly busChannel: string;
  /** Binary messages go on a channel of their own: raw bytes, no id, no history. */
  private readonly binaryChannel: string;
  private readonly binaryChannelBytes: Buffer;
  /** Messages to one node: `<from>\n<to>\n<body>`, or `<from>\n<to>\n@<topic>\n<body>` (see sendToNode). */
  private readonly nodeChannel: string;
  private readonly nodeChannelBytes: Buffer;
  private readonly retention: RetentionPolicy;
  private readonly maxBytes: number;
  /** Highest id received from the bus: a sequence below it means Redis lost writes (see the script). */
  private seen = 0;
  private handlers: Array<(p: BusPublication) => void> = [];
  private binaryHandlers: Array<(b: BusBinary) => void> = [];
  private readonly nodeHandlers = new Map<NodeTopic, Array<(from: string, body: string) => void>>();
  private gapHandlers: Array<(resubscribed: Promise<void>) => void> = [];
  private subscribedOnce = false;
  private closed = false;

  constructor(
    url: string,
    private readonly log: Logger,
    options: RedisBusOptions,
  ) {
    this.nodeId = options.nodeId;
    this.prefix = options.prefix ?? 'hubcast:';
    this.busChannel = `${this.prefix}bus`;
    this.binaryChannel = `${this.prefix}bus:binary`;
    this.binaryChannelBytes = Buffer.from(this.binaryChannel);
    this.nodeChannel = `${this.prefix}bus:node`;
    this.nodeChannelBytes = Buffer.from(this.nodeChannel);
    this.retention = options.retention;
    this.maxBytes = options.maxBytes ?? 0;
    const common = {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (times: number) => Math.random() * Math.min(2000, 50 * 2 ** Math.min(times, 10)),
    };
    // CLIENT SETNAME takes no spaces; NODE_ID is validated, a default host name may not be.
    const name = `hubcast-${this.nodeId.replace(/[^\w.:-]/g, '_')}-bus`;
    // Named so `CLIENT LIST` tells an operator which node and role a connection is.
    this.pub = new (ioredis().Redis)(url, {
      ...common,
      enableOfflineQueue: false,
      connectionName: `${name}-pub`,
    }) as RedisWithScript;
    this.pub.defineCommand('hubcastPublish', { numberOfKeys: 7, lua: PUBLISH_SCRIPT });
    // Re-subscribing after a reconnect is done here (the 'ready' handler
    // below), not by ioredis: its own re-subscribe is fire-and-forget, so a
    // connection that drops again mid-way (or a close during it) becomes an
    // unhandled rejection that ends the process (ioredis PR #2187, not in
    // 6.0.0).
    this.sub = new (ioredis().Redis)(url, {
      ...common,
      enableOfflineQueue: true,
      autoResubscribe: false,
      connectionName: `${name}-sub`,
    });
    this.pub.on('error', (err: Error) => this.log.warn({ err: err.message }, 'redis bus (publish) connection error'));
    this.sub.on('error', (err: Error) => this.log.warn({ err: err.message }, 'redis bus (subscribe) connection error'));
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (channel.length === this.binaryChannelBytes.length && channel.equals(this.binaryChannelBytes))
        this.receiveBinary(message);
      else if (channel.length === this.nodeChannelBytes.length && channel.equals(this.nodeChannelBytes))
        this.receiveNode(message);
      else this.receive(message);
    });
    // After a reconnect this handler re-subscribes; messages published while
    // this node was away are lost to pub/sub, so the hub is told to stop
    // trusting what it knows locally and to catch up from history.
    this.sub.on('ready', () => {
      if (this.subscribedOnce) {
        this.log.warn('redis bus reconnected: catching up from durable history');
        // The hub holds live messages from now on, and reads history once
        // `resubscribed` settles: only then is the subscription confirmed (a
        // read before it would miss what is published until then) and the
        // publish connection, which history is read over, ready.
        const resubscribed = (async () => {
          await this.sub.subscribe(this.busChannel, this.binaryChannel, this.nodeChannel);
          if (this.pub.status !== 'ready') await new Promise((resolve) => this.pub.once('ready', resolve));
        })();
        // Handled here at once: a failure is followed by another reconnect
        // (hence another 'ready' and another attempt) or by close().
        resubscribed.catch((err: Error) => {
          if (!this.closed)
            this.log.warn({ err: err.message }, 'redis bus re-subscribe failed; retrying on the next reconnect');
        });
        for (const h of this.gapHandlers) h(resubscribed);
      }
      this.subscribedOnce = true;
    });
  }

  /** Connect both sides and subscribe; rejects if Redis is not reachable within `timeoutMs`. */
  async start(timeoutMs = 5000): Promise<void> {
    const ready = (r: Redis) =>
      r.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`redis not reachable within ${timeoutMs} ms`)), timeoutMs);
            r.once('ready', () => {
              clearTimeout(t);
              resolve();
            });
          });
    await Promise.all([ready(this.pub), ready(this.sub)]);
    await this.sub.subscribe(this.busChannel, this.binaryChannel, this.nodeChannel);
  }

  onPublication(handler: (p: BusPublication) => void): void {
    this.handlers.push(handler);
  }

  onBinary(handler: (b: BusBinary) => void): void {
    this.binaryHandlers.push(handler);
  }

  /** `<node>\n<channel>\n<payload>`: neither a node id nor a channel name can hold a newline. */
  async publishBinary(channel: string, payload: Buffer): Promise<void> {
    await this.pub.publish(this.binaryChannel, Buffer.concat([Buffer.from(`${this.nodeId}\n${channel}\n`), payload]));
  }

  /**
   * One pub/sub channel for every node-to-node message: every node receives
   * each and drops those not addressed to it (cheap: signals and the like are
   * rare next to publications, and no per-node subscription has to be kept).
   * A signal goes as before topics existed (its body is JSON, never starting
   * with `@`); any other topic is an `@<topic>` line before the body. Nodes of
   * the previous version, mid rolling upgrade, keep exchanging signals with
   * this one, and drop the rest (addressed to `*` or to a newer node) unread.
   */
  async sendToNode(to: string, body: string, topic: NodeTopic = 'signal'): Promise<void> {
    const head = `${this.nodeId}\n${to}\n`;
    await this.pub.publish(this.nodeChannel, topic === 'signal' ? head + body : `${head}@${topic}\n${body}`);
  }

  onNodeMessage(handler: (from: string, body: string) => void, topic: NodeTopic = 'signal'): void {
    const list = this.nodeHandlers.get(topic);
    if (list === undefined) this.nodeHandlers.set(topic, [handler]);
    else list.push(handler);
  }

  onGap(handler: (resubscribed: Promise<void>) => void): void {
    this.gapHandlers.push(handler);
  }

  async publish(
    channel: string,
    event: string,
    dataJson: string,
    text: boolean,
    once?: PublishOnce,
    tally?: string,
  ): Promise<number | null> {
    const body: Body = { c: channel, e: event, d: dataJson, t: text ? 1 : 0, at: Date.now(), n: this.nodeId };
    if (tally !== undefined) body.q = tally;
    const p = this.prefix;
    const now = Date.now();
    const keep = this.retention.for(channel);
    const id = await this.pub.hubcastPublish(
      `${p}seq`,
      `${p}epoch`,
      `${p}h:${channel}`,
      `${p}trimmed:${channel}`,
      `${p}once:${channel}`,
      `${p}order`,
      `${p}bytes`,
      String(now * 1000),
      keep.count,
      JSON.stringify(body),
      this.busChannel,
      once?.key ?? '',
      once?.version ?? 0,
      keep.maxAgeMs > 0 ? String((now - keep.maxAgeMs) * 1000) : '0',
      String(this.seen),
      this.maxBytes,
      channel,
      p,
    );
    return id === '' ? null : Number(id);
  }

  /** The newest id the cluster has handed out (0 before the first publication). */
  async currentId(): Promise<number> {
    return Number((await this.pub.get(`${this.prefix}seq`)) ?? 0);
  }

  /**
   * Publications on `channel` after `afterId`. Refused (`unknown_position`)
   * when the position is not in the current epoch — before it, or past the
   * sequence (Redis lost writes it had acknowledged) — and (`history_gap`)
   * when the stream was trimmed past it.
   */
  async since(channel: string, afterId: number): Promise<DurableRecovery> {
    const p = this.prefix;
    const [epochText, seqText, trimmedText, entries] = await Promise.all([
      this.pub.get(`${p}epoch`),
      this.pub.get(`${p}seq`),
      this.pub.get(`${p}trimmed:${channel}`),
      this.pub.xrange(`${p}h:${channel}`, `(${afterId}-0`, '+'),
    ]);
    if (epochText === null || seqText === null || afterId < Number(epochText) - 1 || afterId > Number(seqText)) {
      return { ok: false, reason: 'unknown_position' };
    }
    if (trimmedText !== null && Number(trimmedText) > afterId) return { ok: false, reason: 'history_gap' };
    const out: BusPublication[] = [];
    for (const [entryId, fields] of entries) {
      const id = Number(entryId.slice(0, entryId.indexOf('-')));
      const body = JSON.parse(fields[1]) as Body;
      out.push({
        id,
        channel: body.c,
        event: body.e,
        dataJson: body.d,
        text: body.t === 1,
        publishedAt: body.at,
        node: body.n,
      });
    }
    return { ok: true, entries: out };
  }

  isReady(): boolean {
    // Checked against `closed` too: ioredis reports the end of a disconnect a tick later.
    return !this.closed && this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sub.disconnect();
    this.pub.disconnect();
  }

  private receiveBinary(message: Buffer): void {
    const afterNode = message.indexOf(0x0a);
    const afterChannel = afterNode < 0 ? -1 : message.indexOf(0x0a, afterNode + 1);
    if (afterChannel < 0) {
      this.log.error('malformed binary bus message dropped');
      return;
    }
    const b: BusBinary = {
      node: message.toString('utf8', 0, afterNode),
      channel: message.toString('utf8', afterNode + 1, afterChannel),
      payload: message.subarray(afterChannel + 1),
    };
    for (const h of this.binaryHandlers) h(b);
  }

  private receiveNode(message: Buffer): void {
    const afterFrom = message.indexOf(0x0a);
    const afterTo = afterFrom < 0 ? -1 : message.indexOf(0x0a, afterFrom + 1);
    if (afterTo < 0) {
      this.log.error('malformed node bus message dropped');
      return;
    }
    const to = message.toString('utf8', afterFrom + 1, afterTo);
    if (to !== this.nodeId && to !== EVERY_NODE) return;
    const from = message.toString('utf8', 0, afterFrom);
    if (from === this.nodeId) return;
    let topic: NodeTopic = 'signal';
    let bodyAt = afterTo + 1;
    if (message[bodyAt] === 0x40) {
      const afterTopic = message.indexOf(0x0a, bodyAt);
      if (afterTopic < 0) {
        this.log.error('malformed node bus message dropped');
        return;
      }
      topic = message.toString('latin1', bodyAt + 1, afterTopic) as NodeTopic;
      bodyAt = afterTopic + 1;
    }
    const handlers = this.nodeHandlers.get(topic);
    if (handlers === undefined) return;
    const body = message.toString('utf8', bodyAt);
    for (const h of handlers) h(from, body);
  }

  private receive(message: Buffer): void {
    const space = message.indexOf(0x20);
    if (space <= 0) return;
    const id = Number(message.toString('latin1', 0, space));
    if (id > this.seen) this.seen = id;
    let body: Body;
    try {
      body = JSON.parse(message.toString('utf8', space + 1)) as Body;
    } catch (err) {
      this.log.error({ err }, 'malformed bus message dropped');
      return;
    }
    const p: BusPublication = {
      id,
      channel: body.c,
      event: body.e,
      dataJson: body.d,
      text: body.t === 1,
      publishedAt: body.at,
      node: body.n,
      tally: body.q,
    };
    for (const h of this.handlers) h(p);
  }
}
