import { sentimentScore } from './nlp';
import type { Sentiment } from './types';

// wink-nlp's sentiment is lexicon-based with negation handling ("not happy" is negative, "not bad"
// positive) and emoji/emoticon scores, normalised to [-1, 1]. Scores strictly within ±NEUTRAL_BAND are
// neutral: the lexicon gives small non-zero scores to many matter-of-fact sentences.

export const NEUTRAL_BAND = 0.05;

export function sentimentFromScore(score: number): Sentiment {
  const clamped = Math.max(-1, Math.min(1, Number.isFinite(score) ? score : 0));
  const rounded = Math.round(clamped * 1000) / 1000;
  const label = rounded >= NEUTRAL_BAND ? 'positive' : rounded <= -NEUTRAL_BAND ? 'negative' : 'neutral';
  return { label, score: rounded };
}

export function analyzeSentiment(text: string): Sentiment {
  return sentimentFromScore(sentimentScore(text));
}
