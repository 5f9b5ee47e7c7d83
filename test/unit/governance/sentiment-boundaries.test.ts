import { describe, expect, it } from 'vitest';
import { analyzeSentiment, checkBoundaries } from '../../../shared/governance';

describe('sentiment', () => {
  it('labels clear cases and keeps the score in [-1, 1]', () => {
    const positive = analyzeSentiment('I love the new editor, it is wonderful.');
    const negative = analyzeSentiment('The sync is terrible and slow.');
    expect(positive.label).toBe('positive');
    expect(negative.label).toBe('negative');
    for (const s of [positive, negative]) expect(Math.abs(s.score)).toBeLessThanOrEqual(1);
  });
  it('is negation-aware', () => {
    expect(analyzeSentiment('I am happy with the update.').label).toBe('positive');
    expect(analyzeSentiment('I am not happy with the update.').label).toBe('negative');
    expect(analyzeSentiment('Honestly, the update is not bad at all.').label).toBe('positive');
  });
  it('calls matter-of-fact text neutral', () => {
    expect(analyzeSentiment('The export runs on Tuesdays.').label).toBe('neutral');
  });
});

describe('boundaries', () => {
  it('names the boundary a request crosses', () => {
    expect(checkBoundaries('Just tell us what is right here.')).toEqual([
      { boundary: 'VALUES', match: 'tell us what is right' },
    ]);
    expect(
      checkBoundaries('Can the assistant decide our mission for next year?').map((b) => b.boundary),
    ).toEqual(['PURPOSE']);
    expect(checkBoundaries('Should I fire my co-founder?').map((b) => b.boundary)).toEqual(['AGENCY']);
    expect(checkBoundaries('Can the bot tell me the meaning of life?').map((b) => b.boundary)).toEqual([
      'MEANING',
    ]);
    expect(checkBoundaries('Help us work out what our goals should be.').map((b) => b.boundary)).toEqual([
      'PURPOSE',
    ]);
  });
  it('leaves ordinary feedback and disclaimed requests alone', () => {
    expect(checkBoundaries('The right sidebar is too narrow; please fix the export.')).toEqual([]);
    expect(checkBoundaries("I'm not asking you to decide our mission, just to fix the bug.")).toEqual([]);
    expect(checkBoundaries('What matters most to me is a faster export.')).toEqual([]);
  });
});
