import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCompliance } from '../../../shared/governance/compliance';
import { clauseStart, indexText, lastWords, sentenceAt, type Span } from '../../../shared/governance/text';

// The indexed sentence/clause lookups replace rescans from the sentence start for every match (which
// made long sentences full of matches quadratic, issue 18). They must answer exactly as the rescans did.

/** The rescan they replace: the last clause break between the sentence start and the offset. */
function clauseStartByRescan(text: string, sentence: Span, offset: number): number {
  const before = text.slice(sentence.start, offset);
  let cut = -1;
  const breaks = /[,;:—–()]|\b(?:but|however|although|though|whereas)\b/gi;
  for (let m = breaks.exec(before); m; m = breaks.exec(before)) cut = m.index + m[0].length;
  return sentence.start + Math.max(cut, 0);
}

const piece = fc.constantFrom(
  'we ',
  'cannot ',
  'guarantee ',
  'but ',
  'However ',
  ', ',
  '; ',
  '. ',
  '! ',
  '\n',
  '(',
  ') ',
  'not ',
  '100% ',
  'secure ',
  'though ',
  'whereas ',
  'butter ',
  'x',
);

describe('indexed sentences and clauses', () => {
  it('clauseStart answers as the rescan from the sentence start did, at every word start', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        const indexed = indexText(text);
        for (let offset = 0; offset <= text.length; offset++) {
          if (offset > 0 && /\w/.test(text[offset - 1]) && /\w/.test(text[offset] ?? '')) continue;
          const sentence = sentenceAt(indexed.sentences, offset);
          expect(clauseStart(indexed, sentence, offset)).toBe(clauseStartByRescan(text, sentence, offset));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('lastWords reads a bounded window back and drops a word the window cuts', () => {
    const text = `we do not ${'x'.repeat(500)} guarantee`;
    // 3 words × 64 characters back from the end lands inside the run of x: that cut word is dropped.
    expect(lastWords(text, 3)).toEqual(['guarantee']);
    expect(lastWords('We can NOT guarantee', 2, 0, 'We can NOT'.length)).toEqual(['can', 'not']);
    expect(lastWords('it isn’t secure', 5)).toEqual(['it', "isn't", 'secure']);
  });

  it('one long sentence of figures is checked once per sentence, with the same findings', () => {
    const text = '5% '.repeat(2000);
    const findings = checkCompliance(text);
    expect(findings).toHaveLength(2000);
    expect(findings.every((f) => f.rule.startsWith('inst_016') && f.match.startsWith('5'))).toBe(true);
  });
});
