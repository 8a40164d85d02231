import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from '../../errors.js';

/**
 * Product change events (docs/protocol.md, "Change events"): what any producer publishes to the
 * `catalog` exchange with routing key `product.changed`.
 *
 * ```json
 * {"event_id": "<uuid>", "product_id": 7, "changes": {"price": 19.99, "stock": 3},
 *  "occurred_at": "2025-01-01T12:00:00.000Z"}
 * ```
 *
 * Bounds beyond the protocol's wording exist so that a value the database
 * cannot store is rejected here (dead-lettered) instead of failing the apply
 * forever as if the database were down: prices fit `numeric(10,2)`, ids and
 * stock fit a 32-bit `integer`.
 */
export const MAX_PRICE = 99_999_999.99;
export const MAX_INT32 = 2_147_483_647;

/** True when `n` has at most two decimal places (19.99 yes, 19.999 no), tolerant of binary floats. */
export function hasAtMostTwoDecimals(n: number): boolean {
  return Number(n.toFixed(2)) === n;
}

/** zod error option: "is required" for a missing field, `message` for a wrong one. */
const orRequired = (message: string) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? 'is required' : message),
});

const price = z
  .number({ error: 'expected a number' })
  .refine((n) => n > 0, { message: 'must be greater than 0' })
  .refine((n) => n <= MAX_PRICE, { message: `must be at most ${MAX_PRICE}` })
  .refine(hasAtMostTwoDecimals, { message: 'must have at most 2 decimal places' });

const stock = z
  .number({ error: 'expected an integer' })
  .int({ message: 'expected an integer' })
  .min(0, { message: 'must be 0 or more' })
  .max(MAX_INT32, { message: `must be at most ${MAX_INT32}` });

const changes = z
  .strictObject(
    { price: price.optional(), stock: stock.optional() },
    // zod's default names the key only ("Unrecognized key: x"); say what is allowed
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown key(s) ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}; allowed: price, stock`
          : 'expected an object with price and/or stock',
    },
  )
  .refine((c) => c.price !== undefined || c.stock !== undefined, { message: 'must contain price or stock' });

/**
 * Unknown top-level keys are ignored (a producer may add tracing metadata);
 * unknown keys inside `changes` are refused, since they would be changes we
 * silently fail to apply.
 */
export const changeEventSchema = z.object(
  {
    event_id: z.uuid(orRequired('expected a UUID string')),
    product_id: z
      .number(orRequired('expected a positive integer'))
      .int({ message: 'expected a positive integer' })
      .min(1, { message: 'expected a positive integer' })
      .max(MAX_INT32, { message: `must be at most ${MAX_INT32}` }),
    changes,
    // Local times (no offset) are accepted and read as UTC: common producers
    // (Python's isoformat()) emit them, and refusing them would lose events.
    occurred_at: z.iso.datetime({ offset: true, local: true, ...orRequired('expected an ISO-8601 date-time') }),
  },
  { error: 'expected a JSON object' },
);

/**
 * Where an event came from, for the event log's audit trail: the broker
 * message's `message-id` and `app-id` properties, when the producer set them.
 * Not part of the body; the consumer attaches it from the delivery.
 */
export interface ChangeSource {
  message_id?: string;
  producer?: string;
}

export type ChangeEvent = z.infer<typeof changeEventSchema> & { source?: ChangeSource };
export type ProductChanges = ChangeEvent['changes'];

export type ParseResult = { ok: true; event: ChangeEvent } | { ok: false; reason: string };

/**
 * Parse and validate one broker message body. Never throws: a bad body comes
 * back as `{ok: false, reason}` where `reason` names the problem, e.g.
 * `changes.price: must have at most 2 decimal places`.
 */
export function parseChangeEvent(body: Buffer | string): ParseResult {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') return { ok: false, reason: 'body is empty' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `body is not valid JSON: ${(err as Error).message}` };
  }
  const parsed = changeEventSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error.issues) };
  return { ok: true, event: parsed.data };
}

export interface MakeChangeEventInput {
  productId: number;
  changes: ProductChanges;
  eventId?: string;
  occurredAt?: Date;
}

/**
 * Build a valid event for producers; throws (a zod error naming the field) if
 * the input would not pass `parseChangeEvent`, so a producer can never emit
 * what the gateway would dead-letter.
 *
 * @example
 * const event = makeChangeEvent({ productId: 7, changes: { price: 12.5 } });
 * await broker.publish(PRODUCT_CHANGED, encodeChangeEvent(event));
 */
export function makeChangeEvent(input: MakeChangeEventInput): ChangeEvent {
  return changeEventSchema.parse({
    event_id: input.eventId ?? randomUUID(),
    product_id: input.productId,
    changes: input.changes,
    occurred_at: (input.occurredAt ?? new Date()).toISOString(),
  });
}

/** The wire bytes of an event (JSON, UTF-8). */
export function encodeChangeEvent(event: ChangeEvent): Buffer {
  return Buffer.from(JSON.stringify(event));
}
