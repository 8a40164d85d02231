import type { FastifyInstance } from 'fastify';
import { EVENTS_LIMIT_DEFAULT, EVENTS_LIMIT_MAX, type EventLog } from './event-log.js';
import { badRequest } from '../../errors.js';

export interface EventLogRoutesOptions {
  log: EventLog;
  /** `:id` as routes.ts parses it, so both answer the same error for a bad id. */
  parseId: (raw: string) => number;
}

type Query = Record<string, string | string[] | undefined>;

/**
 * `GET /api/products/:id/events` and the catalog-wide feed `GET /api/events`
 * (docs/protocol.md, "The event log"). Registered inside `catalogRoutes`, so
 * errors answer its `{"error": {"code", "message"}}` shape.
 */
export async function eventLogRoutes(app: FastifyInstance, options: EventLogRoutesOptions): Promise<void> {
  const { log, parseId } = options;

  app.get<{ Params: { id: string }; Querystring: Query }>('/api/products/:id/events', async (request) => {
    const id = parseId(request.params.id);
    const afterVersion = intParam(request.query, 'after_version', 0, Number.MAX_SAFE_INTEGER, 0);
    const limit = intParam(request.query, 'limit', 1, EVENTS_LIMIT_MAX, EVENTS_LIMIT_DEFAULT);
    return { events: await log.productEvents(id, afterVersion, limit) };
  });

  app.get<{ Querystring: Query }>('/api/events', async (request) => {
    const after = intParam(request.query, 'after', 0, Number.MAX_SAFE_INTEGER, 0);
    const limit = intParam(request.query, 'limit', 1, EVENTS_LIMIT_MAX, EVENTS_LIMIT_DEFAULT);
    const events = await log.feed(after, limit);
    return { events, next_after: events.length > 0 ? events[events.length - 1].position : after };
  });
}

/** What `GET /api/products/:id` was asked for: the live product, or a past state. */
export type StateQuery = { kind: 'live' } | { kind: 'version'; version: number } | { kind: 'at'; at: Date };

/**
 * `?version=<n>` or `?at=<ISO-8601>` (not both).
 *
 * @throws HubcastError `bad_request` naming the parameter and what it must be
 */
export function parseStateQuery(query: Query): StateQuery {
  const hasVersion = query.version !== undefined;
  const hasAt = query.at !== undefined;
  if (hasVersion && hasAt) throw badRequest('give either "version" or "at", not both');
  if (hasVersion) return { kind: 'version', version: intParam(query, 'version', 1, Number.MAX_SAFE_INTEGER, 1) };
  if (hasAt) return { kind: 'at', at: parseAt(single(query, 'at') as string) };
  return { kind: 'live' };
}

// Date and time required, seconds and fraction optional; no offset means UTC (as in change events).
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?$/;

function parseAt(raw: string): Date {
  const m = ISO_DATE_TIME.exec(raw);
  const ms = m ? Date.parse(m[7] === undefined ? `${raw}Z` : raw) : NaN;
  // Date.parse rolls 02-30 over to March: compare the fields back to refuse impossible dates.
  const valid =
    m !== null &&
    !Number.isNaN(ms) &&
    Number(m[2]) >= 1 &&
    Number(m[2]) <= 12 &&
    Number(m[3]) >= 1 &&
    Number(m[3]) <= daysIn(Number(m[1]), Number(m[2])) &&
    Number(m[4]) <= 23 &&
    Number(m[5]) <= 59 &&
    Number(m[6] ?? 0) <= 59;
  if (!valid) {
    throw badRequest(
      `parameter "at" must be an ISO-8601 date-time such as 2026-12-07T12:00:00Z, got ${JSON.stringify(raw.slice(0, 64))}`,
    );
  }
  return new Date(ms);
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw badRequest(`parameter "${name}" given ${value.length} times; give it once`);
  return value;
}

/** A decimal integer parameter within [min, max]; `fallback` when absent. */
function intParam(query: Query, name: string, min: number, max: number, fallback: number): number {
  const raw = single(query, name);
  if (raw === undefined) return fallback;
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(Number.isSafeInteger(n) && n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw badRequest(`parameter "${name}" must be ${range}, got ${JSON.stringify(raw.slice(0, 64))}`);
  }
  return n;
}
