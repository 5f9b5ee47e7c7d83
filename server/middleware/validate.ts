import type { Context } from 'hono';
import type { z } from 'zod';
import { StoreId } from '../../shared/store/types';
import { ApiError, validationError } from './errors';

/** Deepest nesting of arrays and objects a JSON body may have: storing deeper values overflows the stack. */
export const MAX_JSON_DEPTH = 100;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `application/json`, with parameters (`; charset=utf-8`), or a `+json` type. */
function isJsonType(contentType: string): boolean {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** The deepest nesting in a JSON text, in one pass (brackets inside strings do not count). */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Reads the request body as JSON and validates it. A body of another content type is a 415: a browser
 * on another site may send `text/plain` without a CORS preflight, so only JSON is read. Bytes that are
 * not UTF-8 are a 400 (not silently replaced), unparseable JSON a 400, nesting deeper than
 * MAX_JSON_DEPTH a 422 (checked before parsing), and a body of the wrong shape a 422 (as FastAPI
 * answers, which Agent Lightning clients expect). A request with no body and no content type reads as
 * `null`, as non-browser clients send bodiless POSTs.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const contentType = c.req.header('content-type');
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (contentType !== undefined ? !isJsonType(contentType) : bytes.length > 0)
    throw new ApiError(
      415,
      'unsupported_media_type',
      `request body must be application/json, got ${contentType ?? 'no content type'}`,
    );
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError(400, 'invalid_utf8', 'request body is not valid UTF-8');
  }
  let value: unknown = null;
  if (text.trim() !== '') {
    const depth = jsonDepth(text);
    if (depth > MAX_JSON_DEPTH)
      throw new ApiError(
        422,
        'too_deep',
        `request body nests ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted`,
      );
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
