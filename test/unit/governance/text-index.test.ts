import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCompliance } from '../../../shared/governance/compliance';
import { isNegated } from '../../../shared/governance/negation';
import { compileRuleSet, DEFAULT_RULE_SET } from '../../../shared/governance/rules';
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

  it('lastWords reads the last words of a clause from the word index, as a rescan of the text would', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.nat(6), (pieces, count) => {
        const text = pieces.join('');
        const indexed = indexText(text);
        for (let to = 0; to <= text.length; to++) {
          const from = clauseStart(indexed, sentenceAt(indexed.sentences, to), to);
          const rescan = (
            text
              .slice(from, to)
              .toLowerCase()
              .match(/[\p{L}\p{N}']+/gu) ?? []
          ).slice(-count);
          expect(lastWords(indexed, count, from, to)).toEqual(count === 0 ? [] : rescan);
        }
      }),
      { numRuns: 200 },
    );
    const at = (text: string, count: number, to = text.length) => lastWords(indexText(text), count, 0, to);
    expect(at('We can NOT guarantee', 2, 'We can NOT'.length)).toEqual(['can', 'not']);
    expect(at('it isn’t secure', 5)).toEqual(['it', "isn't", 'secure']);
    // A long word is read as its first 64 characters and still counts as one word.
    expect(at(`we do not ${'x'.repeat(500)} guarantee`, 3)).toEqual(['not', 'x'.repeat(64), 'guarantee']);
  });

  it('isNegated answers as reading the clause back word by word did, at every word start', () => {
    const compiled = compileRuleSet(DEFAULT_RULE_SET);
    const window = DEFAULT_RULE_SET.negationWindow;
    const phrases = DEFAULT_RULE_SET.negationCues.filter((c) => c.includes(' '));
    const negatedByRescan = (text: string, from: number, start: number) => {
      const words = (
        text
          .slice(from, start)
          .toLowerCase()
          .match(/[\p{L}\p{N}']+/gu) ?? []
      ).slice(-window);
      if (words.some((w) => compiled.negationCues.has(w) || w.endsWith("n't"))) return true;
      return phrases.some((p) => ` ${words.join(' ')} `.includes(` ${p} `));
    };
    const cuePiece = fc.constantFrom('far ', 'from ', 'no ', 'longer ', 'yet ', 'to ', "isn't ", 'never ');
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, cuePiece), { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        const indexed = indexText(text);
        for (let start = 0; start <= text.length; start++) {
          if (start > 0 && /\w/.test(text[start - 1]) && /\w/.test(text[start] ?? '')) continue;
          const sentence = sentenceAt(indexed.sentences, start);
          const from = clauseStart(indexed, sentence, start);
          expect(isNegated(indexed, sentence, start, compiled)).toBe(negatedByRescan(text, from, start));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('one long sentence of figures is checked once per sentence, with the same findings', () => {
    const text = '5% '.repeat(2000);
    const findings = checkCompliance(text);
    expect(findings).toHaveLength(2000);
    expect(findings.every((f) => f.rule.startsWith('inst_016') && f.match.startsWith('5'))).toBe(true);
  });
});
