import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyRedaction, detectPii, redact } from '../../../shared/governance';
import { pseudonym } from '../../../shared/governance/redact';
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

// RFC 4231 test cases for HMAC-SHA-256 (case 5, a truncated output, compared on its 128 bits).
const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const ascii = (s: string) => new TextEncoder().encode(s);
const RFC_4231: { key: Uint8Array; data: Uint8Array; mac: string }[] = [
  {
    key: new Uint8Array(20).fill(0x0b),
    data: ascii('Hi There'),
    mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  },
  {
    key: ascii('Jefe'),
    data: ascii('what do ya want for nothing?'),
    mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
  {
    key: new Uint8Array(20).fill(0xaa),
    data: new Uint8Array(50).fill(0xdd),
    mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
  },
  {
    key: hex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
    data: new Uint8Array(50).fill(0xcd),
    mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  },
  {
    key: new Uint8Array(20).fill(0x0c),
    data: ascii('Test With Truncation'),
    mac: 'a3b6167473100ee06e0c796c2955552b',
  },
  {
    key: new Uint8Array(131).fill(0xaa),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    key: new Uint8Array(131).fill(0xaa),
    data: ascii(
      'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

describe('keyed hash pseudonyms (HMAC-SHA-256, @noble/hashes)', () => {
  it('matches the RFC 4231 known answers', () => {
    for (const { key, data, mac } of RFC_4231)
      expect(bytesToHex(hmac(sha256, key, data)).slice(0, mac.length)).toBe(mac);
  });
  it('is the first 12 hex digits of HMAC(salt, "TYPE\\0value")', () => {
    const expected = bytesToHex(hmac(sha256, ascii('s1'), ascii('EMAIL\u0000ana@example.com'))).slice(0, 12);
    expect(pseudonym(ascii('s1'), 'EMAIL', 'ana@example.com')).toBe(expected);
    expect(
      applyRedaction('Mail ana@example.com.', detectPii('Mail ana@example.com.'), {
        operator: 'hash',
        salt: 's1',
      }),
    ).toBe(`Mail <EMAIL_${expected}>.`);
  });
  it('is deterministic for a key and differs per type and per key', () => {
    const key = ascii('edgelight');
    expect(pseudonym(key, 'PHONE', '020 7946 0321')).toBe(pseudonym(key, 'PHONE', '020 7946 0321'));
    expect(pseudonym(key, 'PHONE', '020 7946 0321')).not.toBe(pseudonym(key, 'US_SSN', '020 7946 0321'));
    expect(pseudonym(key, 'PHONE', '020 7946 0321')).not.toBe(
      pseudonym(ascii('other'), 'PHONE', '020 7946 0321'),
    );
  });
});
