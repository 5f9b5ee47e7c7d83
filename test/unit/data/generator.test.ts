import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEEDBACK_CATEGORIES } from '../../../shared/agent/task';
import { FAMILIES } from '../../../shared/data/families';
import { generateFeedback } from '../../../shared/data/generator';
import { _internals } from '../../../shared/data/pii';
import { DatasetItem } from '../../../shared/data/schema';
import { assignSplits } from '../../../shared/data/splits';

const items = generateFeedback();

describe('generateFeedback', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(generateFeedback({ count: 300 })).toEqual(items.slice(0, 300));
    const other = generateFeedback({ seed: 8, count: 300 });
    expect(other.map((i) => i.text)).not.toEqual(items.slice(0, 300).map((i) => i.text));
  });

  it('makes at least 2,000 valid, unique items by default', () => {
    expect(items.length).toBeGreaterThanOrEqual(2000);
    for (const item of items) DatasetItem.parse(item);
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
    expect(new Set(items.map((i) => i.text)).size).toBe(items.length);
  });

  it('covers the six categories and three sentiments, with values questions', () => {
    const categories = new Set(items.map((i) => i.category));
    expect([...categories].sort()).toEqual([...FEEDBACK_CATEGORIES].sort());
    for (const category of FEEDBACK_CATEGORIES) {
      expect(items.filter((i) => i.category === category).length).toBeGreaterThan(items.length / 12);
    }
    const sentiments = new Set(items.map((i) => i.metadata.sentiment));
    expect([...sentiments].sort()).toEqual(['negative', 'neutral', 'positive']);
    expect(items.filter((i) => i.metadata.valuesQuestion).length).toBeGreaterThan(50);
  });

  it('puts personal data into about 30 % of items, of several kinds, and keeps it in the text', () => {
    const withPii = items.filter((i) => i.metadata.pii.length > 0);
    expect(withPii.length / items.length).toBeGreaterThan(0.25);
    expect(withPii.length / items.length).toBeLessThan(0.35);
    const kinds = new Set(withPii.flatMap((i) => i.metadata.pii));
    for (const kind of ['EMAIL', 'PHONE', 'PERSON', 'STREET_ADDRESS', 'CREDIT_CARD'])
      expect(kinds).toContain(kind);
    expect(generateFeedback({ count: 200, piiShare: 0 }).every((i) => i.metadata.pii.length === 0)).toBe(
      true,
    );
  });

  it('varies lengths from a few words to long messages', () => {
    const words = items.map((i) => i.text.split(/\s+/).length);
    expect(Math.min(...words)).toBeLessThanOrEqual(5);
    expect(Math.max(...words)).toBeGreaterThanOrEqual(60);
    expect(new Set(words).size).toBeGreaterThan(40);
  });

  it('writes valid card numbers (Luhn) and IBANs (mod 97)', () => {
    expect(_internals.luhnCheckDigit('7992739871')).toBe(3);
    const cards = items.flatMap((i) => i.text.match(/\b4\d{3} \d{4} \d{4} \d{4}\b/g) ?? []);
    expect(cards.length).toBeGreaterThan(0);
    for (const card of cards) {
      const digits = card.replace(/ /g, '');
      expect(_internals.luhnCheckDigit(digits.slice(0, -1))).toBe(Number(digits.at(-1)));
    }
    const ibans = items.flatMap((i) => i.text.match(/\bGB\d{2}(?: [A-Z0-9]{1,4})+/g) ?? []);
    expect(ibans.length).toBeGreaterThan(0);
    for (const iban of ibans) {
      const compact = iban.replace(/ /g, '');
      const rearranged = `${compact.slice(4)}${compact.slice(0, 4)}`.replace(/[A-Z]/g, (c) =>
        String(c.charCodeAt(0) - 55),
      );
      expect(_internals.mod97(rearranged)).toBe(1);
    }
  });

  it('rejects bad options with a clear message', () => {
    expect(() => generateFeedback({ count: 0 })).toThrow(/count/);
    expect(() => generateFeedback({ piiShare: 2 })).toThrow(/piiShare/);
  });
});

describe('splits by template family', () => {
  it('never puts one family in two splits', () => {
    const splitOf = new Map<string, Set<string>>();
    for (const item of items) {
      const set = splitOf.get(item.metadata.family) ?? new Set();
      set.add(item.metadata.split);
      splitOf.set(item.metadata.family, set);
    }
    for (const [, splits] of splitOf) expect(splits.size).toBe(1);
    expect(splitOf.size).toBe(FAMILIES.length);
  });

  it('gives every split every category, and holds out roughly 15 % + 15 %', () => {
    for (const split of ['train', 'val', 'test'] as const) {
      const inSplit = items.filter((i) => i.metadata.split === split);
      expect(new Set(inSplit.map((i) => i.category)).size).toBe(FEEDBACK_CATEGORIES.length);
    }
    const train = items.filter((i) => i.metadata.split === 'train').length / items.length;
    expect(train).toBeGreaterThan(0.6);
    expect(train).toBeLessThan(0.8);
  });

  it('is stable for a seed and rejects impossible shares', () => {
    expect(assignSplits(FAMILIES, { seed: 1, valShare: 0.15, testShare: 0.15 })).toEqual(
      assignSplits(FAMILIES, { seed: 1, valShare: 0.15, testShare: 0.15 }),
    );
    expect(() => assignSplits(FAMILIES, { seed: 1, valShare: 0.6, testShare: 0.5 })).toThrow();
  });
});

describe('shared/data stays isomorphic', () => {
  it('imports nothing from node: (the generator runs in the browser too)', () => {
    const dir = join(__dirname, '../../../shared/data');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/from ['"]node:/);
    }
  });
});
