import type { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '../../codes.js';
import { HubcastError } from '../../errors.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Guard for the server API (`POST /realtime/*`): with API_KEY set, a matching
 * `Authorization: Bearer <key>`; without it, callers on loopback only.
 */
export function makeApiKeyGuard(apiKey: string | undefined) {
  const expected = apiKey ? Buffer.from(apiKey) : null;
  return async function apiKeyGuard(req: FastifyRequest): Promise<void> {
    if (expected === null) {
      const remote = req.raw.socket.remoteAddress ?? '';
      if (!LOOPBACK.has(remote) && !remote.startsWith('127.')) {
        throw new HubcastError(ErrorCode.forbidden, 'the server API is open on loopback only until API_KEY is set', 403);
      }
      return;
    }
    const header = req.headers.authorization ?? '';
    const match = /^bearer\s+(.+)$/i.exec(header);
    const given = match ? Buffer.from(match[1].trim()) : null;
    if (given === null || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new HubcastError(ErrorCode.unauthorized, 'a valid API key is required as Authorization: Bearer <key>', 401);
    }
  };
}
