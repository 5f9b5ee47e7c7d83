import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { isStoreError, type StoreError } from '../../shared/store/errors';

/**
 * Every error leaves the server as `{"error": {"code", "message", "details"}}`. Validation errors
 * (422) also carry FastAPI's `detail` array so Agent Lightning's Python client, which was written
 * against a FastAPI server, reads them the way it expects.
 */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'invalid_utf8'
  | 'too_deep'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'job_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'not_implemented'
  | 'insufficient_storage'
  | 'unavailable'
  | 'internal';

export type ValidationIssue = { loc: (string | number)[]; msg: string; type: string };

/** An error a route raises on purpose: its status, code and message reach the client as they are. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: { code, message, details: details ?? null } };
}

export function errorResponse(c: Context, error: ApiError): Response {
  const body: Record<string, unknown> = errorBody(error.code, error.message, error.details);
  if (error.code === 'validation_failed' && Array.isArray(error.details)) body.detail = error.details;
  return c.json(body, error.status);
}

/** zod issues in FastAPI's shape: `loc` starts with where the value came from ("body", "query", "path"). */
export function validationIssues(where: string, error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    loc: [where, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
    msg: issue.message,
    type: issue.code,
  }));
}

export function validationError(where: string, error: z.ZodError): ApiError {
  const issues = validationIssues(where, error);
  const first = issues[0];
  const summary = first ? `${first.loc.join('.')}: ${first.msg}` : 'invalid input';
  return new ApiError(422, 'validation_failed', `invalid ${where}: ${summary}`, issues);
}

/** Maps whatever a handler threw to a 4xx when it is the client's fault, and hides internals otherwise. */
export function createErrorHandler(log: (message: string) => void = console.error): ErrorHandler {
  return (error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof z.ZodError) return errorResponse(c, validationError('body', error));
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      const code: ErrorCode =
        status === 401
          ? 'unauthorized'
          : status === 413
            ? 'payload_too_large'
            : status === 404
              ? 'not_found'
              : 'bad_request';
      return errorResponse(c, new ApiError(status, code, error.message || 'request rejected'));
    }
    if (isStoreError(error)) return errorResponse(c, fromStoreError(error));
    log(`edgelight: unhandled error on ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}`);
    return errorResponse(c, new ApiError(500, 'internal', 'internal server error'));
  };
}

/** zod issues a store attached to its error, in FastAPI's shape like the routes' own 422s. */
function asValidationIssues(details: unknown): unknown {
  if (!Array.isArray(details)) return details;
  return details.map((issue: { path?: PropertyKey[]; message?: string; code?: string }) => ({
    loc: ['body', ...(issue.path ?? []).map((p) => (typeof p === 'number' ? p : String(p)))],
    msg: issue.message ?? 'invalid',
    type: issue.code ?? 'invalid',
  }));
}

/** The store's stable error codes, as HTTP: the caller's mistake is a 4xx, a full disk a 507. */
function fromStoreError(error: StoreError): ApiError {
  switch (error.code) {
    case 'not_found':
      return new ApiError(404, 'not_found', error.message, error.details);
    case 'invalid':
      return new ApiError(422, 'validation_failed', error.message, asValidationIssues(error.details));
    case 'conflict':
      return new ApiError(409, 'conflict', error.message, error.details);
    case 'quota_exceeded':
      return new ApiError(507 as ContentfulStatusCode, 'insufficient_storage', error.message);
    case 'closed':
      return new ApiError(503, 'unavailable', error.message);
  }
}

export const notFoundHandler: NotFoundHandler = (c) =>
  errorResponse(c, new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));
