import { useEffect, useRef, useState } from 'preact/hooks';

// Rows fetched from the worker a page at a time as the list scrolls; a change of `key` (the
// filter) drops the cache. Rows not yet fetched read as undefined and render as placeholders.

const PAGE_SIZE = 200;

export type PagedRows<T> = {
  total: number;
  row: (index: number) => T | undefined;
  onRange: (first: number, last: number) => void;
  reload: () => void;
  error: string;
};

export function usePagedRows<T>(
  key: string,
  fetchPage: (offset: number, limit: number) => Promise<{ total: number; rows: T[] }>,
): PagedRows<T> {
  const pages = useRef(new Map<number, T[]>());
  const pending = useRef(new Set<number>());
  const generation = useRef(0);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState('');
  const [, setVersion] = useState(0);

  function load(page: number) {
    if (pages.current.has(page) || pending.current.has(page)) return;
    pending.current.add(page);
    const mine = generation.current;
    fetchPage(page * PAGE_SIZE, PAGE_SIZE)
      .then((result) => {
        if (mine !== generation.current) return;
        pages.current.set(page, result.rows);
        setTotal(result.total);
        setVersion((v) => v + 1);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => pending.current.delete(page));
  }

  function reset() {
    generation.current++;
    pages.current.clear();
    pending.current.clear();
    setError('');
    load(0);
  }

  useEffect(reset, [key]);

  return {
    total,
    error,
    row: (index) => pages.current.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE],
    onRange: (first, last) => {
      for (
        let page = Math.floor(first / PAGE_SIZE);
        page <= Math.floor(Math.max(first, last - 1) / PAGE_SIZE);
        page++
      )
        load(page);
    },
    reload: reset,
  };
}
