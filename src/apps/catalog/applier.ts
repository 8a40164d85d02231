import type { ChangeEvent } from './change-event.js';

/**
 * What the consumer needs from the database side (the catalog repository
 * implements it): apply one change event exactly once, in one transaction.
 *
 * - `applied`: committed; `product` is the new state as it goes on the wire.
 * - `duplicate`: this `event_id` was applied before; nothing changed.
 *   `product`, when given, is the product's current state: the consumer
 *   announces it again unless it was published already (the node that applied
 *   the event may have died between the commit and the publish).
 * - `unknown_product`: no such product; nothing changed.
 *
 * Throwing means "could not tell" (database down, serialization failure):
 * the consumer retries later, unless the error is permanent (see
 * `isPermanentApplyError`): then the event is dead-lettered.
 */
export type ApplyResult<P = unknown> =
  | { status: 'applied'; product: P }
  | { status: 'duplicate'; product?: P }
  | { status: 'unknown_product' };

export interface ChangeApplier<P = unknown> {
  applyChange(event: ChangeEvent): Promise<ApplyResult<P>>;
}

/**
 * An error the applier raises for a change that can never be stored (out of
 * range, refused by a constraint): retrying cannot help. Recognised by shape,
 * not class, so the consumer does not depend on the store's modules: the
 * repository's `InvalidChangeError`, or any error with `permanent: true`.
 */
export function isPermanentApplyError(err: unknown): err is Error {
  return (
    err instanceof Error && (err.name === 'InvalidChangeError' || (err as { permanent?: unknown }).permanent === true)
  );
}
