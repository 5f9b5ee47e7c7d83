import { type Mark, segmentText } from './highlight';

/** The text with PII and rule violations marked; every character is rendered as a text node. */
export function Highlighted({ text, marks }: { text: string; marks: Mark[] }) {
  return (
    <p class="highlighted" data-testid="highlighted">
      {segmentText(text, marks).map((segment) => {
        if (segment.marks.length === 0) return segment.text;
        const kinds = new Set(segment.marks.map((m) => m.kind));
        const title = segment.marks.map((m) => m.label).join(', ');
        return (
          <mark
            key={segment.start}
            class={[...kinds].map((k) => `mark-${k}`).join(' ')}
            title={title}
            data-labels={title}
          >
            {segment.text}
            <span class="sr-only"> ({title})</span>
          </mark>
        );
      })}
    </p>
  );
}
