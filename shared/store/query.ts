// Filtering, sorting and paging done the same way by every implementation. Rows tie-break on
// their primary key and nulls sort first in ascending order, so results never depend on the
// order a backend happens to keep rows in.

import type { PaginatedResult } from './types';

export type Condition<T> = (row: T) => boolean;

/** Keeps rows matching all (`and`) or any (`or`) of the conditions; no conditions keep all. */
export function applyFilters<T>(rows: T[], conditions: Condition<T>[], logic: 'and' | 'or'): T[] {
  if (conditions.length === 0) return rows;
  return logic === 'and'
    ? rows.filter((r) => conditions.every((c) => c(r)))
    : rows.filter((r) => conditions.some((c) => c(r)));
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export type PageRequest = {
  sort_by: string | null;
  sort_order: 'asc' | 'desc';
  limit: number;
  offset: number;
};

/** Sorts by `sort_by` (then the key), and cuts the page; `limit: -1` returns everything after `offset`. */
export function paginate<T>(rows: T[], page: PageRequest, key: (row: T) => string): PaginatedResult<T> {
  const sign = page.sort_order === 'desc' ? -1 : 1;
  const field = page.sort_by;
  const sorted = [...rows].sort((a, b) => {
    const byField = field
      ? compareValues((a as Record<string, unknown>)[field], (b as Record<string, unknown>)[field])
      : 0;
    return sign * (byField !== 0 ? byField : compareValues(key(a), key(b)));
  });
  const end = page.limit < 0 ? undefined : page.offset + page.limit;
  return {
    items: sorted.slice(page.offset, end),
    limit: page.limit,
    offset: page.offset,
    total: rows.length,
  };
}

/** Exact / contains conditions on a string field, as Agent Lightning's query helpers take them. */
export function textConditions<T>(
  get: (row: T) => string | null | undefined,
  exact: string | null | undefined,
  contains: string | null | undefined,
): Condition<T>[] {
  const out: Condition<T>[] = [];
  if (exact !== null && exact !== undefined) out.push((r) => get(r) === exact);
  if (contains !== null && contains !== undefined) out.push((r) => (get(r) ?? '').includes(contains));
  return out;
}
