import { backoffDelay } from './backoff.js';
import { ClientError, ClientErrorCode, isRefusal } from './errors.js';
import type { EventFrame, TokenSource } from './types.js';
import { POLL_PATH } from './wire/paths.js';

/**
 * What a transport under the fallback client reports to it.
 * @internal
 */
export interface TransportSink {
  event(frame: EventFrame): void;
  recoveryFailed(channel: string, reason?: string): void;
  /** The transport gave up after its own retries: the fallback client tries the others. */
  lost(reason: string): void;
  /** The server refused the token (`unauthorized`) or the channels (`forbidden`): no other transport will do better. */
  refused(err: ClientError): void;
}

/** @internal */
export interface PollClientOptions {
  channels: string[];
  getToken: TokenSource;
  fetch?: typeof fetch;
  /** Seconds a poll is held by the server (`timeout=`). Default 25. */
  timeout: number;
  minReconnectDelay: number;
  maxReconnectDelay: number;
  /** Failed polls in a row before the transport counts as lost. */
  attempts: number;
  /** Time for the first poll to answer. */
  connectTimeout: number;
}

/**
 * Long polling for the fallback client: `GET /realtime/poll` from `since`,
 * each answer's `last_id` the next `since`, so every event comes once and in
 * order whatever happens between polls. Sends by `POST /realtime/poll`.
 * @internal
 */
export class PollClient {
  private since: string | null = null;
  private running = false;
  private abort: AbortController | null = null;
  private readonly base: string;

  constructor(
    url: string,
    private readonly options: PollClientOptions,
    private readonly sink: TransportSink,
  ) {
    this.base = pollUrl(url);
  }

  position(): string | null {
    return this.since;
  }

  /** The first poll (`timeout=0`) answered: resolves; the loop then holds polls until stop(). */
  async start(since: string | null): Promise<void> {
    this.since = since;
    this.running = true;
    await this.pollOnce(0, this.options.connectTimeout);
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.abort?.abort();
    this.abort = null;
  }

  publish(channel: string, message: unknown): Promise<{ id: string; delivered: number }> {
    return httpPublish(this.fetchFn(), this.base, this.options.getToken, channel, message);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        await this.pollOnce(this.options.timeout, this.options.timeout * 1000 + this.options.connectTimeout);
        failures = 0;
      } catch (err) {
        if (!this.running) return;
        if (isRefusal(err)) {
          this.running = false;
          this.sink.refused(err);
          return;
        }
        if (
          ++failures >= this.options.attempts ||
          (err instanceof ClientError && err.code !== ClientErrorCode.connectionLost)
        ) {
          this.running = false;
          this.sink.lost(`long polling failed: ${(err as Error).message}`);
          return;
        }
        await new Promise((r) =>
          setTimeout(r, backoffDelay(failures - 1, this.options.minReconnectDelay, this.options.maxReconnectDelay)),
        );
      }
    }
  }

  private async pollOnce(timeoutS: number, limitMs: number): Promise<void> {
    const url = new URL(this.base);
    url.searchParams.set('channels', this.options.channels.join(','));
    if (this.since !== null) url.searchParams.set('since', this.since);
    url.searchParams.set('timeout', String(timeoutS));
    const abort = new AbortController();
    this.abort = abort;
    // A proxy that buffers or swallows the answer must not hang the client.
    const timer = setTimeout(() => abort.abort(), limitMs);
    let res: Response;
    let body: {
      events?: EventFrame[];
      last_id?: string;
      recovery_failed?: boolean;
      channels?: string[];
      error?: { code: string; message: string };
    };
    try {
      res = await this.fetchFn()(url, {
        headers: authHeader(await this.options.getToken()),
        signal: abort.signal,
        cache: 'no-store',
      });
      body = await res.json();
    } catch (err) {
      throw new ClientError(ClientErrorCode.connectionLost, `poll failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    if (!this.running) return;
    if (res.status !== 200) {
      // 5xx and 429: an outage, retried; anything else will not change by asking again.
      const code =
        res.status >= 500 || res.status === 429
          ? ClientErrorCode.connectionLost
          : (body.error?.code ?? `http_${res.status}`);
      throw new ClientError(code as ClientErrorCode, `poll answered ${res.status}: ${body.error?.message ?? ''}`);
    }
    if (body.recovery_failed === true) for (const channel of body.channels ?? []) this.sink.recoveryFailed(channel);
    for (const e of body.events ?? []) this.sink.event(e);
    if (typeof body.last_id === 'string') this.since = body.last_id;
  }

  private fetchFn(): typeof fetch {
    const f = this.options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function')
      throw new ClientError(ClientErrorCode.noTransport, 'no fetch in this runtime; pass options.fetch');
    return f;
  }
}

/**
 * The gateway's long-poll (and HTTP send) endpoint, from any URL of the gateway.
 * @internal
 */
export function pollUrl(url: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  u.pathname = POLL_PATH;
  u.search = '';
  return u.toString();
}

function authHeader(token: string | null | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * `POST /realtime/poll` `{channel, message}`: a channel message without a WebSocket (SSE and long polling).
 * @internal
 */
export async function httpPublish(
  fetchFn: typeof fetch,
  pollUrl: string,
  getToken: TokenSource,
  channel: string,
  message: unknown,
): Promise<{ id: string; delivered: number }> {
  let res: Response;
  let body: { id: string; delivered: number; error?: { code: string; message: string } };
  try {
    res = await fetchFn(pollUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...authHeader(await getToken()),
      },
      body: JSON.stringify({ channel, message }),
    });
    body = await res.json();
  } catch (err) {
    throw new ClientError(ClientErrorCode.connectionLost, `publish to ${channel} failed: ${(err as Error).message}`);
  }
  if (res.status !== 200)
    throw new ClientError(
      (body.error?.code ?? ClientErrorCode.connectionLost) as ClientErrorCode,
      body.error?.message ?? `publish answered ${res.status}`,
    );
  return body;
}
