import { type Mark, piiClass, segmentText } from './highlight';

/** The text with PII and rule violations marked; every character is rendered as a text node. */
export function Highlighted({ text, marks }: { text: string; marks: Mark[] }) {
  return (
    <p class="highlighted" data-testid="highlighted">
      {segmentText(text, marks).map((segment) => {
        if (segment.marks.length === 0) return segment.text;
        const kinds = new Set(segment.marks.map((m) => m.kind));
        const title = segment.marks.map((m) => m.label).join(', ');
        const piiTypes = [...new Set(segment.marks.flatMap((m) => (m.piiType ? [m.piiType] : [])))];
        const classes = [...[...kinds].map((k) => `mark-${k}`), ...piiTypes.map(piiClass)];
        return (
          <mark
            key={segment.start}
            class={[...new Set(classes)].join(' ')}
            title={title}
            data-labels={title}
            data-pii-types={piiTypes.length ? piiTypes.join(' ') : undefined}
          >
            {segment.text}
            <span class="sr-only"> ({title})</span>
          </mark>
        );
      })}
    </p>
  );
}
