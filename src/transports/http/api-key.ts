import type { FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';
import type { OriginPolicy } from './cors.js';

/** 127.0.0.0/8 and ::1, also as IPv4-mapped addresses on a dual-stack listener. */
const LOOPBACK_ADDRESS = /^(?:127\.|::ffff:127\.|::1$)/i;
/** `localhost`, `127.x.y.z` or `[::1]`, any port: the names a request to a loopback listener carries. */
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/i;
/** Headers a reverse proxy adds: a loopback peer sending one relays someone else's request. */
const RELAY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

export interface ServerApiAccess {
  /** API_KEY: when set, required as `Authorization: Bearer <key>` whatever the address. */
  apiKey?: string;
  /** API_OPEN: without a key, answer every address (not only loopback). */
  open: boolean;
  /** TRUST_PROXY: a reverse proxy relays requests, so a loopback peer proves nothing. */
  trustProxy: boolean;
  /** ALLOWED_ORIGINS: a request with an `Origin` must name a listed one (`*` lists none). */
  origins: OriginPolicy;
}

export type ServerApiGuard = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Guard for the server API (`POST /realtime/*`, uploads, presence; stats and
 * metrics with METRICS_PUBLIC=false), used as `onRequest` so a refused caller's
 * body is never read. In order:
 *
 * 1. A request with an `Origin` (a browser) is refused unless that origin is
 *    listed in ALLOWED_ORIGINS: multipart uploads and simple POSTs need no
 *    preflight, so CORS alone would not stop a page from sending them.
 * 2. With API_KEY set, the key is required, from any address.
 * 3. Without it, API_OPEN=true answers everyone; otherwise only a loopback
 *    peer that names a loopback `Host` (a DNS-rebound page names its own host),
 *    was not relayed by a proxy (no forwarding headers) and is not behind a
 *    configured one (TRUST_PROXY, where every request arrives from the proxy).
 */
export function makeServerApiGuard(access: ServerApiAccess): ServerApiGuard {
  const expected = access.apiKey ? Buffer.from(access.apiKey) : null;
  const { origins, open, trustProxy } = access;
  return async function serverApiGuard(req: FastifyRequest): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.lists(origin)) {
      throw new HubcastError(
        ErrorCode.originNotAllowed,
        `origin ${JSON.stringify(origin).slice(0, 140)} may not use the server API: list it in ALLOWED_ORIGINS (* does not count here)`,
        403,
      );
    }
    if (expected !== null) {
      const match = /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      const given = match ? Buffer.from(match[1].trim()) : null;
      if (given === null || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new HubcastError(
          ErrorCode.unauthorized,
          'a valid API key is required as Authorization: Bearer <key>',
          401,
        );
      }
      return;
    }
    if (open) return;
    const why = notLoopbackTrusted(req, trustProxy);
    if (why !== null) {
      throw new HubcastError(
        ErrorCode.forbidden,
        `without API_KEY the server API answers local callers only: ${why}`,
        403,
      );
    }
  };
}

/** Why this request does not count as a local caller, or null when it does. */
function notLoopbackTrusted(req: FastifyRequest, trustProxy: boolean): string | null {
  if (trustProxy) return 'behind a proxy (TRUST_PROXY) every request looks local, so set API_KEY';
  const remote = req.raw.socket.remoteAddress ?? '';
  if (!LOOPBACK_ADDRESS.test(remote)) return 'the request does not come from loopback';
  const host = req.headers.host;
  if (host === undefined || !LOOPBACK_HOST.test(host)) {
    return `Host ${JSON.stringify(host ?? '').slice(0, 140)} is not a loopback name (localhost, 127.x.x.x, [::1])`;
  }
  for (const h of RELAY_HEADERS) {
    if (req.headers[h] !== undefined) return `the request was relayed by a proxy (${h} header)`;
  }
  return null;
}
