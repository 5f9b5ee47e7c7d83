import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRedaction, detectPii, redact } from '../../../shared/governance';
import { luhnValid } from '../../../shared/governance/pii/digits';

describe('redaction operators', () => {
  const text = 'Mail ana@example.com, then ana@example.com again, or bo@example.com.';
  const findings = detectPii(text);

  it('numbers placeholders per type, the same value keeping its number', () => {
    expect(applyRedaction(text, findings)).toBe('Mail <EMAIL_1>, then <EMAIL_1> again, or <EMAIL_2>.');
  });
  it('masks with the span length', () => {
    expect(applyRedaction(text, findings, { operator: 'mask' })).toBe(
      `Mail ${'*'.repeat(15)}, then ${'*'.repeat(15)} again, or ${'*'.repeat(14)}.`,
    );
  });
  it('hashes with a salt: stable per value, different per salt', () => {
    const a = applyRedaction(text, findings, { operator: 'hash', salt: 's1' });
    const b = applyRedaction(text, findings, { operator: 'hash', salt: 's2' });
    const hashes = a.match(/<EMAIL_[0-9a-f]{12}>/g) ?? [];
    expect(hashes).toHaveLength(3);
    expect(hashes[0]).toBe(hashes[1]);
    expect(hashes[0]).not.toBe(hashes[2]);
    expect(a).not.toBe(b);
  });
  it('replaces other occurrences of a detected name', () => {
    expect(redact('Thanks, Priya. Priya also said hi.')).toBe('Thanks, <PERSON_1>. <PERSON_1> also said hi.');
  });
  it('continues numbering after placeholders already in the text', () => {
    expect(redact('<EMAIL_1> wrote, cc zed@example.com')).toBe('<EMAIL_1> wrote, cc <EMAIL_2>');
  });
});

// Arbitrary texts mixing filler words, digits and real-shaped PII values.
const piiValue = fc.constantFrom(
  'ana@example.com',
  '4012 8888 8888 1881',
  '4012888888881881',
  '378282246310005',
  'GB29 NWBK 6016 1331 9268 19',
  '+44 20 7946 0321',
  '(212) 555-0187',
  '198.51.100.23',
  '536-22-8419',
  'Olivia Martinez',
  '742 Evergreen Terrace',
);
const filler = fc.constantFrom(
  'the',
  'order',
  'card',
  'call',
  'Hi,',
  'v2.1.0',
  '$12.50',
  '2024-05-01',
  ' ',
  '\n',
  '@',
  '(',
  ')',
);
const digits = fc.stringMatching(/^[0-9]{1,20}$/);
const texts = fc.array(fc.oneof(piiValue, filler, digits), { maxLength: 24 }).map((parts) => parts.join(' '));

/** Maximal runs of 13–19 digits (no separators) that pass Luhn. */
function luhnRuns(text: string): string[] {
  return (text.match(/(?<!\d)\d{13,19}(?!\d)/g) ?? []).filter((run) => luhnValid(run));
}

describe('redaction properties', () => {
  it('never leaves a detected value or a Luhn-valid 13–19 digit run', () => {
    fc.assert(
      fc.property(texts, (text) => {
        const redacted = redact(text);
        for (const f of detectPii(text)) {
          const value = text.slice(f.start, f.end);
          const asWord = new RegExp(
            `(?<![\\p{L}\\p{N}])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`,
            'u',
          );
          expect(asWord.test(redacted)).toBe(false);
        }
        expect(luhnRuns(redacted)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
  it('is idempotent: redacting twice equals redacting once, for every operator', () => {
    fc.assert(
      fc.property(
        texts,
        fc.constantFrom('placeholder', 'mask', 'hash') as fc.Arbitrary<'placeholder' | 'mask' | 'hash'>,
        (text, operator) => {
          const once = redact(text, { operator });
          expect(redact(once, { operator })).toBe(once);
        },
      ),
      { numRuns: 300 },
    );
  });
});
