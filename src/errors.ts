import { ErrorCode } from './codes.js';

/**
 * The one error class the server throws on purpose. `code` is a wire code from
 * codes.ts, `status` the HTTP status it maps to. Handlers turn it into
 * `{"error": {"code", "message"}}` or a WS `error` frame; anything else is a bug
 * and answers 500 `internal_error`.
 */
export class HubcastError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, status = 400) {
    super(message);
    this.name = 'HubcastError';
    this.code = code;
    this.status = status;
  }
}

export const badRequest = (message: string) => new HubcastError(ErrorCode.badRequest, message, 400);
export const notFound = (message: string) => new HubcastError(ErrorCode.notFound, message, 404);

/** The JSON body every HTTP error answers with. */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Render a zod issue list as one human line: `channel: expected string`. */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}
