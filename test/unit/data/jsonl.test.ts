import { describe, expect, it } from 'vitest';
import { FeedbackTask } from '../../../shared/agent/task';
import { generateFeedback } from '../../../shared/data/generator';
import { JsonlError, parseJsonl, parseJsonlStrict, toJsonl } from '../../../shared/data/jsonl';
import { DatasetItem } from '../../../shared/data/schema';

describe('JSON Lines', () => {
  it('round-trips generated items exactly', () => {
    const items = generateFeedback({ count: 50 });
    const text = toJsonl(items, DatasetItem);
    expect(text.split('\n').filter(Boolean)).toHaveLength(50);
    expect(parseJsonlStrict(text, DatasetItem)).toEqual(items);
  });

  it('reports every bad line with its number and reason, and keeps the good ones', () => {
    const text = [
      '{"id":"a","text":"fine"}',
      '{"id":"b","text":"broken"', // not JSON
      '',
      '{"id":"c","text":"x","category":"spam"}', // not a category
      '{"text":"no id"}',
      '{"id":"d","text":"also fine","category":"positive"}',
    ].join('\n');
    const { records, issues } = parseJsonl(text, FeedbackTask);
    expect(records.map((r) => r.id)).toEqual(['a', 'd']);
    expect(issues.map((i) => i.line)).toEqual([2, 4, 5]);
    expect(issues[0].message).toMatch(/not JSON/);
    expect(issues[1].message).toMatch(/category/);
    expect(issues[2].message).toMatch(/id/);
  });

  it('fails a strict import naming the lines', () => {
    const error = (() => {
      try {
        parseJsonlStrict('{"id":"a","text":"ok"}\n[1,2]\n', FeedbackTask);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(JsonlError);
    expect((error as JsonlError).issues).toEqual([expect.objectContaining({ line: 2 })]);
    expect((error as Error).message).toMatch(/line 2/);
  });

  it('refuses to export an invalid record', () => {
    expect(() => toJsonl([{ id: '', text: 'x' }], FeedbackTask)).toThrow();
  });
});
