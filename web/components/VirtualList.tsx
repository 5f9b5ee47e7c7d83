import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

// A windowed list: only the rows in view (plus a few) are in the DOM, so 100k rows scroll as fast
// as 100. It is a keyboard-operable listbox: arrows move the selection, Enter opens it.

type Props = {
  count: number;
  rowHeight: number;
  height: number;
  label: string;
  /** Grid columns of each row (CSS grid-template-columns). */
  columns: string;
  renderRow: (index: number) => ComponentChildren;
  selected?: number;
  onSelect?: (index: number) => void;
  onOpen?: (index: number) => void;
  /** Called with the visible range so a paged source can fetch what is about to be shown. */
  onRange?: (first: number, last: number) => void;
};

const OVERSCAN = 8;

export function VirtualList(props: Props) {
  const { count, rowHeight, height, label, columns, renderRow, selected, onSelect, onOpen, onRange } = props;
  const container = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const cursor = useRef(selected);
  const lastSelected = useRef(selected);
  if (selected !== lastSelected.current) {
    lastSelected.current = selected;
    cursor.current = selected;
  }
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);

  useEffect(() => {
    onRange?.(first, last);
  }, [first, last, count]);

  function scrollIntoView(index: number) {
    const el = container.current;
    if (!el) return;
    const top = index * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + height) el.scrollTop = top + rowHeight - height;
  }

  function onKeyDown(event: KeyboardEvent) {
    if (count === 0) return;
    // Keys can arrive faster than re-renders: move from the last key's row, not the last render's.
    const current = cursor.current ?? -1;
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const moves: Record<string, number> = {
      ArrowDown: current + 1,
      ArrowUp: current - 1,
      PageDown: current + page,
      PageUp: current - page,
      Home: 0,
      End: count - 1,
    };
    if (event.key in moves) {
      event.preventDefault();
      const next = Math.min(count - 1, Math.max(0, moves[event.key]));
      cursor.current = next;
      onSelect?.(next);
      scrollIntoView(next);
    } else if (event.key === 'Enter' && current >= 0) {
      event.preventDefault();
      onOpen?.(current);
    }
  }

  const rows = [];
  for (let index = first; index < last; index++) {
    rows.push(
      // biome-ignore lint/a11y/useKeyWithClickEvents: the listbox container handles the keyboard
      <div
        key={index}
        id={`${label.replace(/\W+/g, '-')}-row-${index}`}
        role="option"
        tabIndex={-1}
        aria-selected={index === selected}
        class="vlist-row"
        style={{ top: index * rowHeight, height: rowHeight, gridTemplateColumns: columns }}
        onClick={() => {
          cursor.current = index;
          onSelect?.(index);
          onOpen?.(index);
        }}
      >
        {renderRow(index)}
      </div>,
    );
  }

  return (
    <div
      ref={container}
      class="vlist"
      role="listbox"
      tabIndex={0}
      aria-label={label}
      aria-activedescendant={
        selected !== undefined && selected >= first && selected < last
          ? `${label.replace(/\W+/g, '-')}-row-${selected}`
          : undefined
      }
      style={{ height }}
      onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div style={{ height: count * rowHeight, position: 'relative' }}>{rows}</div>
    </div>
  );
}
