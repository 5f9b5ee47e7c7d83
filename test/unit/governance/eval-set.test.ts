import { describe, expect, it } from 'vitest';
import { generateEvalSet, sizedItems } from '../../../shared/governance/eval/generate';

describe('evaluation set generator', () => {
  const set = generateEvalSet({ seed: 11, perTemplate: 3 });

  it('is deterministic for a seed', () => {
    expect(generateEvalSet({ seed: 11, perTemplate: 3 })).toEqual(set);
    expect(generateEvalSet({ seed: 12, perTemplate: 3 })).not.toEqual(set);
  });
  it('splits by template: no template has items in both halves', () => {
    const halves = new Map<string, Set<string>>();
    for (const item of set)
      halves.set(item.template, (halves.get(item.template) ?? new Set()).add(item.split));
    expect([...halves.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set(set.map((i) => i.split))).toEqual(new Set(['dev', 'test']));
  });
  it('gives every PII type and every rule support in both halves', () => {
    for (const seed of [11, 2026]) {
      const items = generateEvalSet({ seed, perTemplate: 1 });
      const kinds = (half: 'dev' | 'test') =>
        new Set(
          items
            .filter((i) => i.split === half)
            .flatMap((i) => [
              ...i.pii.map((s) => s.type),
              ...i.rules.map((s) => `${s.rule}${s.negated ? '-negated' : ''}`),
            ]),
        );
      expect([...kinds('test')].sort()).toEqual([...kinds('dev')].sort());
      expect(kinds('test')).toContain('IP_ADDRESS');
    }
  });
  it('labels point at the inserted values', () => {
    for (const item of set) {
      for (const span of item.pii) {
        const value = item.text.slice(span.start, span.end);
        expect(value.trim()).toBe(value);
        expect(value.length).toBeGreaterThan(1);
      }
      for (const span of item.rules) expect(item.text.slice(span.start, span.end)).not.toMatch(/[{}]/);
      expect(item.text).not.toMatch(/\{[A-Z_]+\}/);
    }
  });
  it('makes fixed-size items for latency figures', () => {
    const items = sizedItems(5, 1024);
    expect(items.map((t) => t.length)).toEqual([1024, 1024, 1024, 1024, 1024]);
  });
});
