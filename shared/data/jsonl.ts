import type { z } from 'zod';

// JSON Lines import/export with validation. Every bad line is reported with its 1-based line
// number and the reason; nothing is silently dropped. Blank lines carry no record and are skipped.

export interface JsonlIssue {
  line: number;
  message: string;
}

export class JsonlError extends Error {
  constructor(readonly issues: JsonlIssue[]) {
    const shown = issues.slice(0, 10).map((i) => `line ${i.line}: ${i.message}`);
    const more = issues.length > 10 ? [`… and ${issues.length - 10} more`] : [];
    super([`${issues.length} invalid line(s)`, ...shown, ...more].join('\n'));
    this.name = 'JsonlError';
  }
}

export interface ParsedJsonl<T> {
  records: T[];
  issues: JsonlIssue[];
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Parses every line; returns the valid records and the issue of every invalid line. */
export function parseJsonl<S extends z.ZodType>(text: string, schema: S): ParsedJsonl<z.infer<S>> {
  const records: z.infer<S>[] = [];
  const issues: JsonlIssue[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      issues.push({ line: index + 1, message: `not JSON (${(error as Error).message})` });
      return;
    }
    const result = schema.safeParse(value);
    if (result.success) records.push(result.data);
    else issues.push({ line: index + 1, message: describe(result.error) });
  });
  return { records, issues };
}

/** Like parseJsonl, but any invalid line fails the whole import with a JsonlError listing them. */
export function parseJsonlStrict<S extends z.ZodType>(text: string, schema: S): z.infer<S>[] {
  const { records, issues } = parseJsonl(text, schema);
  if (issues.length > 0) throw new JsonlError(issues);
  return records;
}

/** One JSON object per line, each validated first so an export can always be imported again. */
export function toJsonl<S extends z.ZodType>(records: readonly z.infer<S>[], schema: S): string {
  return records.map((r) => JSON.stringify(schema.parse(r))).join('\n') + (records.length ? '\n' : '');
}
