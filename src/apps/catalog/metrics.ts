import type { MetricSpec } from '../../application.js';

/** `/metrics` names of the stats fields the catalog's consumer, photo cache and generator report. */
export const CATALOG_METRICS: Record<string, MetricSpec> = {
  events_received: {
    name: 'hubcast_events_received_total',
    help: 'Broker events received by the consumer',
    kind: 'counter',
  },
  events_applied: {
    name: 'hubcast_events_applied_total',
    help: 'Broker events applied to the database',
    kind: 'counter',
  },
  events_duplicate: {
    name: 'hubcast_events_duplicate_total',
    help: 'Broker events whose event_id was applied already',
    kind: 'counter',
  },
  events_dead_lettered: {
    name: 'hubcast_events_dead_lettered_total',
    help: 'Broker events sent to catalog.dead',
    kind: 'counter',
  },
  events_retried: {
    name: 'hubcast_events_retried_total',
    help: 'Broker events retried after a failed apply',
    kind: 'counter',
  },
  events_apply_errors: {
    name: 'hubcast_events_apply_errors_total',
    help: 'Database applies that failed',
    kind: 'counter',
  },
  events_publish_failed: {
    name: 'hubcast_events_publish_failed_total',
    help: 'Applied events whose publication to clients failed',
    kind: 'counter',
  },
  events_republished: {
    name: 'hubcast_events_republished_total',
    help: 'Applied events published again after a failed publication',
    kind: 'counter',
  },
  events_in_flight: {
    name: 'hubcast_events_in_flight',
    help: 'Broker events received and not yet acknowledged',
    kind: 'gauge',
  },
  photo_cache_hits: {
    name: 'hubcast_photo_cache_hits_total',
    help: 'Product photos served from the cache',
    kind: 'counter',
  },
  photo_cache_misses: {
    name: 'hubcast_photo_cache_misses_total',
    help: 'Product photos rendered because the cache missed',
    kind: 'counter',
  },
  generator_sent: {
    name: 'hubcast_generator_sent_total',
    help: 'Change events the generator published',
    kind: 'counter',
  },
  generator_confirmed: {
    name: 'hubcast_generator_confirmed_total',
    help: 'Generator events the broker confirmed',
    kind: 'counter',
  },
  generator_pending: {
    name: 'hubcast_generator_pending',
    help: 'Generator events awaiting the broker confirm',
    kind: 'gauge',
  },
  generator_failed: {
    name: 'hubcast_generator_failed_total',
    help: 'Generator events the broker refused or lost',
    kind: 'counter',
  },
  generator_skipped: {
    name: 'hubcast_generator_skipped_total',
    help: 'Generator ticks skipped while too many events were pending',
    kind: 'counter',
  },
};
