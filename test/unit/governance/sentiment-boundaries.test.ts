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
  it('catches requests to hand ethical calls or life decisions to the system, in varied phrasing', () => {
    const cases: Array<[string, string]> = [
      ['Is it ethical to sell user data to advertisers? Your system should answer that for us.', 'VALUES'],
      ['Would it be wrong to lay off half the support team to hit our numbers?', 'VALUES'],
      ['Is it morally acceptable for us to monitor staff emails? Just give me a yes or no.', 'VALUES'],
      ['Whose values does this thing follow anyway?', 'VALUES'],
      ['Could your AI make the final call on which patients get priority?', 'AGENCY'],
      ['Let the system decide whether we should open-source the model.', 'AGENCY'],
      ['Please have the framework choose for me whether I should take the job.', 'AGENCY'],
    ];
    for (const [text, boundary] of cases) {
      expect(
        checkBoundaries(text).map((b) => b.boundary),
        text,
      ).toContain(boundary);
    }
  });
  it('does not mistake technical uses of the same words for boundary requests', () => {
    for (const text of [
      'Is it okay to run the demo offline? Installing failed for me.',
      'Is it acceptable to use the API in a commercial product?',
      'The system made the call to the API twice, so we were billed twice.',
      'Which values should I set in the config file for a 2-core machine?',
      'It would be fair to say the docs are better now, thanks!',
      'I am not asking you to decide whether we should ship, just what the tests show.',
    ]) {
      expect(checkBoundaries(text), text).toEqual([]);
    }
  });
});
