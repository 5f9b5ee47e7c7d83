import { explainSentiment } from './sentiment/analyze';
import { predictProbabilities, type SentimentModel, wordFeatures } from './sentiment/model';
import modelJson from './sentiment/model.json';
import type { Sentiment } from './types';

// Feedback sentiment (method and figures: docs/governance.md, "Sentiment"). Two parts:
// - rules over AFINN-165 and a feedback lexicon (sentiment/analyze.ts): failure descriptions count as
//   complaints, negation, "but" clauses, questions and requests, irony, fixes;
// - a word model (sentiment/model.ts, logistic regression on the development set) that may only turn
//   things negative: moderate praise it reads as a complaint, and text the rules find no evidence in
//   that it leans negative on. The thresholds below were chosen by 5-fold cross-validation on the
//   development set (word model retrained per fold); the evaluation set was never used.
// The score is in [-1, 1]; strictly within ±NEUTRAL_BAND it is neutral.

export const NEUTRAL_BAND = 0.15;
/** Praise (rules' score ≥ NEUTRAL_BAND) is negative when P(negative) > this. */
export const MODEL_VETO = 0.6;
/** Text with no rule evidence is negative when P(negative) > this. */
export const MODEL_NO_EVIDENCE = 0.7;

const model = modelJson as unknown as SentimentModel;

export function sentimentFromScore(score: number): Sentiment {
  const clamped = Math.max(-1, Math.min(1, Number.isFinite(score) ? score : 0));
  const rounded = Math.round(clamped * 1000) / 1000;
  const label = rounded >= NEUTRAL_BAND ? 'positive' : rounded <= -NEUTRAL_BAND ? 'negative' : 'neutral';
  return { label, score: rounded };
}

/** Sentiment score in [-1, 1]: the rules' score unless the word model vetoes it. */
export function feedbackSentimentScore(text: string): number {
  return sentimentScoreWith(model, text);
}

/**
 * The score with a given word model (the bench cross-validates with a model trained per fold). A veto
 * scores -P(negative).
 */
export function sentimentScoreWith(model: SentimentModel, text: string): number {
  const detail = explainSentiment(text);
  const evidence = detail.evidence.positive + detail.evidence.negative > 0;
  if (detail.score < NEUTRAL_BAND && evidence) return detail.score;
  const negative = predictProbabilities(model, wordFeatures(detail))[0];
  // praise by the absence of a failure or fault ("no problems at all", "not bad") and praise after a
  // contrast ("crashed at first, but great since") are the rules' to read: the word model has no
  // grasp of negation beyond a window, nor of clause order
  const ruled = detail.flags.includes('absence') || detail.evidence.contrast;
  if (detail.score >= NEUTRAL_BAND && !ruled && negative > MODEL_VETO) return -negative;
  if (!evidence && negative > MODEL_NO_EVIDENCE) return -negative;
  return detail.score;
}

export function analyzeSentiment(text: string): Sentiment {
  return sentimentFromScore(feedbackSentimentScore(text));
}
