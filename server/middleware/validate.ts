import type { Context } from 'hono';
import type { z } from 'zod';
import { StoreId } from '../../shared/store/types';
import { ApiError, validationError } from './errors';

/**
 * Reads the request body as JSON and validates it: unparseable JSON is a 400, a body of the wrong
 * shape a 422 (as FastAPI answers, which Agent Lightning clients expect).
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  let value: unknown = null;
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ApiError(400, 'invalid_json', `request body is not valid JSON: ${(error as Error).message}`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError('body', parsed.error);
  return parsed.data;
}

/** Validates query parameters; repeated keys (`?status_in=a&status_in=b`) arrive as arrays. */
export function readQuery<S extends z.ZodType>(
  c: Context,
  schema: S,
  arrayKeys: readonly string[] = [],
): z.output<S> {
  const raw: Record<string, unknown> = {};
  for (const [key, values] of Object.entries(c.req.queries())) {
    raw[key] = arrayKeys.includes(key) ? values : values[values.length - 1];
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationError('query', parsed.error);
  return parsed.data;
}

/** Ids in paths follow the store's id alphabet, so `..`, `/` (even %2F-encoded) and spaces never reach it. */
export function readPathId(c: Context, name: string): string {
  const value = c.req.param(name) ?? '';
  if (!StoreId.safeParse(value).success) {
    throw new ApiError(
      400,
      'bad_request',
      `path parameter '${name}' is not a valid id (1-200 characters of [A-Za-z0-9._:@-])`,
      {
        [name]: value.slice(0, 200),
      },
    );
  }
  return value;
}
