// Store errors carry a stable `code` so every boundary (REST, CLI, UI) can map them to a clear
// message and status (not_found → 404, invalid → 400/422, conflict → 409, quota → 507) without
// parsing messages.

export type StoreErrorCode = 'not_found' | 'invalid' | 'conflict' | 'quota_exceeded' | 'closed';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly details?: unknown;

  constructor(code: StoreErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.details = details;
  }
}

export const notFound = (what: string) => new StoreError('not_found', `${what} not found`);

export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}
