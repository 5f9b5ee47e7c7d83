// A tiny assertion kit for the conformance cases. It imports nothing from a test runner, so the
// very same cases run under vitest in Node and inside Chromium on real IndexedDB.

export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceFailure';
  }
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Key order does not matter; undefined object keys are ignored (as JSON would). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

export function ok(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

export function equal<T>(actual: T, expected: T, message: string): void {
  if (show(canonical(actual)) !== show(canonical(expected))) {
    throw new ConformanceFailure(`${message}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** Expects the promise to reject; with `code`, with an error whose `code` is that (e.g. not_found). */
export async function rejects(
  promise: Promise<unknown>,
  code: string | null,
  message: string,
): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    const actual = (error as { code?: unknown }).code;
    if (code !== null && actual !== code) {
      throw new ConformanceFailure(
        `${message}: expected error code ${code}, got ${show(actual)} (${String(error)})`,
      );
    }
    return error;
  }
  throw new ConformanceFailure(`${message}: expected a rejection`);
}
