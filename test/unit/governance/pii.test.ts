import { describe, expect, it } from 'vitest';
import { detectPii, resolveOverlaps } from '../../../shared/governance';
import type { PiiFinding, PiiType } from '../../../shared/governance/types';

// Sentences written for these tests, independently of the evaluation set's templates.
const spans = (text: string, types?: PiiType[]) =>
  detectPii(text, types ? { types } : {}).map((f) => [f.type, text.slice(f.start, f.end)]);

describe('EMAIL', () => {
  it('finds addresses and trims sentence punctuation', () => {
    expect(spans('Write to j.doe+bugs@research.example.ac.nz.')).toEqual([
      ['EMAIL', 'j.doe+bugs@research.example.ac.nz'],
    ]);
  });
  it('ignores handles, bare @ and addresses without a domain', () => {
    expect(spans('ping @maria on chat, or user@localhost, or a @ b', ['EMAIL'])).toEqual([]);
  });
});

describe('PHONE', () => {
  it('finds international and national numbers across regions', () => {
    const text =
      'US office (212) 555-0187, London on 020 7946 0321, Berlin +49 30 901820, Paris 01 42 68 53 00, Sydney +61 2 9374 4000.';
    expect(spans(text, ['PHONE']).map(([, v]) => v)).toEqual([
      '(212) 555-0187',
      '020 7946 0321',
      '+49 30 901820',
      '01 42 68 53 00',
      '+61 2 9374 4000',
    ]);
  });
  it('leaves dates, versions, order numbers and prices alone', () => {
    const text =
      'Build 4.18.2 shipped on 2025-11-03; order #5581234 cost $1,299.00 and ticket 90210345 is open.';
    expect(spans(text, ['PHONE'])).toEqual([]);
  });
  it('raises the score with context words', () => {
    const [plain] = detectPii('See 020 7946 0321 for details.', { types: ['PHONE'] });
    const [context] = detectPii('Call me on 020 7946 0321 for details.', { types: ['PHONE'] });
    expect(context.score).toBeGreaterThan(plain.score);
  });
});

describe('CREDIT_CARD', () => {
  it('finds Luhn-valid numbers in common groupings', () => {
    const text = 'Visa 4012 8888 8888 1881, Amex 3782 822463 10005, compact 5105105105105100.';
    expect(spans(text, ['CREDIT_CARD']).map(([, v]) => v)).toEqual([
      '4012 8888 8888 1881',
      '3782 822463 10005',
      '5105105105105100',
    ]);
  });
  it('ignores Luhn-invalid runs', () => {
    expect(spans('Tracking 4012 8888 8888 1882 and 1234567890123456.', ['CREDIT_CARD'])).toEqual([]);
  });
});

describe('IBAN', () => {
  it('finds printed and compact IBANs that pass mod-97', () => {
    const text = 'Pay NL91 ABNA 0417 1643 00 or GB29NWBK60161331926819 today.';
    expect(spans(text, ['IBAN']).map(([, v]) => v)).toEqual([
      'NL91 ABNA 0417 1643 00',
      'GB29NWBK60161331926819',
    ]);
  });
  it('ignores a wrong check digit', () => {
    expect(spans('Pay NL92 ABNA 0417 1643 00 today.', ['IBAN'])).toEqual([]);
  });
});

describe('IP_ADDRESS', () => {
  it('finds v4 and v6 addresses', () => {
    expect(spans('Blocked 203.0.113.77 and fe80::1ff:fe23:4567:890a yesterday.', ['IP_ADDRESS'])).toEqual([
      ['IP_ADDRESS', '203.0.113.77'],
      ['IP_ADDRESS', 'fe80::1ff:fe23:4567:890a'],
    ]);
  });
  it('ignores version strings, out-of-range quads and clock times', () => {
    expect(
      spans('Upgrade to version 10.2.0.1 or v3.1.4.1; 300.1.1.1 is bad; we met at 12:30:45.', ['IP_ADDRESS']),
    ).toEqual([]);
  });
});

describe('US_SSN', () => {
  it('finds dashed numbers and unseparated ones with context', () => {
    expect(spans('SSN 536-22-8419; social security number 536228419.', ['US_SSN']).map(([, v]) => v)).toEqual(
      ['536-22-8419', '536228419'],
    );
  });
  it('rejects never-issued areas, groups and serials, and bare nine-digit runs', () => {
    expect(
      spans('Codes 000-12-3456, 666-12-3456, 912-34-5678, 123-00-4567 and 536228419.', ['US_SSN']),
    ).toEqual([]);
  });
});

describe('PERSON', () => {
  it('finds names by lexicon, honorific, introduction and particles', () => {
    const text =
      'Yesterday Olivia Martinez and Dr. Okonkwo met; my name is Tendai Moyo. Ask Jan van den Bosch. Regards, Ruth';
    expect(spans(text, ['PERSON']).map(([, v]) => v)).toEqual([
      'Olivia Martinez',
      'Okonkwo',
      'Tendai Moyo',
      'Jan van den Bosch',
      'Ruth',
    ]);
  });
  it('does not take generic addressees for names', () => {
    expect(spans('Dear Sir, hello Team. Dear Valued Customer, thanks.', ['PERSON'])).toEqual([]);
    expect(spans('Dear Dr. Okafor, thanks.', ['PERSON'])).toEqual([['PERSON', 'Okafor']]);
  });
  it('does not mistake capitalised verbs, months, places or products for people', () => {
    const text =
      'Mark the invoice as paid. Chase the courier in June. Google Chrome crashed in Paris on Monday.';
    expect(spans(text, ['PERSON'])).toEqual([]);
  });
});

describe('STREET_ADDRESS', () => {
  it('finds street lines with units, city, state and ZIP', () => {
    const text = 'Ship to 742 Evergreen Terrace, Apt 3, Springfield, OR 97403 please.';
    expect(spans(text, ['STREET_ADDRESS'])).toEqual([
      ['STREET_ADDRESS', '742 Evergreen Terrace, Apt 3, Springfield, OR 97403'],
    ]);
  });
  it('finds German and French forms', () => {
    expect(
      spans('Büro: Lindenstraße 12, 10969 Berlin; atelier au 8 rue des Martyrs.', ['STREET_ADDRESS']).map(
        ([, v]) => v,
      ),
    ).toEqual(['Lindenstraße 12, 10969 Berlin', '8 rue des Martyrs']);
  });
  it('finds Dutch, Spanish, Italian and Portuguese forms', () => {
    const text = 'Try Keizersgracht 123, Calle Mayor 5, Via della Spiga 12 or Rua Augusta 274.';
    expect(spans(text, ['STREET_ADDRESS']).map(([, v]) => v)).toEqual([
      'Keizersgracht 123',
      'Calle Mayor 5',
      'Via della Spiga 12',
      'Rua Augusta 274',
    ]);
  });
  it('ignores counts of things', () => {
    expect(spans('We have 3 Large Offices and 12 Team Leads.', ['STREET_ADDRESS'])).toEqual([]);
  });
});

describe('resolveOverlaps', () => {
  it('keeps the higher score, then the longer span', () => {
    const f = (type: PiiType, start: number, end: number, score: number): PiiFinding => ({
      type,
      start,
      end,
      score,
    });
    const kept = resolveOverlaps([
      f('PHONE', 0, 12, 0.7),
      f('CREDIT_CARD', 0, 19, 0.95),
      f('PERSON', 30, 34, 0.6),
      f('PERSON', 30, 40, 0.6),
    ]);
    expect(kept).toEqual([f('CREDIT_CARD', 0, 19, 0.95), f('PERSON', 30, 40, 0.6)]);
  });
});

describe('whole texts', () => {
  it('finds every kind in one message and nothing in its look-alikes', () => {
    const text =
      "Hello, I'm Grace Liu (grace.liu@example.org, +1 646 555 0199). Card 4012888888881881 was billed $42.50 on 03/14/2025 for order 77812.";
    expect(spans(text).map(([t]) => t)).toEqual(['PERSON', 'EMAIL', 'PHONE', 'CREDIT_CARD']);
  });
});
