import * as m001 from './001_initial.js';
import * as m002 from './002_event_log.js';
import * as m003 from './003_event_log_claims.js';

/**
 * Every migration, in order. SQL lives in .ts modules so `tsc` carries it into
 * dist/ (it does not copy .sql files). Never edit a released migration: add
 * the next number.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [m001, m002, m003];
