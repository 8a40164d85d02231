import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { TestWs } from '../helpers/ws-client.js';

/** Status of a refused WS upgrade, or 101 when it opened (the socket is closed again). */
export async function upgradeStatus(
  url: string,
  options: WebSocket.ClientOptions & { protocols?: string[] } = {},
): Promise<{ status: number; body: any }> {
  const ws = new WebSocket(url, options.protocols ?? [], options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: null });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // non-JSON refusal: returned as text for the assertion to show
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    ws.once('error', reject);
  });
}

/** Status and JSON error body of an SSE request that is expected to be refused (the stream is aborted if it opens). */
export async function sseStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; contentType: string | null }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const contentType = res.headers.get('content-type');
  if (res.status === 200) {
    controller.abort();
    return { status: 200, body: null, contentType };
  }
  return { status: res.status, body: await res.json(), contentType };
}

/**
 * A WHATWG EventSource with extra request headers (Authorization), recording
 * events of the given names, and the HTTP status of a failed connect.
 */
export class AuthSse {
  readonly es: EventSource;
  readonly events: Array<{ type: string; data: string; lastEventId: string }> = [];
  failedStatus: number | null = null;
  opened = false;

  constructor(url: string, names: string[], headers: Record<string, string> = {}) {
    this.es = new EventSource(url, {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
    });
    this.es.onopen = () => {
      this.opened = true;
    };
    this.es.onerror = (e) => {
      if (e.code !== undefined) this.failedStatus = e.code;
    };
    for (const name of names) {
      this.es.addEventListener(name, (e) => {
        const m = e as MessageEvent;
        this.events.push({ type: name, data: m.data, lastEventId: m.lastEventId });
      });
    }
  }

  async next(
    pred: (e: { type: string; data: string }) => boolean,
    timeoutMs = 5000,
  ): Promise<{ type: string; data: string; lastEventId: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching SSE event within ${timeoutMs} ms; got ${JSON.stringify(this.events.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.es.close();
  }
}

/** Open a WS and wait for its `connected` frame. */
export async function connectWs(
  url: string,
  options: WebSocket.ClientOptions & { protocols?: string[] } = {},
): Promise<{ ws: TestWs; connected: any }> {
  const ws = await TestWs.open(url, options);
  const connected = await ws.next((f) => f.type === 'connected');
  return { ws, connected };
}
