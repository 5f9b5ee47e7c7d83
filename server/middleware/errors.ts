import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';

/**
 * Every error leaves the server as `{"error": {"code", "message", "details"}}`. Validation errors
 * (422) also carry FastAPI's `detail` array so Agent Lightning's Python client, which was written
 * against a FastAPI server, reads them the way it expects.
 */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'not_implemented'
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
    if (error instanceof StoreInputError)
      return errorResponse(c, new ApiError(error.status, error.code, error.message));
    log(`edgelight: unhandled error on ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}`);
    return errorResponse(c, new ApiError(500, 'internal', 'internal server error'));
  };
}

/**
 * Stores signal "your request refers to something that is not there / not allowed now" with an error
 * whose name says so; the routes turn it into 404 or 409 instead of a 500.
 */
export class StoreInputError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const notFoundHandler: NotFoundHandler = (c) =>
  errorResponse(c, new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));
