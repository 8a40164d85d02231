/**
 * Names no other test run uses: service-free, so tests that need no service can import it
 * without pulling in the service helpers (`npm run test:unit` classifies files by their imports).
 */
import { randomBytes } from 'node:crypto';

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** A Redis key prefix of its own, so tests sharing one Redis never see each other's keys. */
export function redisPrefix(): string {
  return `test:${uniqueSuffix()}:`;
}
