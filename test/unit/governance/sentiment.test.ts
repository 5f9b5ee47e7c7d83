import { describe, expect, it } from 'vitest';
import { loadSentimentSet, scoreLabels } from '../../../bench/_governance-sentiment';
import { analyzeSentiment, sentimentFromScore } from '../../../shared/governance/sentiment';

// Sentences here are written for these tests: neither from the evaluation set nor the development set.
const label = (text: string) => analyzeSentiment(text).label;

describe('feedback sentiment', () => {
  it('calls complaints negative without a negative word', () => {
    for (const text of [
      'The page froze and I had to restart the browser.',
      'The upload just spins.',
      'I stopped trying after a week.',
      'Clicking export does nothing.',
      'The invoice page keeps logging me out.',
      'Still waiting for the confirmation email.',
    ])
      expect(label(text), text).toBe('negative');
  });

  it('reads irony where its cues are clear', () => {
    for (const text of [
      'Oh perfect, logged out again.',
      'Great. It crashed again.',
      'Love how the editor forgets my font every single day.',
      'Thanks so much for deleting my drafts /s',
    ])
      expect(label(text), text).toBe('negative');
  });

  it('weighs what follows "but"', () => {
    expect(label('The design is lovely, but the app crashes on launch.')).toBe('negative');
    expect(label('Setting it up was slow, but now it is wonderful.')).toBe('positive');
    expect(label('Although the first week was rough, the team is delighted with it.')).toBe('positive');
  });

  it('calls questions and requests neutral unless they complain', () => {
    for (const text of [
      'Does the export support CSV?',
      'Is there a way to change my username?',
      'Please add a dark mode.',
      'It would be great to have keyboard shortcuts.',
      'Could you add an option to mute reminders? Thanks in advance!',
    ])
      expect(label(text), text).toBe('neutral');
    expect(label('Why does the app keep crashing when I upload photos?')).toBe('negative');
    expect(label('Please fix the export, it is broken.')).toBe('negative');
  });

  it('calls praise positive and negated praise negative', () => {
    expect(label('The new search is fantastic, thank you!')).toBe('positive');
    expect(label('No problems at all since the update, it just works.')).toBe('positive');
    expect(label('I am not happy with the new layout.')).toBe('negative');
    expect(label('The new checkout is not good.')).toBe('negative');
  });

  it('derives the label from a score in [-1, 1]', () => {
    for (const text of ['', '!!!', 'Great. It crashed again.', 'I love it', 'why?', '🙃'.repeat(50)]) {
      const s = analyzeSentiment(text);
      expect(Math.abs(s.score)).toBeLessThanOrEqual(1);
      expect(sentimentFromScore(s.score)).toEqual(s);
    }
  });

  it('holds its measured figures on the hand-written evaluation set', () => {
    const r = scoreLabels(loadSentimentSet('eval'), (t) => analyzeSentiment(t).label);
    // floors at the figures measured when this was written (docs/governance.md), not the goal
    expect(r.macro_f1).toBeGreaterThanOrEqual(EVAL_MACRO_F1_FLOOR);
    expect(r.complaints_positive.count).toBeLessThanOrEqual(EVAL_COMPLAINTS_POSITIVE_MAX);
  });
});

// measured 2026-12-02: macro-F1 0.847, 8 of 155 negative items labelled positive
const EVAL_MACRO_F1_FLOOR = 0.84;
const EVAL_COMPLAINTS_POSITIVE_MAX = 8;
