import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectPii, redact } from '../../../shared/governance';
import { digitValue, normalizeForRecognition } from '../../../shared/governance/normalize';
import { PARSE_BUDGET, phoneParseCalls } from '../../../shared/governance/pii/phone';
import type { PiiType } from '../../../shared/governance/types';

// Normalisation before recognition (issue 18): disguised PII is found, and every finding maps back to
// the exact original characters.

const spans = (text: string) =>
  detectPii(text).map((f) => [f.type, text.slice(f.start, f.end)] as [PiiType, string]);

describe('digits of every script', () => {
  it('maps each decimal digit set to 0–9', () => {
    // Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai, fullwidth, Mathematical bold,
    // Mathematical monospace, Adlam, Osmanya, Javanese.
    for (const zero of [
      0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0xff10, 0x1d7ce, 0x1d7f6, 0x1e950, 0x104a0, 0xa9d0,
    ]) {
      let digits = '';
      for (let d = 0; d < 10; d++) digits += String.fromCodePoint(zero + d);
      expect(normalizeForRecognition(digits).text, zero.toString(16)).toBe('0123456789');
      expect(digitValue(zero + 7)).toBe(7);
    }
  });
  it('leaves ASCII text without disguises untouched (no map)', () => {
    const text = 'I looked at it. Dot matrix printers at 9.30 are loud; version 1.2.3.4 shipped.';
    const n = normalizeForRecognition(text);
    expect(n.identity).toBe(true);
    expect(n.text).toBe(text);
  });
});

describe('characters', () => {
  it('applies NFKC, removes format characters and folds dashes', () => {
    const n = normalizeForRecognition(
      'ｆｕｌｌ\u200b\u00adwidth ﬁne e\u0301 536–22—8419 \u2212 5\u2011 x\ufeff',
    );
    expect(n.text).toBe('fullwidth fine \u00e9 536-22-8419 - 5- x');
  });
});

describe('spelled-out e-mail addresses', () => {
  const rewritten = (text: string) => normalizeForRecognition(text).text;
  it('rewrites the shapes of an address', () => {
    expect(rewritten('mail jane at example dot org today')).toBe('mail jane@example.org today');
    expect(rewritten('mail jane [at] example [dot] org')).toBe('mail jane@example.org');
    expect(rewritten('jane (at) example (dot) co (dot) uk.')).toBe('jane@example.co.uk.');
    expect(rewritten('jane {AT} example {DOT} com')).toBe('jane@example.com');
    expect(rewritten('write to jane @ example.com')).toBe('write to jane@example.com');
    expect(rewritten('jane dot doe at example dot com')).toBe('jane.doe@example.com');
    expect(rewritten('j.doe at example.com')).toBe('j.doe@example.com');
    expect(rewritten('jane＠example．com')).toBe('jane@example.com');
  });
  it('leaves prose alone', () => {
    for (const text of [
      'I looked at it. Dot matrix printers are loud.',
      'I looked at github.com yesterday.',
      'We met at the dot in the corner of the map.',
      'Click at each dot in turn, then look at home dot.',
      'ping @maria on chat, or a @ b, or email@@example',
      'Arrive at 9.30 and meet at gate 4.',
      'Good at maths dot and at science.',
    ])
      expect(rewritten(text), text).toBe(text);
  });
});

describe('offset map', () => {
  // Characters whose normal form is one character or none, so a normalised span's original span,
  // normalised again, gives back exactly that span.
  const disguise = fc.constantFrom(
    '\u200b',
    '\u200c',
    '\u200d',
    '\u2060',
    '\ufeff',
    '\u00ad',
    '٣',
    '۷',
    '४',
    '５',
    'Ａ',
    '–',
    '—',
    '\u2212',
    '\u2011',
    'e\u0301',
    '＠',
    '．',
    '😀',
  );
  const plain = fc.constantFrom('a', 'b', 'Z', '0', '7', ' ', '-', '.', '@', 'x');
  const texts = fc.array(fc.oneof(plain, disguise), { maxLength: 40 }).map((parts) => parts.join(''));

  it('maps every normalised span to original characters that normalise to it', () => {
    fc.assert(
      fc.property(texts, fc.nat(), fc.nat(), (text, a, b) => {
        const n = normalizeForRecognition(text);
        if (n.text.length === 0) return;
        const s = a % n.text.length;
        const e = s + 1 + (b % (n.text.length - s));
        // A span that splits a surrogate pair has no characters of its own to compare.
        const low = (k: number) =>
          k < n.text.length && n.text.charCodeAt(k) >= 0xdc00 && n.text.charCodeAt(k) <= 0xdfff;
        if (low(s) || low(e)) return;
        const o = n.toOriginal(s, e);
        expect(o.start).toBeLessThan(o.end);
        expect(normalizeForRecognition(text.slice(o.start, o.end)).text).toBe(n.text.slice(s, e));
        // Whole-text spans map to the first and last kept characters, so only removed characters
        // can lie outside.
        const whole = n.toOriginal(0, n.text.length);
        expect(normalizeForRecognition(text.slice(0, whole.start)).text).toBe('');
        expect(normalizeForRecognition(text.slice(whole.end)).text).toBe('');
      }),
      { numRuns: 500 },
    );
  });
  it('finds a disguised value over exactly its original characters', () => {
    const values: [PiiType, string][] = [
      ['CREDIT_CARD', '4012 8888 8888 1881'],
      ['PHONE', '+44 20 7946 0321'],
      ['EMAIL', 'ana.lopez@example.com'],
      ['US_SSN', '536-22-8419'],
      ['IBAN', 'GB29 NWBK 6016 1331 9268 19'],
    ];
    const digitForms = [0x30, 0x660, 0x6f0, 0x966, 0xff10];
    const hidden = ['', '', '', '\u200b', '\u200d', '\u2060', '\u00ad'];
    const disguised = fc
      .tuple(
        fc.constantFrom(...values),
        fc.array(fc.tuple(fc.constantFrom(...digitForms), fc.constantFrom(...hidden)), {
          minLength: 40,
          maxLength: 40,
        }),
      )
      .map(([[type, value], choices]) => {
        let out = '';
        [...value].forEach((ch, k) => {
          const [zero, after] = choices[k];
          out += /\d/.test(ch) ? String.fromCharCode(zero + Number(ch)) : ch;
          if (k < value.length - 1 && ch !== ' ') out += after;
        });
        return [type, out] as [PiiType, string];
      });
    fc.assert(
      fc.property(disguised, ([type, value]) => {
        const text = `Note: ${value} thanks`;
        expect(spans(text)).toContainEqual([type, value]);
      }),
      { numRuns: 300 },
    );
  });
  it('keeps a finding over the removed characters inside it', () => {
    const text = 'Mail ja\u200bne@exam\u200dple.com or call +44\u00a020\u200b7946\u20600958.';
    expect(spans(text)).toEqual([
      ['EMAIL', 'ja\u200bne@exam\u200dple.com'],
      ['PHONE', '+44\u00a020\u200b7946\u20600958'],
    ]);
    expect(redact(text)).toBe('Mail <EMAIL_1> or call <PHONE_1>.');
  });
});

/** Digit runs of 4 or more left after redaction (a partial leak of a number). */
const longDigitRuns = (text: string) => normalizeForRecognition(text).text.match(/\d{4,}/g) ?? [];

describe('disguised forms are found whole', () => {
  const cases: [string, PiiType, string][] = [
    ['Contact me: priya at example dot org, thanks', 'EMAIL', 'priya at example dot org'],
    ['Contact: priya [at] example [dot] co [dot] uk', 'EMAIL', 'priya [at] example [dot] co [dot] uk'],
    ['Contact: priya (at) example (dot) com.', 'EMAIL', 'priya (at) example (dot) com'],
    ['mail priya @ example.com please', 'EMAIL', 'priya @ example.com'],
    ['mail priya＠example.com please', 'EMAIL', 'priya＠example.com'],
    ['mail pri\u200bya@example\u200b.com please', 'EMAIL', 'pri\u200bya@example\u200b.com'],
    ['رقمي ٠٧٩١١ ١٢٣٤٥٦ شكرا', 'PHONE', '٠٧٩١١ ١٢٣٤٥٦'],
    ['call ０７９１１ １２３４５６ today', 'PHONE', '０７９１１ １２３４５６'],
    ['call 0 7 9 1 1 1 2 3 4 5 6 today', 'PHONE', '0 7 9 1 1 1 2 3 4 5 6'],
    ['call +۴۴ ۲۰ ۷۹۴۶ ۰۹۵۸ today', 'PHONE', '+۴۴ ۲۰ ۷۹۴۶ ۰۹۵۸'],
    ['card 4111.1111.1111.1111 expired', 'CREDIT_CARD', '4111.1111.1111.1111'],
    [
      'card ４０１２ ８８８８ ８８８８ １８８１ expired',
      'CREDIT_CARD',
      '４０１２ ８８８８ ８８８８ １８８１',
    ],
    ['SSN 536–22–8419 on file', 'US_SSN', '536–22–8419'],
    ['IBAN GB82-WEST-1234-5698-7654-32 please', 'IBAN', 'GB82-WEST-1234-5698-7654-32'],
    ['iban gb82 west 1234 5698 7654 32 please', 'IBAN', 'gb82 west 1234 5698 7654 32'],
    ['IBAN GB82 - WEST - 1234 - 5698 - 7654 - 32 thanks', 'IBAN', 'GB82 - WEST - 1234 - 5698 - 7654 - 32'],
    ['SSN 536 – 22 – 8419 typed on a phone', 'US_SSN', '536 – 22 – 8419'],
    ['my card is 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 lol', 'CREDIT_CARD', '4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1'],
    ['電話は（２１２）５５５－０１８７まで', 'PHONE', '（２１２）５５５－０１８７'],
    ['mail priya dot k at example dot in', 'EMAIL', 'priya dot k at example dot in'],
  ];
  for (const [text, type, value] of cases)
    it(`${type}: ${value}`, () => {
      expect(spans(text)).toContainEqual([type, value]);
      const redacted = redact(text);
      expect(longDigitRuns(redacted)).toEqual([]);
      expect(redacted).not.toMatch(/priya/);
    });
  it('leaves look-alikes alone', () => {
    const text =
      'Section 4.2.1.3 and version 1.2.3.4; released 2024-03-05; pi 3.14159265358979; room ab12 cd34; order 4111.1111.';
    expect(spans(text)).toEqual([]);
    expect(spans('Our server at 192.168.1.20 went down.')).toEqual([['IP_ADDRESS', '192.168.1.20']]);
  });
  it('does not take a lower-case IBAN for a phone number', () => {
    expect(spans('send to gb82 west 1234 5698 7654 32 now').map(([t]) => t)).toEqual(['IBAN']);
  });
});

describe('phone numbers in linear work', () => {
  const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  /** libphonenumber parses one detectPii call makes. */
  const parses = (text: string) => {
    const before = phoneParseCalls();
    detectPii(text, { types: ['PHONE'] });
    return phoneParseCalls() - before;
  };
  it('parses at most a fixed budget per text, whatever its length', () => {
    let distinct = '';
    for (let i = 0; distinct.length < 64 * 1024; i++)
      distinct += `${1000 + (i % 9000)} ${(i * 7919) % 9000} `;
    for (const text of [distinct, fill('0 7 9 1 1 1 2 3 4 5 6 ', 64 * 1024), fill('1234 5678 ', 64 * 1024)])
      expect(parses(text)).toBeLessThanOrEqual(PARSE_BUDGET);
  });
  it('parses a repeated number once per text', () => {
    expect(parses(fill('+44 20 7946 0958, ', 16 * 1024))).toBe(1);
    expect(parses(fill('+44 20 7946 0958, ', 64 * 1024))).toBe(1);
  });
  it('still finds every number of a long list, and judges by shape once the budget is spent', () => {
    let list = '';
    for (let i = 0; i < 400; i++) list += `+44 20 7946 ${String(1000 + i).padStart(4, '0')}, `;
    const found = detectPii(list, { types: ['PHONE'] });
    expect(found).toHaveLength(400);
    expect(longDigitRuns(redact(list))).toEqual([]);
  });
});
