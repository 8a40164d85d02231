import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../codes.js';
import type { OriginPolicy } from './cors.js';
import { sendError } from './reject.js';

/** What a plain-HTTP transport endpoint (SSE, long polling) accepts before its own checks. */
export interface EntryRules {
  readonly path: string;
  readonly enabled: boolean;
  /** The 404 `transport_disabled` message while `enabled` is false. */
  readonly disabledMessage: string;
  readonly methods: readonly string[];
  /** Request headers a browser's preflight may ask for. */
  readonly allowHeaders: string;
}

/** The CORS headers an answer to `origin` carries (none for an origin the policy does not name). */
export function corsHeaders(origins: OriginPolicy, origin: string | undefined): Record<string, string> {
  const allow = origins.allowOriginHeader(origin);
  if (allow === null) return {};
  return allow === '*'
    ? { 'Access-Control-Allow-Origin': '*' }
    : { 'Access-Control-Allow-Origin': allow, Vary: 'Origin' };
}

/**
 * The checks every plain-HTTP transport endpoint makes first, in this order:
 * switched off (404), a CORS preflight (204), a method it does not take (405),
 * a foreign origin (403). Returns the CORS headers for the rest of the
 * answer, or null when it has answered already.
 */
export function openEntry(
  req: IncomingMessage,
  res: ServerResponse,
  origins: OriginPolicy,
  rules: EntryRules,
): Record<string, string> | null {
  const origin = req.headers.origin;
  const cors = corsHeaders(origins, origin);
  if (!rules.enabled) {
    sendError(res, 404, ErrorCode.transportDisabled, rules.disabledMessage, cors);
    return null;
  }
  const methods = rules.methods.join(', ');
  if (req.method === 'OPTIONS') {
    res.writeHead(204, {
      ...cors,
      'Access-Control-Allow-Methods': methods,
      'Access-Control-Allow-Headers': rules.allowHeaders,
      'Access-Control-Max-Age': '600',
    });
    res.end();
    return null;
  }
  if (!rules.methods.includes(req.method ?? '')) {
    sendError(res, 405, ErrorCode.badRequest, `use ${rules.methods.join(' or ')} for ${rules.path}`, {
      ...cors,
      Allow: methods,
    });
    return null;
  }
  if (!origins.allows(origin)) {
    sendError(res, 403, ErrorCode.forbidden, `origin ${origin} is not allowed`);
    return null;
  }
  return cors;
}
