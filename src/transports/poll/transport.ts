import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../../codes.js';
import type { Hub, ReadResult } from '../../hub/hub.js';
import type { Publication } from '../../hub/publication.js';
import { BROADCAST_CHANNEL, userChannel } from '../../hub/channel-name.js';
import type { Authenticator } from '../../auth/tokens.js';
import { joinDenied } from '../../auth/permissions.js';
import type { OriginPolicy } from '../http/cors.js';
import { sendError } from '../http/reject.js';
import { openEntry } from '../http/entry.js';
import type { ConnectionGate } from '../connection-gate.js';
import { admit, unadmit } from '../admission.js';
import type { HandlerGuard } from '../guard.js';
import { TimerWheel } from './wheel.js';
import { kWaiter, onResponseClose, Waiter, type TaggedResponse } from './waiter.js';
import { parsePollQuery } from './query.js';
import { answerCount, collect, renderEventsBody, renderHeadLines } from './answer-body.js';
import { groupOf, type Group, type Shared } from './release-groups.js';
import { handlePollPublish } from './publish.js';
import { KeyedRateLimit } from '../../keyed-rate-limit.js';
import type { AppChannels } from '../../hub/app-channels.js';
import { renderWholeAnswer, wholeAnswerKeepAlive, writeWholeAnswer } from './whole-answer.js';

import { POLL_PATH } from '../../wire/index.js';
export { POLL_PATH };

export interface PollTransportOptions {
  enabled: boolean;
  /** Events in one answer at most; the client continues from its `last_id`. */
  maxEvents: number;
  channelsPerConnection: number;
  /** The channels applications own, and what a request naming none joins. */
  appChannels: AppChannels;
  /** Body limit of `POST /realtime/poll` (a client's channel message). */
  maxPublishBytes: number;
  /** `POST /realtime/poll` messages per second per user or client address, and the bucket; null: no limit. */
  publishRate: { perSecond: number; burst: number } | null;
}

/** Timeout resolution: a held poll is answered up to this much after its timeout. */
const TICK_MS = 100;

/**
 * Long polling, `GET /realtime/poll` (docs/protocol.md, "Long polling"): the
 * same hub, history, auth, origin policy and connection slots as SSE. An
 * answer lists each event as the WebSocket event object, framed once per
 * publication (the TCP line without its newline) and shared by every answer
 * that carries it.
 */
export class PollTransport {
  /** Answers sent, and polls refused 401. */
  answers = 0;
  authFailures = 0;
  /** `POST /realtime/poll` messages refused over the rate. */
  rateLimited = 0;
  /** How long the last release took (ms): from the first publication tapped to the last answer written. */
  lastReleaseMs = 0;
  /** When the tap scheduled the pending release pass (performance.now()). */
  private tappedAt = 0;
  /** Held waiters by channel name (`*` for broadcasts). */
  private readonly waiting = new Map<string, Set<Waiter>>();
  /** Publications the tap saw since the last release pass, by channel (only channels someone waits on). */
  private batch = new Map<string, Publication[]>();
  private releaseScheduled = false;
  private readonly wheel = new TimerWheel<Waiter>(TICK_MS, (w) => this.expire(w));
  private heldCount = 0;
  private readonly publishRate: KeyedRateLimit | null;
  private readonly onRateLimited = (): void => {
    this.rateLimited++;
  };

  constructor(
    private readonly hub: Hub,
    private readonly options: PollTransportOptions,
    private readonly auth: Authenticator,
    private readonly origins: OriginPolicy,
    private readonly gate: ConnectionGate,
    readonly guard: HandlerGuard,
  ) {
    if (options.enabled) hub.setPublicationTap((p) => this.tapped(p));
    const rate = options.publishRate;
    this.publishRate = rate !== null && rate.perSecond > 0 ? new KeyedRateLimit(rate.perSecond, rate.burst) : null;
  }

  /** Polls being held now. */
  get held(): number {
    return this.heldCount;
  }

  /**
   * GET /realtime/poll (called inside the guard). While held, the request's
   * socket holds a connection slot; the answer gives it back.
   */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const cors = openEntry(req, res, this.origins, {
      path: POLL_PATH,
      enabled: this.options.enabled,
      disabledMessage: 'long polling is disabled',
      methods: ['GET', 'POST'],
      allowHeaders: 'Authorization, Content-Type',
    });
    if (cors === null) return;
    if (req.method === 'POST') {
      const ctx = {
        hub: this.hub,
        auth: this.auth,
        appChannels: this.options.appChannels,
        maxBytes: this.options.maxPublishBytes,
        rate: this.publishRate,
        onRateLimited: this.onRateLimited,
      };
      return handlePollPublish(ctx, req, res, url, cors);
    }

    const query = parsePollQuery(
      url.searchParams,
      this.options.channelsPerConnection,
      this.options.appChannels.defaults,
    );
    if ('code' in query) return sendError(res, 400, query.code, query.message, cors);
    const { channels, since } = query;
    const admission = await admit(this.gate, this.auth, req, url);
    if (admission.refused) {
      if (admission.status === 401) this.authFailures++;
      return sendError(
        res,
        admission.status,
        admission.code,
        admission.message,
        admission.retryLater ? { ...cors, 'Retry-After': '5' } : cors,
      );
    }
    const { identity } = admission;
    for (const channel of channels) {
      const denied = joinDenied(identity, channel, this.options.appChannels);
      if (denied !== null) {
        unadmit(this.gate, req);
        return sendError(res, 403, ErrorCode.forbidden, denied, cors);
      }
    }
    // Gone while authentication ran: its close gave the slot back.
    if (req.socket.destroyed) return;
    const names = identity.userId !== null ? [...channels, userChannel(identity.userId)] : channels;
    // Shared unless CORS adds to them: a held poll keeps its headers until it is answered.
    const plain = Object.keys(cors).length === 0;
    const headers = plain ? ANSWER_HEADERS : { ...ANSWER_HEADERS, ...cors };
    const headLines = plain ? ANSWER_HEAD_LINES : renderHeadLines(headers);
    const w = new Waiter(
      this,
      req,
      res as TaggedResponse,
      names,
      names.join(','),
      since ?? this.hub.position,
      query.timeoutMs,
      headers,
      headLines,
    );
    w.res[kWaiter] = w;
    res.once('close', onResponseClose);
    if (w.timeoutMs > 0) this.hold(w);
    // Without `since`, only what comes after the request: nothing to read yet.
    if (since === null) {
      if (w.timeoutMs === 0) this.answerEmpty(w);
      return;
    }
    this.attempt(w);
  }

  /** Read history after `w.since`: answer with what is there, or keep it held. */
  private attempt(w: Waiter): void {
    const position = this.hub.position;
    const read = this.hub.eventsSince(w.names, w.since, true);
    if (!(read instanceof Promise)) return this.settle(w, read, position);
    w.reading = true;
    read.then(
      (r) => {
        w.reading = false;
        this.settle(w, r, position);
      },
      (err: unknown) => {
        w.reading = false;
        this.failed(w, err);
      },
    );
  }

  private settle(w: Waiter, r: ReadResult, position: number): void {
    if (w.done) return;
    try {
      if (r.failed.length > 0) return this.answerRecoveryFailed(w, r.failed);
      if (r.publications.length > 0) return this.answerEvents(w, r.publications, null);
      if (w.since < position) w.since = position;
      if (w.expired || w.timeoutMs === 0) return this.answerEmpty(w);
      if (w.again) {
        w.again = false;
        this.attempt(w);
      }
    } catch (err) {
      this.failed(w, err);
    }
  }

  private failed(w: Waiter, err: unknown): void {
    this.finish(w);
    this.guard.response('poll request', err, w.res, w.req);
  }

  private hold(w: Waiter): void {
    w.held = true;
    for (const name of w.names) this.listOf(name).add(w);
    this.listOf(BROADCAST_CHANNEL).add(w);
    this.wheel.add(w, w.timeoutMs);
    this.heldCount++;
  }

  private listOf(name: string): Set<Waiter> {
    let set = this.waiting.get(name);
    if (set === undefined) {
      set = new Set();
      this.waiting.set(name, set);
    }
    return set;
  }

  /** The hub kept a publication: collect it for the waiters on its channel, released on the next turn. */
  private tapped(p: Publication): void {
    if (!this.waiting.has(p.channel)) return;
    let list = this.batch.get(p.channel);
    if (list === undefined) {
      list = [];
      this.batch.set(p.channel, list);
    }
    list.push(p);
    if (!this.releaseScheduled) {
      this.releaseScheduled = true;
      this.tappedAt = performance.now();
      setImmediate(this.releaseBound);
    }
  }

  /**
   * Answer every held waiter on a channel that got publications this turn.
   * Waiters on the same channels with the same events share one answer, head
   * and body rendered once (see whole-answer.ts).
   */
  private readonly releaseBound = (): void => {
    this.releaseScheduled = false;
    const batch = this.batch;
    this.batch = new Map();
    const shared: Shared = { groups: new Map(), answered: [] };
    for (const name of batch.keys()) {
      const set = this.waiting.get(name);
      if (set === undefined) continue;
      for (const w of set) {
        if (w.done) continue;
        if (w.reading) {
          w.again = true;
          continue;
        }
        try {
          const group = groupOf(shared, w, batch);
          if (group.found.length > 0) this.answerEvents(w, group.found, shared, group);
        } catch (err) {
          this.failed(w, err);
        }
      }
    }
    this.lastReleaseMs = performance.now() - this.tappedAt;
    // Every answer is on its way: now the bookkeeping, which no client waits for.
    for (const w of shared.answered) {
      this.cleanup(w);
      if (w.res.headersSent && !w.res.writableEnded) w.res.end();
    }
  };

  /** Its timeout passed: answer what the tap collected for it this turn, else nothing. */
  private expire(w: Waiter): void {
    if (w.done) return;
    if (w.reading) {
      w.expired = true;
      return;
    }
    try {
      const found = collect(w.names, w.since, this.batch);
      if (found.length > 0) this.answerEvents(w, found);
      else this.answerEmpty(w);
    } catch (err) {
      this.failed(w, err);
    }
  }

  private answerEvents(
    w: Waiter,
    found: Publication[],
    shared: Shared | null = null,
    group: Group | null = null,
  ): void {
    let body = group?.body ?? null;
    if (body === null) {
      body = renderEventsBody(found, answerCount(found, this.options.maxEvents));
      if (group !== null) group.body = body;
    }
    this.answer(w, body, shared, group);
  }

  private answerEmpty(w: Waiter): void {
    this.answer(w, Buffer.from(`{"events":[],"last_id":"${Math.max(w.since, this.hub.position)}"}`));
  }

  /**
   * History no longer reaches `since` on some channels: the client reloads
   * their state and continues from `last_id` (what it missed is gone).
   */
  private answerRecoveryFailed(w: Waiter, failed: string[]): void {
    const lastId = String(Math.max(w.since, this.hub.position));
    this.answer(
      w,
      Buffer.from(JSON.stringify({ events: [], last_id: lastId, recovery_failed: true, channels: failed })),
    );
  }

  /** In a release pass (`shared`), polls of one `group` with the same headers and keep-alive get the same bytes. */
  private answer(w: Waiter, body: Buffer, shared: Shared | null = null, group: Group | null = null): void {
    if (w.done) return;
    w.done = true;
    if (shared !== null) shared.answered.push(w);
    else this.cleanup(w);
    this.answers++;
    const res = w.res;
    if (res.writableEnded || res.destroyed) return;
    const keepAliveS = wholeAnswerKeepAlive(res);
    if (keepAliveS < 0) {
      res.writeHead(200, { ...w.headers, 'Content-Length': String(body.length) });
      res.end(body);
      return;
    }
    let whole = group?.wholes.get(w.headLines);
    if (whole === undefined || whole.keepAliveS !== keepAliveS) {
      whole = renderWholeAnswer(body, w.headLines, keepAliveS);
      group?.wholes.set(w.headLines, whole);
    }
    writeWholeAnswer(res, whole);
    // In a release pass, ended after every answer is written.
    if (shared === null) res.end();
  }

  /** Out of every list, its slot given back. */
  private finish(w: Waiter): void {
    if (w.done) return;
    w.done = true;
    this.cleanup(w);
  }

  private cleanup(w: Waiter): void {
    w.res[kWaiter] = undefined;
    w.res.removeListener('close', onResponseClose);
    if (w.held) {
      w.held = false;
      this.wheel.remove(w);
      for (const name of w.names) this.unlist(name, w);
      this.unlist(BROADCAST_CHANNEL, w);
      this.heldCount--;
    }
    unadmit(this.gate, w.req);
  }

  private unlist(name: string, w: Waiter): void {
    const set = this.waiting.get(name);
    if (set === undefined) return;
    set.delete(w);
    if (set.size === 0) {
      this.waiting.delete(name);
      this.batch.delete(name);
    }
  }

  /** The client went away before its answer. */
  gone(w: Waiter): void {
    this.finish(w);
  }

  /** Answer every held poll now (shutdown): clients poll again, elsewhere, from their `last_id`. */
  closeAll(): void {
    const all = new Set<Waiter>();
    for (const set of this.waiting.values()) for (const w of set) all.add(w);
    for (const w of all) {
      try {
        this.answerEmpty(w);
      } catch (err) {
        this.failed(w, err);
      }
    }
    this.stop();
  }

  stop(): void {
    this.wheel.stop();
    this.hub.setPublicationTap(null);
  }
}

const ANSWER_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
});
const ANSWER_HEAD_LINES = renderHeadLines(ANSWER_HEADERS);
